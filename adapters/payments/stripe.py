"""``PaymentGateway`` on the official Stripe SDK (``stripe.StripeClient``, the ``v1`` services).

- The API base is configurable (``STRIPE_API_BASE``: an emulator such as localstripe in tests
  and demos), the key comes from ``STRIPE_SECRET_KEY``.
- Every POST carries the caller's idempotency key; the SDK retries timeouts, connection errors,
  409 and 5xx answers ``max_network_retries`` times with exponential backoff and jitter, sending
  the same key each time, so a retry never charges twice.
- The SDK's synchronous calls run in a worker thread (``asyncio.to_thread``): its ``*_async``
  methods need httpx or aiohttp, which are not runtime dependencies of the gateway.
- Provider errors are translated once, in ``_translate``, into ``PaymentError`` codes.
- Stripe objects are read into domain types by ``stripe_objects`` (shared with the webhook).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import stripe as stripe_sdk

from adapters.payments.stripe_objects import captured_of as _captured
from adapters.payments.stripe_objects import charge_id_of as _charge_id
from adapters.payments.stripe_objects import intent_from_stripe as _intent
from adapters.payments.stripe_objects import next_action_from_stripe as _next_action  # noqa: F401
from adapters.payments.stripe_objects import refund_from_stripe as _refund
from adapters.settings import Settings
from domain.payments.model import (
    BalanceTransaction,
    BalanceType,
    CaptureMethod,
    IntentStatus,
    PaymentError,
    PaymentErrorCode,
    PaymentIntent,
    PaymentMethod,
    Refund,
)

DEFAULT_MAX_NETWORK_RETRIES = 3
DEFAULT_TIMEOUT_SECONDS = 30.0
_OVER_LIMIT_CODES = {"amount_too_large", "charge_already_refunded", "charge_exceeds_source_limit"}


class StripePaymentGateway:
    """Stripe PaymentIntents and Refunds, in the domain's types and error codes."""

    def __init__(
        self,
        *,
        secret_key: str,
        api_base: str | None = None,
        max_network_retries: int = DEFAULT_MAX_NETWORK_RETRIES,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        http_client: Any = None,
    ) -> None:
        if not secret_key:
            raise ValueError("STRIPE_SECRET_KEY is empty: payments are off")
        addresses: dict[str, str] = {"api": api_base.rstrip("/")} if api_base else {}
        self._client = stripe_sdk.StripeClient(
            secret_key,
            base_addresses=addresses,  # type: ignore[arg-type]
            max_network_retries=max_network_retries,
            # requests comes with the SDK; a read timeout is retried like a lost connection
            http_client=http_client or stripe_sdk.RequestsClient(timeout=timeout_seconds),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> StripePaymentGateway | None:
        """The gateway the settings describe, or None when no secret key is set (payments off)."""
        if not settings.stripe_secret_key:
            return None
        return cls(
            secret_key=str(settings.stripe_secret_key), api_base=settings.stripe_api_base or None
        )

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
        """POST /v1/payment_intents (confirmed at once when ``confirm`` and a token are given)."""
        if amount <= 0:
            raise PaymentError(PaymentErrorCode.INVALID_REQUEST, "amount must be positive")
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method_types": [str(method)],
            "capture_method": str(capture),
            "metadata": {"order_ref": order_ref, "method": str(method)},
        }
        if payment_method_token:
            params["payment_method"] = payment_method_token
        if confirm:
            params["confirm"] = True
            params.update(
                _confirm_extras(method, return_url, has_method=bool(payment_method_token))
            )
        intents = self._client.v1.payment_intents
        pi = await self._call(intents.create, params, idempotency_key)
        return await self._intent(pi)

    async def confirm(
        self,
        intent_id: str,
        *,
        idempotency_key: str,
        return_url: str | None = None,
        payment_method_token: str | None = None,
    ) -> PaymentIntent:
        """POST /v1/payment_intents/:id/confirm (with a new payment method when given)."""
        current = await self.retrieve(intent_id)
        has_method = bool(payment_method_token) or (
            current.status is not IntentStatus.REQUIRES_PAYMENT_METHOD
        )
        params = _confirm_extras(current.method, return_url, has_method=has_method)
        intents = self._client.v1.payment_intents
        if payment_method_token:  # attach the method first (a plain update), then confirm
            attach = {"payment_method": payment_method_token}
            call = lambda p, o: intents.update(intent_id, p, o)  # noqa: E731
            await self._call(call, attach, f"{idempotency_key}-method")
        pi = await self._call(
            lambda p, o: intents.confirm(intent_id, p, o), params, idempotency_key
        )
        return await self._intent(pi)

    async def capture(
        self, intent_id: str, *, amount_to_capture: int | None, idempotency_key: str
    ) -> PaymentIntent:
        """POST /v1/payment_intents/:id/capture, for all or part of the authorisation."""
        params: dict[str, Any] = {}
        if amount_to_capture is not None:
            if amount_to_capture <= 0:
                raise PaymentError(PaymentErrorCode.INVALID_REQUEST, "capture must be positive")
            current = await self.retrieve(intent_id)
            if current.status is IntentStatus.REQUIRES_CAPTURE and (
                amount_to_capture > current.amount_capturable
            ):
                raise PaymentError(
                    PaymentErrorCode.AMOUNT_EXCEEDS_AUTHORISED,
                    f"cannot capture {amount_to_capture}: {current.amount_capturable} authorised",
                )
            params["amount_to_capture"] = amount_to_capture
        intents = self._client.v1.payment_intents
        call = lambda p, o: intents.capture(intent_id, p, o)  # noqa: E731
        pi = await self._call(call, params, idempotency_key, operation="capture")
        return await self._intent(pi)

    async def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        """POST /v1/payment_intents/:id/cancel: releases an authorisation."""
        intents = self._client.v1.payment_intents
        pi = await self._call(lambda p, o: intents.cancel(intent_id, p, o), {}, idempotency_key)
        return await self._intent(pi)

    async def refund(self, intent_id: str, *, amount: int, idempotency_key: str) -> Refund:
        """POST /v1/refunds; a replay of the same key answers the first refund."""
        if amount <= 0:
            raise PaymentError(PaymentErrorCode.INVALID_REQUEST, "refund must be positive")
        earlier = await self._refund_with_key(intent_id, idempotency_key)
        if earlier is not None:
            return earlier
        remaining = await self._refundable(intent_id)
        if amount > remaining:
            raise PaymentError(
                PaymentErrorCode.REFUND_EXCEEDS_RECEIVED,
                f"cannot refund {amount}: {remaining} received and not yet refunded",
            )
        params = {
            "payment_intent": intent_id,
            "amount": amount,
            "metadata": {"idempotency_key": idempotency_key},
        }
        refunds = self._client.v1.refunds
        made = await self._call(refunds.create, params, idempotency_key, operation="refund")
        return _refund(made.to_dict())

    async def retrieve(self, intent_id: str) -> PaymentIntent:
        """GET /v1/payment_intents/:id."""
        pi = await self._get(lambda: self._client.v1.payment_intents.retrieve(intent_id))
        return await self._intent(pi)

    async def list_intents(
        self, *, created_from: datetime, created_to: datetime
    ) -> list[PaymentIntent]:
        """GET /v1/payment_intents?created[gte]=…&created[lte]=…, every page."""
        params: Any = {"created": _created(created_from, created_to), "limit": 100}
        intents = self._client.v1.payment_intents
        listed = await self._get(lambda: list(intents.list(params).auto_paging_iter()))
        return [await self._intent(pi) for pi in listed]

    async def balance_transactions(
        self, *, created_from: datetime, created_to: datetime
    ) -> list[BalanceTransaction]:
        """GET /v1/balance_transactions?created[gte]=…&created[lte]=…, every page."""
        params: Any = {"created": _created(created_from, created_to), "limit": 100}
        balance = self._client.v1.balance_transactions
        listed = await self._get(lambda: list(balance.list(params).auto_paging_iter()))
        return [_balance_transaction(dict(t.to_dict())) for t in listed]

    # -- provider calls --------------------------------------------------------------------

    async def _call(
        self,
        fn: Callable[..., Any],
        params: dict[str, Any],
        idempotency_key: str,
        *,
        operation: str = "",
    ) -> Any:
        """One POST in a worker thread, with its idempotency key; errors translated."""
        if not idempotency_key:
            raise PaymentError(PaymentErrorCode.INVALID_REQUEST, "an idempotency key is required")
        options = {"idempotency_key": idempotency_key}
        try:
            return await asyncio.to_thread(fn, params, options)
        except stripe_sdk.StripeError as exc:
            raise _translate(exc, operation=operation) from exc

    async def _get(self, fn: Callable[[], Any]) -> Any:
        """One GET in a worker thread; errors translated."""
        try:
            return await asyncio.to_thread(fn)
        except stripe_sdk.StripeError as exc:
            raise _translate(exc) from exc

    async def _charge(self, charge_id: str | None) -> dict[str, Any] | None:
        if not charge_id:
            return None
        charge = await self._get(lambda: self._client.v1.charges.retrieve(charge_id))
        return dict(charge.to_dict())

    async def _intent(self, pi: Any) -> PaymentIntent:
        """The domain's intent; amounts an emulator leaves out are read from the charge."""
        data = dict(pi.to_dict())
        charge: dict[str, Any] | None = None
        if "amount_received" not in data or "amount_capturable" not in data:
            charge = await self._charge(_charge_id(data))
        return _intent(data, charge)

    async def _refund_with_key(self, intent_id: str, key: str) -> Refund | None:
        listed = await self._get(
            lambda: self._client.v1.refunds.list({"payment_intent": intent_id, "limit": 100})
        )
        for item in listed.to_dict().get("data", []):
            if (item.get("metadata") or {}).get("idempotency_key") == key:
                return _refund(item)
        return None

    async def _refundable(self, intent_id: str) -> int:
        pi = (
            await self._get(lambda: self._client.v1.payment_intents.retrieve(intent_id))
        ).to_dict()
        charge = await self._charge(_charge_id(pi))
        if charge is None:
            return 0
        return _captured(charge) - int(charge.get("amount_refunded") or 0)


