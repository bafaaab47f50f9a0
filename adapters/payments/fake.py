"""``FakePaymentGateway``: the payment port in memory, with Stripe's states, for use-case tests.

States as Stripe's: requires_payment_method -> requires_confirmation -> (requires_action) ->
requires_capture (manual) -> succeeded, or canceled before succeeding. Partial capture releases
the rest; refunds never go above what was received; an idempotency key replays the first answer
(or error) and refuses other arguments. Test tokens: ``pm_card_visa`` pays,
``pm_card_declined`` is declined, ``pm_card_3ds`` needs the shopper (``complete_action``);
Alipay answers a redirect, WeChat Pay a QR code (with ``public_base_url``, both point at the
server's TEST MODE page ``/test-payments/<intent id>``). ``fail_next`` makes the next call fail as
a provider outage or rate limit would.

Every intent keeps its creation time (``now``, the wall clock unless given) and every charge
(an automatic confirmation, a capture) and refund books a balance transaction, with a fee of
``FEE_PERCENT`` plus ``FEE_FIXED``, so ``list_intents`` and ``balance_transactions`` answer like
the provider's lists; ``payout`` books a payout of the available balance.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from domain.payments.model import (
    BalanceTransaction,
    BalanceType,
    CaptureMethod,
    IntentStatus,
    NextAction,
    PaymentError,
    PaymentErrorCode,
    PaymentIntent,
    PaymentMethod,
    QrCodeAction,
    RedirectAction,
    Refund,
    RefundStatus,
    SdkAction,
)

DECLINED = "pm_card_declined"
NEEDS_AUTHENTICATION = "pm_card_3ds"
T = TypeVar("T")
_RETRYABLE = {PaymentErrorCode.RATE_LIMITED, PaymentErrorCode.PROVIDER_UNAVAILABLE}
FEE_PERCENT = 1.5  # the fake provider's fee on a charge: 1.5 % + 25 cents
FEE_FIXED = 25


@dataclass
class _Stored:
    intent: PaymentIntent
    token: str | None
    created: datetime
    return_url: str | None = None
    refunds: list[Refund] = field(default_factory=list)


class FakePaymentGateway:
    """In-memory ``PaymentGateway``; ``calls`` lists (operation, idempotency key) in order."""

    def __init__(
        self, *, now: Callable[[], datetime] | None = None, public_base_url: str | None = None
    ) -> None:
        self.now = now or (lambda: datetime.now(UTC))
        # TEST MODE in a server: wallets' redirect and QR point at its /test-payments/<id> page
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.intents: dict[str, _Stored] = {}
        self.balance: list[BalanceTransaction] = []
        self.calls: list[tuple[str, str | None]] = []
        self._answers: dict[str, tuple[tuple[Any, ...], Any]] = {}
        self._ids = itertools.count(1)
        self._failures: list[PaymentErrorCode] = []

    def fail_next(self, code: PaymentErrorCode, times: int = 1) -> None:
        """The next ``times`` calls fail with ``code`` and move no money."""
        self._failures.extend([code] * times)

    def refunds_of(self, intent_id: str) -> list[Refund]:
        """Refunds made on an intent, oldest first."""
        return list(self._stored(intent_id).refunds)

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
        """Open an intent (and confirm it at once when asked)."""
        args = (order_ref, amount, currency, method, capture, payment_method_token, confirm)
        return self._once("create", idempotency_key, args, lambda: self._create(*args, return_url))

    async def confirm(
        self,
        intent_id: str,
        *,
        idempotency_key: str,
        return_url: str | None = None,
        payment_method_token: str | None = None,
    ) -> PaymentIntent:
        """Confirm an intent that has a payment method (or is given one now)."""
        args = (intent_id, payment_method_token)
        return self._once(
            "confirm",
            idempotency_key,
            args,
            lambda: self._confirm(intent_id, return_url, payment_method_token),
        )

    async def capture(
        self, intent_id: str, *, amount_to_capture: int | None, idempotency_key: str
    ) -> PaymentIntent:
        """Capture all or part of an authorisation; the rest is released."""
        args = (intent_id, amount_to_capture)
        return self._once(
            "capture", idempotency_key, args, lambda: self._capture(intent_id, amount_to_capture)
        )

    async def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        """Cancel an intent that has not succeeded."""
        return self._once("cancel", idempotency_key, (intent_id,), lambda: self._cancel(intent_id))

    async def refund(self, intent_id: str, *, amount: int, idempotency_key: str) -> Refund:
        """Send back part of what was received."""
        args = (intent_id, amount)
        return self._once("refund", idempotency_key, args, lambda: self._refund(intent_id, amount))

    async def retrieve(self, intent_id: str) -> PaymentIntent:
        """The intent as it is now."""
        self.calls.append(("retrieve", None))
        self._maybe_fail()
        return self._stored(intent_id).intent

    async def list_intents(
        self, *, created_from: datetime, created_to: datetime
    ) -> list[PaymentIntent]:
        """Intents created in the range, oldest first."""
        self.calls.append(("list_intents", None))
        self._maybe_fail()
        return [s.intent for s in self.intents.values() if created_from <= s.created <= created_to]

    async def balance_transactions(
        self, *, created_from: datetime, created_to: datetime
    ) -> list[BalanceTransaction]:
        """Balance movements booked in the range, oldest first."""
        self.calls.append(("balance_transactions", None))
        self._maybe_fail()
        return [t for t in self.balance if created_from <= t.created <= created_to]

    def payout(self, currency: str = "eur") -> BalanceTransaction | None:
        """Pay the net balance of ``currency`` out to the bank (a payout transaction)."""
        net = sum(t.net for t in self.balance if t.currency == currency)
        if net <= 0:
            return None
        return self._book(BalanceType.PAYOUT, -net, currency, f"po_fake_{next(self._ids)}")

    def complete_action(self, intent_id: str, *, success: bool = True) -> PaymentIntent:
        """The shopper finished (or abandoned) the redirect, QR scan or 3-D Secure step."""
        stored = self._stored(intent_id)
        if stored.intent.status is not IntentStatus.REQUIRES_ACTION:
            raise PaymentError(PaymentErrorCode.INVALID_STATE, "no action is pending")
        if not success:  # as Stripe: back to requires_payment_method, with the error said
            return self._set(
                stored,
                status=IntentStatus.REQUIRES_PAYMENT_METHOD,
                next_action=None,
                decline_code="payment_declined",
            )
        return self._authorise(stored)

    # -- the state machine -------------------------------------------------------------------

    def _once(self, operation: str, key: str, args: tuple[Any, ...], run: Callable[[], T]) -> T:
        """Replay the first answer (or error) of ``key``; refuse the key with other arguments."""
        self.calls.append((operation, key))
        if not key:
            raise PaymentError(PaymentErrorCode.INVALID_REQUEST, "an idempotency key is required")
        if key in self._answers:
            first_args, answer = self._answers[key]
            if first_args != (operation, *args):
                raise PaymentError(
                    PaymentErrorCode.IDEMPOTENCY_CONFLICT, f"key {key} was used for another call"
                )
            if isinstance(answer, PaymentError):
                raise answer
            replayed: T = answer
            return replayed
        self._maybe_fail()
        try:
            result = run()
        except PaymentError as exc:
            if exc.payment_code not in _RETRYABLE:
                self._answers[key] = ((operation, *args), exc)
            raise
        self._answers[key] = ((operation, *args), result)
        return result

    def _maybe_fail(self) -> None:
        if self._failures:
            code = self._failures.pop(0)
            raise PaymentError(code, f"fake provider: {code}", retryable=code in _RETRYABLE)

    def _create(
        self,
        order_ref: str,
        amount: int,
        currency: str,
        method: PaymentMethod,
        capture: CaptureMethod,
        token: str | None,
        confirm: bool,
        return_url: str | None,
    ) -> PaymentIntent:
        if amount <= 0:
            raise PaymentError(PaymentErrorCode.INVALID_REQUEST, "amount must be positive")
        intent_id = f"pi_fake_{next(self._ids)}"
        has_method = token is not None or method is not PaymentMethod.CARD
        intent = PaymentIntent(
            id=intent_id,
            status=IntentStatus.REQUIRES_CONFIRMATION
            if has_method
            else IntentStatus.REQUIRES_PAYMENT_METHOD,
            amount=amount,
            currency=currency.lower(),
            capture_method=capture,
            client_secret=f"{intent_id}_secret_fake",
            next_action=None,
            amount_capturable=0,
            amount_received=0,
            order_ref=order_ref,
            method=method,
        )
        self.intents[intent_id] = _Stored(
            intent=intent, token=token, created=self.now(), return_url=return_url
        )
        return self._confirm(intent_id, return_url) if confirm else intent

    def _confirm(
        self, intent_id: str, return_url: str | None, token: str | None = None
    ) -> PaymentIntent:
        stored = self._stored(intent_id)
        if token is not None and stored.intent.status is IntentStatus.REQUIRES_PAYMENT_METHOD:
            stored.token = token
            self._set(stored, status=IntentStatus.REQUIRES_CONFIRMATION, decline_code=None)
        self._require(stored, IntentStatus.REQUIRES_CONFIRMATION, "confirm")
        stored.return_url = return_url or stored.return_url
        method = stored.intent.method
        if method is PaymentMethod.CARD and stored.token == DECLINED:
            self._set(stored, status=IntentStatus.REQUIRES_PAYMENT_METHOD, decline_code="generic")
            raise PaymentError(
                PaymentErrorCode.CARD_DECLINED, "Your card was declined.", decline_code="generic"
            )
        action = self._action_for(stored)
        if action is not None:
            return self._set(stored, status=IntentStatus.REQUIRES_ACTION, next_action=action)
        return self._authorise(stored)

    def _action_for(self, stored: _Stored) -> NextAction | None:
        intent = stored.intent
        page = f"{self.public_base_url}/test-payments/{intent.id}" if self.public_base_url else None
        if intent.method is PaymentMethod.ALIPAY:
            url = page or f"https://fake-pay.invalid/alipay/{intent.id}"
            return RedirectAction(url=url, return_url=stored.return_url)
        if intent.method is PaymentMethod.WECHAT_PAY:
            return QrCodeAction(data=page or f"weixin://wxpay/bizpayurl?pr={intent.id}")
        if stored.token == NEEDS_AUTHENTICATION:
            return SdkAction(kind="three_d_secure_redirect")
        return None

    def _authorise(self, stored: _Stored) -> PaymentIntent:
        amount = stored.intent.amount
        if stored.intent.capture_method is CaptureMethod.MANUAL:
            return self._set(
                stored, status=IntentStatus.REQUIRES_CAPTURE, next_action=None,
                amount_capturable=amount,
            )  # fmt: skip
        self._charge(stored.intent, amount)
        return self._set(
            stored, status=IntentStatus.SUCCEEDED, next_action=None, amount_received=amount
        )

    def _capture(self, intent_id: str, amount: int | None) -> PaymentIntent:
        stored = self._stored(intent_id)
        self._require(stored, IntentStatus.REQUIRES_CAPTURE, "capture")
        capturable = stored.intent.amount_capturable
        taken = capturable if amount is None else amount
        if taken <= 0:
            raise PaymentError(PaymentErrorCode.INVALID_REQUEST, "capture must be positive")
        if taken > capturable:
            raise PaymentError(
                PaymentErrorCode.AMOUNT_EXCEEDS_AUTHORISED,
                f"cannot capture {taken}: {capturable} authorised",
            )
        self._charge(stored.intent, taken)
        return self._set(
            stored, status=IntentStatus.SUCCEEDED, amount_capturable=0, amount_received=taken
        )

    def _cancel(self, intent_id: str) -> PaymentIntent:
        stored = self._stored(intent_id)
        if stored.intent.status in {IntentStatus.SUCCEEDED, IntentStatus.CANCELED}:
            raise PaymentError(
                PaymentErrorCode.INVALID_STATE, f"cannot cancel a {stored.intent.status} intent"
            )
        return self._set(
            stored, status=IntentStatus.CANCELED, next_action=None, amount_capturable=0
        )

    def _refund(self, intent_id: str, amount: int) -> Refund:
        stored = self._stored(intent_id)
        if amount <= 0:
            raise PaymentError(PaymentErrorCode.INVALID_REQUEST, "refund must be positive")
        remaining = stored.intent.amount_received - sum(r.amount for r in stored.refunds)
        if amount > remaining:
            raise PaymentError(
                PaymentErrorCode.REFUND_EXCEEDS_RECEIVED,
                f"cannot refund {amount}: {remaining} received and not yet refunded",
            )
        made = Refund(
            id=f"re_fake_{next(self._ids)}",
            intent_id=intent_id,
            amount=amount,
            currency=stored.intent.currency,
            status=RefundStatus.SUCCEEDED,
        )
        stored.refunds.append(made)
        self._book(BalanceType.REFUND, -amount, made.currency, made.id)
        return made

    def _charge(self, intent: PaymentIntent, amount: int) -> None:
        fee = round(amount * FEE_PERCENT / 100) + FEE_FIXED
        self._book(BalanceType.CHARGE, amount, intent.currency, f"ch_{intent.id}", fee=fee)

    def _book(
        self, kind: BalanceType, amount: int, currency: str, source: str, *, fee: int = 0
    ) -> BalanceTransaction:
        at = self.now()
        made = BalanceTransaction(
            id=f"txn_fake_{next(self._ids)}",
            type=kind,
            amount=amount,
            fee=fee,
            net=amount - fee,
            currency=currency,
            source_id=source,
            available_on=at,
            created=at,
            payout_id=source if kind is BalanceType.PAYOUT else None,
        )
        self.balance.append(made)
        return made

    def _stored(self, intent_id: str) -> _Stored:
        try:
            return self.intents[intent_id]
        except KeyError:
            raise PaymentError(PaymentErrorCode.NOT_FOUND, f"no intent {intent_id}") from None

    @staticmethod
    def _require(stored: _Stored, status: IntentStatus, operation: str) -> None:
        if stored.intent.status is not status:
            raise PaymentError(
                PaymentErrorCode.INVALID_STATE,
                f"cannot {operation} an intent in {stored.intent.status}",
            )

    @staticmethod
    def _set(stored: _Stored, **changes: Any) -> PaymentIntent:
        stored.intent = replace(stored.intent, **changes)
        return stored.intent
