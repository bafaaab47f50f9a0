"""Stripe's JSON objects (PaymentIntent, Refund, Charge) read into the domain's types.

Pure functions over plain dicts: the SDK answers (``.to_dict()``) and webhook payloads
(``event.data.object``) are read by the same code, so an intent means the same thing whether it
came back from a call or arrived in an event.
"""

from __future__ import annotations

from typing import Any

from domain.payments.model import (
    CaptureMethod,
    IntentStatus,
    NextAction,
    PaymentIntent,
    PaymentMethod,
    QrCodeAction,
    RedirectAction,
    Refund,
    RefundStatus,
    SdkAction,
)
from domain.payments.webhooks import INTENT_EVENTS, REFUND_EVENTS, ProviderEvent


def charge_id_of(pi: dict[str, Any]) -> str | None:
    """The id of an intent's latest charge (expanded or not), if any."""
    latest = pi.get("latest_charge")
    if isinstance(latest, dict):
        return str(latest["id"])
    return str(latest) if latest else None


def captured_of(charge: dict[str, Any]) -> int:
    """What the charge took: ``amount_captured``, or for emulators without it, all if captured."""
    if "amount_captured" in charge:
        return int(charge["amount_captured"] or 0)
    if charge.get("captured") and charge.get("status") == "succeeded":
        return int(charge["amount"])
    return 0


def intent_from_stripe(data: dict[str, Any], charge: dict[str, Any] | None = None) -> PaymentIntent:
    """A PaymentIntent object as the domain's intent; ``charge`` fills the amounts an emulator
    leaves out. Raises KeyError/ValueError/TypeError on an object that is not an intent."""
    status = IntentStatus(data["status"])
    capture = (
        CaptureMethod.MANUAL
        if data.get("capture_method") == "manual"
        else (CaptureMethod.AUTOMATIC)
    )
    if "amount_capturable" in data:
        capturable = int(data["amount_capturable"] or 0)
    else:
        capturable = int(data["amount"]) if status is IntentStatus.REQUIRES_CAPTURE else 0
    if "amount_received" in data:
        received = int(data["amount_received"] or 0)
    else:  # an emulator: what the charge took, less what a partial capture released
        received = captured_of(charge) - int(charge.get("amount_refunded") or 0) if charge else 0
        received = received if status is IntentStatus.SUCCEEDED else 0
    error = data.get("last_payment_error") or {}
    return PaymentIntent(
        id=str(data["id"]),
        status=status,
        amount=int(data["amount"]),
        currency=str(data["currency"]),
        capture_method=capture,
        client_secret=data.get("client_secret"),
        next_action=next_action_from_stripe(data.get("next_action")),
        amount_capturable=capturable,
        amount_received=received,
        order_ref=(data.get("metadata") or {}).get("order_ref"),
        decline_code=error.get("decline_code") or error.get("code"),
        method=method_of(data),
    )


def next_action_from_stripe(action: dict[str, Any] | None) -> NextAction | None:
    """Redirect (Alipay, 3-D Secure), QR data (WeChat Pay), or the provider SDK's own step."""
    if not action:
        return None
    kind = str(action.get("type") or "")
    detail = action.get(kind) or {}
    if kind == "redirect_to_url":
        return RedirectAction(url=str(detail["url"]), return_url=detail.get("return_url"))
    if kind == "alipay_handle_redirect":
        url = detail.get("url") or detail.get("native_url")
        return RedirectAction(url=str(url), return_url=detail.get("return_url"))
    if kind == "wechat_pay_display_qr_code":
        return QrCodeAction(data=str(detail["data"]), image_url=detail.get("image_url_png"))
    if kind == "use_stripe_sdk":
        return SdkAction(kind=str(detail.get("type") or kind))
    return SdkAction(kind=kind)


def refund_from_stripe(data: dict[str, Any]) -> Refund:
    """A Refund object as the domain's refund."""
    return Refund(
        id=str(data["id"]),
        intent_id=str(data.get("payment_intent") or ""),
        amount=int(data["amount"]),
        currency=str(data["currency"]),
        status=RefundStatus(data.get("status") or "pending"),
    )


def refunds_of_charge(charge: dict[str, Any]) -> list[Refund]:
    """The refunds a Charge object lists (``charge.refunded`` events carry them)."""
    listed = charge.get("refunds") or {}
    items = listed.get("data") if isinstance(listed, dict) else listed
    return [refund_from_stripe(item) for item in items or [] if isinstance(item, dict)]


def method_of(data: dict[str, Any]) -> PaymentMethod | None:
    """The method the intent was opened for (the metadata we wrote, if the provider echoes none)."""
    types = data.get("payment_method_types") or [(data.get("metadata") or {}).get("method")]
    known = {str(m) for m in PaymentMethod}
    return PaymentMethod(types[0]) if types[0] in known else None


def event_from_stripe(raw: dict[str, Any]) -> ProviderEvent:
    """A verified Stripe event as the domain's ``ProviderEvent``: intents' and refunds' news
    typed, any other type kept as id and type only. Raises KeyError/ValueError/TypeError when
    the object is not what the type announces (the endpoint refuses it as MALFORMED)."""
    event_id, event_type = str(raw["id"]), str(raw["type"])
    obj = raw["data"]["object"]
    if not isinstance(obj, dict):
        raise TypeError("data.object is not an object")
    kind = obj.get("object")
    if event_type in INTENT_EVENTS:
        if kind != "payment_intent":
            raise ValueError(f"{event_type} carries a {kind}")
        return ProviderEvent(event_id, event_type, intent=intent_from_stripe(obj))
    if event_type in REFUND_EVENTS:
        if kind == "refund":
            return ProviderEvent(event_id, event_type, refunds=(refund_from_stripe(obj),))
        if kind == "charge":
            return ProviderEvent(event_id, event_type, refunds=tuple(refunds_of_charge(obj)))
        raise ValueError(f"{event_type} carries a {kind}")
    return ProviderEvent(event_id, event_type)