# -- mapping -------------------------------------------------------------------------------


def _created(created_from: datetime, created_to: datetime) -> dict[str, int]:
    """A ``created`` range filter in Unix seconds, both ends included."""
    return {"gte": int(created_from.timestamp()), "lte": int(created_to.timestamp())}


_BALANCE_TYPES = {
    "charge": BalanceType.CHARGE,
    "payment": BalanceType.CHARGE,
    "refund": BalanceType.REFUND,
    "payment_refund": BalanceType.REFUND,
    "payout": BalanceType.PAYOUT,
}


def _balance_transaction(data: dict[str, Any]) -> BalanceTransaction:
    """Stripe's balance transaction; other types (fees, disputes…) count as adjustments."""
    kind = _BALANCE_TYPES.get(str(data.get("type") or ""), BalanceType.ADJUSTMENT)
    source = data.get("source")
    source_id = str(source["id"]) if isinstance(source, dict) else (str(source) if source else None)
    amount, fee = int(data["amount"]), int(data.get("fee") or 0)
    created = int(data.get("created") or 0)
    return BalanceTransaction(
        id=str(data["id"]),
        type=kind,
        amount=amount,
        fee=fee,
        net=int(data["net"]) if data.get("net") is not None else amount - fee,
        currency=str(data["currency"]),
        source_id=source_id,
        available_on=datetime.fromtimestamp(int(data.get("available_on") or created), UTC),
        created=datetime.fromtimestamp(created, UTC),
        payout_id=source_id if kind is BalanceType.PAYOUT else None,
    )


