"""The reconciliation's read side over a :class:`MemoryState`, for use-case tests.

Refunds carry no creation time in memory: one counts on the day its order was placed (the
tortoise side dates it by its own row).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from adapters.memory.state import MemoryState
from domain.orders.model import Order
from domain.payments.model import Payment, TillSession
from domain.payments.reconciliation import (
    OrderRow,
    ReconciliationQueries,
    RefundRow,
    TenderRow,
)


def order_row(order: Order) -> OrderRow:
    """What the reconciliation reads of an order."""
    served = order.location_ids[0] if order.location_ids else order.attributed_location_id
    return OrderRow(
        id=order.id,
        number=order.number,
        channel=order.channel_handle,
        location_id=served,
        status=order.status,
        payment_status=order.payment_status,
        payment_tender=order.payment_tender,
        total=order.total,
        currency=order.currency,
    )


class InMemoryReconciliationQueries:
    """``ReconciliationQueries`` over the fakes' tables."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def _orders(
        self,
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> list[Order]:
        return [
            o
            for _, o in sorted(self.state.orders.items())
            if start <= o.created_at < end
            and (channel is None or o.channel_handle == channel)
            and (location_ids is None or _at(o, location_ids))
        ]

    async def orders_placed(
        self,
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> list[OrderRow]:
        found = self._orders(start=start, end=end, channel=channel, location_ids=location_ids)
        return [order_row(o) for o in found]

    async def tender_totals(
        self,
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> list[TenderRow]:
        orders = self._orders(start=start, end=end, channel=channel, location_ids=location_ids)
        ids = {o.id for o in orders}
        sums: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for p in self.state.payments.values():
            if p.order_id in ids:
                s = sums[(p.order_id, p.tender.value, p.state.value)]
                s[0] += 1
                s[1] += p.amount
                s[2] += p.captured
                s[3] += p.refunded
        payments = {
            (p.order_id, p.tender.value, p.state.value): p for p in self.state.payments.values()
        }
        return [
            TenderRow(
                order_id=k[0],
                tender=payments[k].tender,
                state=payments[k].state,
                count=s[0],
                amount=s[1],
                captured=s[2],
                refunded=s[3],
            )
            for k, s in sorted(sums.items())
        ]

    async def refunds_recorded(
        self,
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> list[RefundRow]:
        orders = {
            o.id: o for o in self._orders(start=start, end=end, channel=channel, location_ids=None)
        }
        rows = []
        for _, r in sorted(self.state.refunds.items()):
            order = orders.get(r.order_id)
            if order is None:
                continue
            where = r.location_id if r.location_id is not None else order_row(order).location_id
            if location_ids is not None and where not in location_ids:
                continue
            rows.append(
                RefundRow(
                    id=r.id,
                    order_id=r.order_id,
                    payment_id=r.payment_id,
                    tender=r.tender,
                    amount=r.amount,
                    state=r.state,
                    channel=order.channel_handle,
                    location_id=where,
                    provider_ref=r.provider_ref,
                    last_error=r.last_error,
                )
            )
        return rows

    async def till_sessions(
        self, *, start: datetime, end: datetime, location_ids: Sequence[int] | None
    ) -> list[TillSession]:
        return [
            s
            for _, s in sorted(self.state.till_sessions.items())
            if (location_ids is None or s.location_id in location_ids)
            and (
                start <= s.opened_at < end
                or (s.closed_at is not None and start <= s.closed_at < end)
            )
        ]

    async def orders_by_ids(self, order_ids: Sequence[int]) -> dict[int, OrderRow]:
        return {i: order_row(self.state.orders[i]) for i in order_ids if i in self.state.orders}

    async def payments_by_refs(self, refs: Sequence[str]) -> dict[str, Payment]:
        wanted = set(refs)
        return {
            p.provider_ref: p
            for p in self.state.payments.values()
            if p.provider_ref is not None and p.provider_ref in wanted
        }


def _at(order: Order, location_ids: Sequence[int]) -> bool:
    """Served or attributed at one of the locations."""
    return bool(set(order.location_ids) & set(location_ids)) or (
        order.attributed_location_id in location_ids
    )


def reconciliation_queries(state: MemoryState) -> ReconciliationQueries:
    """The in-memory read side, typed as the port (mypy checks it fits)."""
    return InMemoryReconciliationQueries(state)
