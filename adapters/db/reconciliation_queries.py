"""The reconciliation's read side on tortoise: the day's orders, their tenders summed in SQL
(per order, tender and state), refunds, till sessions, and lookups for the provider's intents.

The window is [start, end) in aware datetimes (the caller turns the brand's calendar day into
UTC); an order is at a location when one of its fulfilments is served there or it is
attributed there, as in the staff order lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Sum

from adapters.db import models as m
from adapters.db.payment_repositories import _payment as payment_of  # the row's mapping
from domain.orders.states import OrderStatus, PaymentStatus
from domain.payments.model import Payment, PaymentState, RefundState, Tender, TillSession
from domain.payments.reconciliation import OrderRow, RefundRow, TenderRow

_ORDER_COLUMNS = (
    "id",
    "number",
    "channel_handle",
    "location_ids",
    "attributed_location_id",
    "status",
    "payment_status",
    "payment_tender",
    "total",
    "currency",
)


def _order_row(row: dict[str, Any]) -> OrderRow:
    served = row["location_ids"] or []
    return OrderRow(
        id=row["id"],
        number=row["number"],
        channel=row["channel_handle"],
        location_id=int(served[0]) if served else row["attributed_location_id"],
        status=OrderStatus(row["status"]),
        payment_status=PaymentStatus(row["payment_status"]),
        payment_tender=row["payment_tender"],
        total=int(row["total"]),
        currency=row["currency"],
    )


def _at(location_ids: Sequence[int]) -> Q:
    """Orders served or attributed at one of the locations."""
    served = m.Fulfilment.filter(location_id__in=list(location_ids)).values("order_id")
    return Q(id__in=Subquery(served)) | Q(attributed_location_id__in=list(location_ids))


class TortoiseReconciliationQueries:
    """``ReconciliationQueries`` on the database (outside any unit of work: reads only)."""

    @staticmethod
    def _orders(
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> Any:
        query = m.Order.filter(created_at__gte=start, created_at__lt=end)
        if channel is not None:
            query = query.filter(channel_handle=channel)
        if location_ids is not None:
            query = query.filter(_at(location_ids))
        return query

    async def orders_placed(
        self,
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> list[OrderRow]:
        query = self._orders(start=start, end=end, channel=channel, location_ids=location_ids)
        return [_order_row(r) for r in await query.order_by("id").values(*_ORDER_COLUMNS)]

    async def tender_totals(
        self,
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> list[TenderRow]:
        orders = self._orders(start=start, end=end, channel=channel, location_ids=location_ids)
        rows = (
            await m.Payment.filter(order_id__in=Subquery(orders.values("id")))
            .annotate(
                n=Count("id"),
                amount_sum=Sum("amount"),
                captured_sum=Sum("captured"),
                refunded_sum=Sum("refunded"),
            )
            .group_by("order_id", "tender", "state")
            .order_by("order_id", "tender", "state")
            .values(
                "order_id", "tender", "state", "n", "amount_sum", "captured_sum", "refunded_sum"
            )
        )
        return [
            TenderRow(
                order_id=r["order_id"],
                tender=Tender(r["tender"]),
                state=PaymentState(r["state"]),
                count=int(r["n"]),
                amount=int(r["amount_sum"] or 0),
                captured=int(r["captured_sum"] or 0),
                refunded=int(r["refunded_sum"] or 0),
            )
            for r in rows
        ]

    async def refunds_recorded(
        self,
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> list[RefundRow]:
        query = m.PaymentRefund.filter(created_at__gte=start, created_at__lt=end)
        if channel is not None:
            of_channel = m.Order.filter(channel_handle=channel).values("id")
            query = query.filter(order_id__in=Subquery(of_channel))
        refunds = await query.order_by("id")
        orders = await self.orders_by_ids(sorted({r.order_id for r in refunds}))
        rows = []
        for r in refunds:
            order = orders.get(r.order_id)
            if order is None:
                continue
            where = r.location_id if r.location_id is not None else order.location_id
            if location_ids is not None and where not in location_ids:
                continue
            rows.append(
                RefundRow(
                    id=r.id,
                    order_id=r.order_id,
                    payment_id=r.payment_id,
                    tender=Tender(r.tender),
                    amount=r.amount,
                    state=RefundState(r.state),
                    channel=order.channel,
                    location_id=where,
                    provider_ref=r.provider_ref,
                    last_error=r.last_error,
                )
            )
        return rows

    async def till_sessions(
        self, *, start: datetime, end: datetime, location_ids: Sequence[int] | None
    ) -> list[TillSession]:
        query = m.TillSessionRow.filter(
            Q(opened_at__gte=start, opened_at__lt=end) | Q(closed_at__gte=start, closed_at__lt=end)
        )
        if location_ids is not None:
            query = query.filter(location_id__in=list(location_ids))
        return [
            TillSession(
                id=row.id,
                location_id=row.location_id,
                staff_subject=row.staff_subject,
                opening_float=row.opening_float,
                currency=row.currency,
                opened_at=row.opened_at,
                closed_at=row.closed_at,
                counted=row.counted,
                expected=row.expected,
            )
            for row in await query.order_by("id")
        ]

    async def orders_by_ids(self, order_ids: Sequence[int]) -> dict[int, OrderRow]:
        if not order_ids:
            return {}
        rows = await m.Order.filter(id__in=list(order_ids)).values(*_ORDER_COLUMNS)
        return {r["id"]: _order_row(r) for r in rows}

    async def payments_by_refs(self, refs: Sequence[str]) -> dict[str, Payment]:
        if not refs:
            return {}
        rows = await m.Payment.filter(provider_ref__in=list(refs))
        return {row.provider_ref: payment_of(row) for row in rows if row.provider_ref}