def _confirm_extras(
    method: PaymentMethod | None, return_url: str | None, *, has_method: bool
) -> dict[str, Any]:
    """What confirming needs: a return URL (redirects), the WeChat client kind, and for a
    wallet without a payment method yet, ``payment_method_data[type]`` (a card needs a token)."""
    extras: dict[str, Any] = {}
    if not has_method and method in {PaymentMethod.ALIPAY, PaymentMethod.WECHAT_PAY}:
        extras["payment_method_data"] = {"type": str(method)}
    if return_url:
        extras["return_url"] = return_url
    if method is PaymentMethod.WECHAT_PAY:
        extras["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    return extras


def _translate(exc: stripe_sdk.StripeError, *, operation: str = "") -> PaymentError:
    """The one place a Stripe error becomes a domain ``PaymentError``."""
    code = getattr(exc, "code", None) or ""
    message = exc.user_message or str(exc) or type(exc).__name__
    if isinstance(exc, stripe_sdk.CardError):
        error = getattr(exc, "error", None)
        decline = getattr(error, "decline_code", None) or code or None
        return PaymentError(PaymentErrorCode.CARD_DECLINED, message, decline_code=decline)
    if isinstance(exc, stripe_sdk.RateLimitError):
        return PaymentError(PaymentErrorCode.RATE_LIMITED, message, retryable=True)
    if isinstance(exc, stripe_sdk.APIConnectionError | stripe_sdk.APIError):
        return PaymentError(PaymentErrorCode.PROVIDER_UNAVAILABLE, message, retryable=True)
    if isinstance(exc, stripe_sdk.IdempotencyError):
        return PaymentError(PaymentErrorCode.IDEMPOTENCY_CONFLICT, message)
    if isinstance(exc, stripe_sdk.AuthenticationError | stripe_sdk.PermissionError):
        return PaymentError(PaymentErrorCode.AUTHENTICATION_FAILED, message)
    if isinstance(exc, stripe_sdk.InvalidRequestError):
        return _invalid_request(exc, code=code, message=message, operation=operation)
    status = exc.http_status or 0
    if status >= 500:
        return PaymentError(PaymentErrorCode.PROVIDER_UNAVAILABLE, message, retryable=True)
    return PaymentError(PaymentErrorCode.INVALID_REQUEST, message)


def _invalid_request(
    exc: stripe_sdk.InvalidRequestError, *, code: str, message: str, operation: str
) -> PaymentError:
    if code == "resource_missing" or exc.http_status == 404:
        return PaymentError(PaymentErrorCode.NOT_FOUND, message)
    if code == "payment_intent_unexpected_state":
        return PaymentError(PaymentErrorCode.INVALID_STATE, message)
    if code in _OVER_LIMIT_CODES and operation == "refund":
        return PaymentError(PaymentErrorCode.REFUND_EXCEEDS_RECEIVED, message)
    if code in _OVER_LIMIT_CODES and operation == "capture":
        return PaymentError(PaymentErrorCode.AMOUNT_EXCEEDS_AUTHORISED, message)
    return PaymentError(PaymentErrorCode.INVALID_REQUEST, message)
