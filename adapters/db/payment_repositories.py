"""The payment port on tortoise: payments per tender, refunds, till sessions, provider events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Subquery
from tortoise.functions import Sum

from adapters.db import models as m
from domain.orders.states import OrderStatus, PaymentStatus
from domain.payments.model import (
    ONLINE_TENDERS,
    CaptureMethod,
    NextAction,
    Payment,
    PaymentState,
    QrCodeAction,
    RedirectAction,
    RefundRecord,
    RefundState,
    SdkAction,
    Tender,
    TillSession,
)

WAITING = (PaymentState.PENDING, PaymentState.REQUIRES_ACTION, PaymentState.FAILED)


def action_json(action: NextAction | None) -> dict[str, Any] | None:
    """A next action as stored: its fields and its kind."""
    if action is None:
        return None
    return {"type": type(action).__name__, **asdict(action)}


def action_of(data: dict[str, Any] | None) -> NextAction | None:
    """A stored next action back in its type."""
    if not data:
        return None
    kinds: dict[str, type[RedirectAction] | type[QrCodeAction] | type[SdkAction]] = {
        "RedirectAction": RedirectAction,
        "QrCodeAction": QrCodeAction,
        "SdkAction": SdkAction,
    }
    fields = {k: v for k, v in data.items() if k != "type"}
    return kinds[data["type"]](**fields)


def _payment(row: m.Payment) -> Payment:
    return Payment(
        id=row.id,
        order_id=row.order_id,
        tender=Tender(row.tender),
        amount=row.amount,
        currency=row.currency,
        state=PaymentState(row.state),
        capture_method=CaptureMethod(row.capture_method) if row.capture_method else None,
        provider=row.provider,
        provider_ref=row.provider_ref,
        client_secret=row.client_secret,
        next_action=action_of(row.next_action),
        authorised=row.authorised,
        captured=row.captured,
        refunded=row.refunded,
        decline_code=row.decline_code,
        attempt=row.attempt,
        location_id=row.location_id,
        till_session_id=row.till_session_id,
        cash_given=row.cash_given,
    )


def _payment_columns(p: Payment) -> dict[str, Any]:
    return {
        "order_id": p.order_id,
        "tender": p.tender.value,
        "amount": p.amount,
        "currency": p.currency,
        "state": p.state.value,
        "capture_method": p.capture_method.value if p.capture_method else None,
        "provider": p.provider,
        "provider_ref": p.provider_ref,
        "client_secret": p.client_secret,
        "next_action": action_json(p.next_action),
        "authorised": p.authorised,
        "captured": p.captured,
        "refunded": p.refunded,
        "decline_code": p.decline_code,
        "attempt": p.attempt,
        "location_id": p.location_id,
        "till_session_id": p.till_session_id,
        "cash_given": p.cash_given,
    }


def _refund(row: m.PaymentRefund) -> RefundRecord:
    return RefundRecord(
        id=row.id,
        order_id=row.order_id,
        payment_id=row.payment_id,
        tender=Tender(row.tender),
        amount=row.amount,
        currency=row.currency,
        state=RefundState(row.state),
        reason=row.reason,
        return_id=row.return_id,
        provider_ref=row.provider_ref,
        attempts=row.attempts,
        last_error=row.last_error,
        location_id=row.location_id,
        till_session_id=row.till_session_id,
        updated_at=row.updated_at,
    )


def _refund_columns(r: RefundRecord) -> dict[str, Any]:
    return {
        "order_id": r.order_id,
        "payment_id": r.payment_id,
        "tender": r.tender.value,
        "amount": r.amount,
        "currency": r.currency,
        "state": r.state.value,
        "reason": r.reason[:500],
        "return_id": r.return_id,
        "provider_ref": r.provider_ref,
        "attempts": r.attempts,
        "last_error": (r.last_error or "")[:500] or None,
        "location_id": r.location_id,
        "till_session_id": r.till_session_id,
    }


def _session(row: m.TillSessionRow) -> TillSession:
    return TillSession(
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


class TortoisePaymentRepository:
    """Payments, refunds, till sessions and applied provider events in one transaction."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def add(self, payment: Payment) -> Payment:
        row = await m.Payment.create(using_db=self.conn, **_payment_columns(payment))
        return _payment(row)

    async def get(self, payment_id: int, *, for_update: bool = False) -> Payment | None:
        query = m.Payment.filter(id=payment_id).using_db(self.conn)
        row = await (query.select_for_update() if for_update else query).first()
        return _payment(row) if row else None

    async def by_provider_ref(self, ref: str, *, for_update: bool = False) -> Payment | None:
        query = m.Payment.filter(provider_ref=ref).using_db(self.conn)
        row = await (query.select_for_update() if for_update else query).first()
        return _payment(row) if row else None

    async def for_order(self, order_id: int, *, for_update: bool = False) -> list[Payment]:
        query = m.Payment.filter(order_id=order_id).using_db(self.conn).order_by("id")
        rows = await (query.select_for_update() if for_update else query)
        return [_payment(r) for r in rows]

    async def for_orders(self, order_ids: Sequence[int]) -> dict[int, list[Payment]]:
        found: dict[int, list[Payment]] = {i: [] for i in order_ids}
        if order_ids:
            rows = await m.Payment.filter(order_id__in=list(order_ids)).using_db(self.conn)
            for row in sorted(rows, key=lambda r: r.id):
                found[row.order_id].append(_payment(row))
        return found

    async def save(self, payment: Payment) -> None:
        await (
            m.Payment.filter(id=payment.id)
            .using_db(self.conn)
            .update(**_payment_columns(payment), updated_at=datetime.now().astimezone())
        )

    async def unattached(self, *, created_before: datetime, limit: int) -> list[Payment]:
        rows = (
            await m.Payment.filter(
                tender__in=[t.value for t in ONLINE_TENDERS],
                state=PaymentState.PENDING.value,
                provider_ref=None,
                created_at__lte=created_before,
            )
            .using_db(self.conn)
            .order_by("id")
            .limit(limit)
        )
        return [_payment(r) for r in rows]

    async def unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        rows = (
            await m.Payment.filter(
                tender__in=[t.value for t in ONLINE_TENDERS],
                state__in=[s.value for s in WAITING],
                provider_ref__not_isnull=True,
                updated_at__lte=updated_before,
            )
            .using_db(self.conn)
            .order_by("updated_at", "id")
            .limit(limit)
        )
        return [_payment(r) for r in rows]

    async def add_refund(self, refund: RefundRecord) -> RefundRecord:
        row = await m.PaymentRefund.create(using_db=self.conn, **_refund_columns(refund))
        return _refund(row)

    async def get_refund(self, refund_id: int, *, for_update: bool = False) -> RefundRecord | None:
        query = m.PaymentRefund.filter(id=refund_id).using_db(self.conn)
        row = await (query.select_for_update() if for_update else query).first()
        return _refund(row) if row else None

    async def refunds_for_order(self, order_id: int) -> list[RefundRecord]:
        rows = await m.PaymentRefund.filter(order_id=order_id).using_db(self.conn).order_by("id")
        return [_refund(r) for r in rows]

    async def refund_by_provider_ref(self, ref: str) -> RefundRecord | None:
        row = await m.PaymentRefund.filter(provider_ref=ref).using_db(self.conn).first()
        return _refund(row) if row else None

    async def refunds_due(self, *, limit: int) -> list[RefundRecord]:
        rows = (
            await m.PaymentRefund.filter(
                state=RefundState.PENDING.value,
                tender__in=[t.value for t in ONLINE_TENDERS],
            )
            .using_db(self.conn)
            .order_by("id")
            .limit(limit)
        )
        return [_refund(r) for r in rows]

    async def refunds_for_orders(self, order_ids: Sequence[int]) -> dict[int, list[RefundRecord]]:
        found: dict[int, list[RefundRecord]] = {i: [] for i in order_ids}
        if order_ids:
            rows = await m.PaymentRefund.filter(order_id__in=list(order_ids)).using_db(self.conn)
            for row in sorted(rows, key=lambda r: r.id):
                found[row.order_id].append(_refund(row))
        return found

    async def releases_due(self, *, limit: int) -> list[Payment]:
        cancelled = m.Order.filter(
            status=OrderStatus.CANCELLED.value,
            payment_status__in=[PaymentStatus.PENDING.value, PaymentStatus.AUTHORISED.value],
        ).values("id")
        rows = (
            await m.Payment.filter(
                tender__in=[t.value for t in ONLINE_TENDERS],
                order_id__in=Subquery(cancelled),
            )
            .using_db(self.conn)
            .order_by("id")
            .limit(limit)
        )
        return [_payment(r) for r in rows]

    async def save_refund(self, refund: RefundRecord) -> None:
        await (
            m.PaymentRefund.filter(id=refund.id)
            .using_db(self.conn)
            .update(**_refund_columns(refund), updated_at=datetime.now().astimezone())
        )

    async def first_seen(self, provider: str, event_id: str, event_type: str) -> bool:
        try:
            async with self.conn._in_transaction() as savepoint:  # a refusal keeps the outer tx
                await m.ProviderEvent.create(
                    using_db=savepoint, provider=provider, event_id=event_id, event_type=event_type
                )
        except IntegrityError:
            return False
        return True

    async def count_refusal(self, provider: str, reason: str, *, day: str) -> None:
        updated = (
            await m.WebhookRefusal.filter(provider=provider, day=day, reason=reason)
            .using_db(self.conn)
            .update(count=F("count") + 1)
        )
        if not updated:
            try:
                async with self.conn._in_transaction() as savepoint:
                    await m.WebhookRefusal.create(
                        using_db=savepoint, provider=provider, day=day, reason=reason, count=1
                    )
            except IntegrityError:  # created meanwhile by another request
                await (
                    m.WebhookRefusal.filter(provider=provider, day=day, reason=reason)
                    .using_db(self.conn)
                    .update(count=F("count") + 1)
                )

    async def refusals(self, provider: str, *, day: str) -> dict[str, int]:
        rows = await m.WebhookRefusal.filter(provider=provider, day=day).using_db(self.conn)
        return {r.reason: r.count for r in rows}

    async def open_session(self, session: TillSession) -> TillSession:
        row = await m.TillSessionRow.create(
            using_db=self.conn,
            location_id=session.location_id,
            staff_subject=session.staff_subject,
            opening_float=session.opening_float,
            currency=session.currency,
            opened_at=session.opened_at,
        )
        return _session(row)

    async def session(self, session_id: int, *, for_update: bool = False) -> TillSession | None:
        query = m.TillSessionRow.filter(id=session_id).using_db(self.conn)
        row = await (query.select_for_update() if for_update else query).first()
        return _session(row) if row else None

    async def open_session_of(self, staff_subject: str, location_id: int) -> TillSession | None:
        row = (
            await m.TillSessionRow.filter(
                staff_subject=staff_subject, location_id=location_id, closed_at=None
            )
            .using_db(self.conn)
            .order_by("-id")
            .first()
        )
        return _session(row) if row else None

    async def save_session(self, session: TillSession) -> None:
        await (
            m.TillSessionRow.filter(id=session.id)
            .using_db(self.conn)
            .update(closed_at=session.closed_at, counted=session.counted, expected=session.expected)
        )

    async def sessions(
        self,
        *,
        location_id: int,
        staff_subject: str | None = None,
        before_id: int | None = None,
        limit: int,
    ) -> list[TillSession]:
        query = m.TillSessionRow.filter(location_id=location_id).using_db(self.conn)
        if staff_subject is not None:
            query = query.filter(staff_subject=staff_subject)
        if before_id is not None:
            query = query.filter(id__lt=before_id)
        return [_session(row) for row in await query.order_by("-id").limit(limit)]

    async def cash_in_session(self, session_id: int) -> tuple[int, int]:
        taken = (
            await m.Payment.filter(
                till_session_id=session_id,
                tender=Tender.CASH.value,
                state=PaymentState.CAPTURED.value,
            )
            .using_db(self.conn)
            .annotate(total=Sum("captured"))
            .values_list("total", flat=True)
        )
        paid_out = (
            await m.PaymentRefund.filter(
                till_session_id=session_id,
                tender=Tender.CASH.value,
                state=RefundState.SUCCEEDED.value,
            )
            .using_db(self.conn)
            .annotate(total=Sum("amount"))
            .values_list("total", flat=True)
        )
        return int((taken or [0])[0] or 0), int((paid_out or [0])[0] or 0)
