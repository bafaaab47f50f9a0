"""The payment port in memory: payments per tender, refunds, till sessions, provider events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from adapters.memory.state import MemoryState
from domain.orders.states import OrderStatus, PaymentStatus
from domain.payments.model import (
    ONLINE_TENDERS,
    Payment,
    PaymentState,
    RefundRecord,
    RefundState,
    Tender,
    TillSession,
)


class InMemoryPaymentRepository:
    """Payments, refunds and till sessions in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def add(self, payment: Payment) -> Payment:
        stored = replace(payment, id=self.state.next_id("payment"))
        self.state.payments[stored.id] = stored
        self.state.payment_created[stored.id] = self.state.now()
        self.state.payment_updated[stored.id] = self.state.now()
        return stored

    async def get(self, payment_id: int, *, for_update: bool = False) -> Payment | None:
        return self.state.payments.get(payment_id)

    async def by_provider_ref(self, ref: str, *, for_update: bool = False) -> Payment | None:
        return next((p for p in self.state.payments.values() if p.provider_ref == ref), None)

    async def for_order(self, order_id: int, *, for_update: bool = False) -> list[Payment]:
        return [p for _, p in sorted(self.state.payments.items()) if p.order_id == order_id]

    async def for_orders(self, order_ids: Sequence[int]) -> dict[int, list[Payment]]:
        return {i: await self.for_order(i) for i in order_ids}

    async def save(self, payment: Payment) -> None:
        self.state.payments[payment.id] = payment
        self.state.payment_updated[payment.id] = self.state.now()

    async def unattached(self, *, created_before: datetime, limit: int) -> list[Payment]:
        return [
            p
            for i, p in sorted(self.state.payments.items())
            if p.tender in ONLINE_TENDERS
            and p.state is PaymentState.PENDING
            and p.provider_ref is None
            and self.state.payment_created[i] <= created_before
        ][:limit]

    async def unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        waiting = (PaymentState.PENDING, PaymentState.REQUIRES_ACTION, PaymentState.FAILED)
        found = [
            p
            for i, p in self.state.payments.items()
            if p.tender in ONLINE_TENDERS
            and p.state in waiting
            and p.provider_ref is not None
            and self.state.payment_updated[i] <= updated_before
        ]
        found.sort(key=lambda p: (self.state.payment_updated[p.id], p.id))
        return found[:limit]

    async def add_refund(self, refund: RefundRecord) -> RefundRecord:
        stored = replace(
            refund, id=self.state.next_id("payment_refund"), updated_at=self.state.now()
        )
        self.state.refunds[stored.id] = stored
        return stored

    async def get_refund(self, refund_id: int, *, for_update: bool = False) -> RefundRecord | None:
        return self.state.refunds.get(refund_id)

    async def refunds_for_order(self, order_id: int) -> list[RefundRecord]:
        return [r for _, r in sorted(self.state.refunds.items()) if r.order_id == order_id]

    async def refund_by_provider_ref(self, ref: str) -> RefundRecord | None:
        return next((r for r in self.state.refunds.values() if r.provider_ref == ref), None)

    async def refunds_due(self, *, limit: int) -> list[RefundRecord]:
        return [
            r
            for _, r in sorted(self.state.refunds.items())
            if r.state is RefundState.PENDING and r.tender in ONLINE_TENDERS
        ][:limit]

    async def refunds_for_orders(self, order_ids: Sequence[int]) -> dict[int, list[RefundRecord]]:
        return {i: await self.refunds_for_order(i) for i in order_ids}

    async def save_refund(self, refund: RefundRecord) -> None:
        self.state.refunds[refund.id] = replace(refund, updated_at=self.state.now())

    async def releases_due(self, *, limit: int) -> list[Payment]:
        orders = self.state.orders
        return [
            p
            for _, p in sorted(self.state.payments.items())
            if p.tender in ONLINE_TENDERS
            and p.order_id in orders
            and orders[p.order_id].status is OrderStatus.CANCELLED
            and orders[p.order_id].payment_status
            in (PaymentStatus.PENDING, PaymentStatus.AUTHORISED)
        ][:limit]

    async def first_seen(self, provider: str, event_id: str, event_type: str) -> bool:
        if (provider, event_id) in self.state.provider_events:
            return False
        self.state.provider_events[(provider, event_id)] = event_type
        return True

    async def count_refusal(self, provider: str, reason: str, *, day: str) -> None:
        key = (provider, day, reason)
        self.state.webhook_refusals[key] = self.state.webhook_refusals.get(key, 0) + 1

    async def refusals(self, provider: str, *, day: str) -> dict[str, int]:
        return {
            r: n
            for (p, d, r), n in self.state.webhook_refusals.items()
            if p == provider and d == day
        }

    async def open_session(self, session: TillSession) -> TillSession:
        stored = replace(session, id=self.state.next_id("till_session"))
        self.state.till_sessions[stored.id] = stored
        return stored

    async def session(self, session_id: int, *, for_update: bool = False) -> TillSession | None:
        return self.state.till_sessions.get(session_id)

    async def open_session_of(self, staff_subject: str, location_id: int) -> TillSession | None:
        return next(
            (
                s
                for _, s in sorted(self.state.till_sessions.items(), reverse=True)
                if s.staff_subject == staff_subject
                and s.location_id == location_id
                and s.closed_at is None
            ),
            None,
        )

    async def save_session(self, session: TillSession) -> None:
        self.state.till_sessions[session.id] = session

    async def sessions(
        self,
        *,
        location_id: int,
        staff_subject: str | None = None,
        before_id: int | None = None,
        limit: int,
    ) -> list[TillSession]:
        found = [
            s
            for _, s in sorted(self.state.till_sessions.items(), reverse=True)
            if s.location_id == location_id
            and (staff_subject is None or s.staff_subject == staff_subject)
            and (before_id is None or s.id < before_id)
        ]
        return found[:limit]

    async def cash_in_session(self, session_id: int) -> tuple[int, int]:
        taken = sum(
            p.captured
            for p in self.state.payments.values()
            if p.till_session_id == session_id
            and p.tender is Tender.CASH
            and p.state is PaymentState.CAPTURED
        )
        paid_out = sum(
            r.amount
            for r in self.state.refunds.values()
            if r.till_session_id == session_id
            and r.tender is Tender.CASH
            and r.state is RefundState.SUCCEEDED
        )
        return taken, paid_out
