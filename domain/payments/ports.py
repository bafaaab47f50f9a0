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

from typing import Protocol

from domain.payments.model import CaptureMethod, PaymentIntent, PaymentMethod, Refund


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
        self, intent_id: str, *, idempotency_key: str, return_url: str | None = None
    ) -> PaymentIntent:
        """Confirm an intent that has a payment method; may answer with a ``next_action``."""
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
