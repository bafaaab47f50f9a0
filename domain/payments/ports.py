"""The payment port: what the use cases need from a payment provider (Stripe, a fake).

Contract, for every implementation:

- Amounts are positive integers in minor units; currencies lower-case ISO codes.
- Every call that changes money takes an ``idempotency_key`` (see ``domain.payments.keys``): the
  same key with the same arguments returns the first result and moves no money again.
- Failures raise ``PaymentError`` with a ``PaymentErrorCode``, never a provider exception:
  ``CARD_DECLINED`` (the shopper must try another way), ``INVALID_REQUEST`` / ``INVALID_STATE``
  (our bug or a stale state: do not retry), ``REFUND_EXCEEDS_RECEIVED``,
  ``AMOUNT_EXCEEDS_AUTHORISED``, ``PAYMENT_RATE_LIMITED`` and ``PAYMENT_PROVIDER_UNAVAILABLE``
  (``retryable``: try again later with the same key).
- States only move forward: requires_payment_method -> requires_confirmation -> (requires_action)
  -> requires_capture (manual) -> succeeded; canceled from any state before succeeded.
- A manual capture takes at most ``amount_capturable``; what is not captured is released.
- Refunds in total never exceed ``amount_received``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.payments.model import (
    BalanceTransaction,
    CaptureMethod,
    Payment,
    PaymentIntent,
    PaymentMethod,
    Refund,
    RefundRecord,
    TillSession,
)


class PaymentGateway(Protocol):
    """A payment provider seen through the domain's types."""

    async def create_intent(
        self,
        *,
        order_ref: str,
        amount: int,
        currency: str,
        method: PaymentMethod,
        capture: CaptureMethod,
        idempotency_key: str,
        payment_method_token: str | None = None,
        confirm: bool = False,
        return_url: str | None = None,
    ) -> PaymentIntent:
        """Open a payment for an order; with a token and ``confirm`` it is confirmed at once."""
        ...

    async def confirm(
        self,
        intent_id: str,
        *,
        idempotency_key: str,
        return_url: str | None = None,
        payment_method_token: str | None = None,
    ) -> PaymentIntent:
        """Confirm an intent (with ``payment_method_token`` when it has no method yet, or to
        try another after a decline); may answer with a ``next_action``."""
        ...

    async def capture(
        self, intent_id: str, *, amount_to_capture: int | None, idempotency_key: str
    ) -> PaymentIntent:
        """Capture an authorisation, all of it (None) or less; the rest is released."""
        ...

    async def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        """Cancel an intent not yet succeeded, releasing any authorisation."""
        ...

    async def refund(self, intent_id: str, *, amount: int, idempotency_key: str) -> Refund:
        """Send back ``amount`` of what was received on the intent."""
        ...

    async def retrieve(self, intent_id: str) -> PaymentIntent:
        """Read an intent's current state from the provider."""
        ...

    async def list_intents(
        self, *, created_from: datetime, created_to: datetime
    ) -> list[PaymentIntent]:
        """Every intent created in [created_from, created_to] (all pages), with the
        ``order_ref`` its metadata carries; for the daily reconciliation."""
        ...

    async def balance_transactions(
        self, *, created_from: datetime, created_to: datetime
    ) -> list[BalanceTransaction]:
        """Every balance movement created in [created_from, created_to] (all pages): charges,
        refunds, fees and payouts as the provider booked them."""
        ...


class PaymentRepository(Protocol):
    """Payments (one per tender of an order), their refunds, till sessions and the provider
    events already applied, in the caller's transaction."""

    async def add(self, payment: Payment) -> Payment:
        """Store a new payment; the answer carries its id."""
        ...

    async def get(self, payment_id: int, *, for_update: bool = False) -> Payment | None: ...

    async def by_provider_ref(self, ref: str, *, for_update: bool = False) -> Payment | None:
        """The payment of a provider's intent id."""
        ...

    async def for_order(self, order_id: int, *, for_update: bool = False) -> list[Payment]:
        """The order's payments, oldest first."""
        ...

    async def for_orders(self, order_ids: Sequence[int]) -> dict[int, list[Payment]]:
        """Payments of many orders at once (one query), oldest first."""
        ...

    async def save(self, payment: Payment) -> None: ...

    async def unattached(self, *, created_before: datetime, limit: int) -> list[Payment]:
        """Online payments still PENDING without a provider reference: a crash may have come
        between the provider's answer and its storage (the recovery step looks them up)."""
        ...

    async def unsettled(self, *, updated_before: datetime, limit: int) -> list[Payment]:
        """Online payments with a provider reference still waiting for news (PENDING,
        REQUIRES_ACTION, FAILED) and unchanged since ``updated_before``, least recently changed
        first: their webhook may have been lost, so the worker reads them from the provider."""
        ...

    async def add_refund(self, refund: RefundRecord) -> RefundRecord: ...

    async def get_refund(
        self, refund_id: int, *, for_update: bool = False
    ) -> RefundRecord | None: ...

    async def refunds_for_order(self, order_id: int) -> list[RefundRecord]: ...

    async def refund_by_provider_ref(self, ref: str) -> RefundRecord | None:
        """The refund the provider knows by ``ref`` (its refund id)."""
        ...

    async def refunds_due(self, *, limit: int) -> list[RefundRecord]:
        """Refunds through the provider that are PENDING (not yet sent, or sent and unanswered),
        oldest first: the payment worker sends them (the same key each time)."""
        ...

    async def refunds_for_orders(
        self, order_ids: Sequence[int]
    ) -> dict[int, list[RefundRecord]]: ...

    async def releases_due(self, *, limit: int) -> list[Payment]:
        """Online payments of cancelled orders whose payment status is still PENDING or
        AUTHORISED (neither released nor received), oldest first: the payment worker cancels
        their intent (or refunds what a late capture took)."""
        ...

    async def save_refund(self, refund: RefundRecord) -> None: ...

    async def first_seen(self, provider: str, event_id: str, event_type: str) -> bool:
        """Record a provider event as applied; False when it was applied before (the caller's
        transaction makes the record and the effect one)."""
        ...

    async def count_refusal(self, provider: str, reason: str, *, day: str) -> None:
        """Count a refused webhook (forged, stale, replayed, malformed) for the day."""
        ...

    async def refusals(self, provider: str, *, day: str) -> dict[str, int]: ...

    async def open_session(self, session: TillSession) -> TillSession: ...

    async def session(self, session_id: int, *, for_update: bool = False) -> TillSession | None: ...

    async def open_session_of(self, staff_subject: str, location_id: int) -> TillSession | None:
        """The clerk's open till session at the location, if any."""
        ...

    async def save_session(self, session: TillSession) -> None: ...

    async def sessions(
        self,
        *,
        location_id: int,
        staff_subject: str | None = None,
        before_id: int | None = None,
        limit: int,
    ) -> list[TillSession]:
        """Till sessions at a location (of one clerk when ``staff_subject``), newest first,
        those with an id below ``before_id`` when given."""
        ...

    async def cash_in_session(self, session_id: int) -> tuple[int, int]:
        """(cash taken net of change, cash paid out in refunds) in a till session."""
        ...
