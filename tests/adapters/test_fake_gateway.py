"""The in-memory payment gateway keeps Stripe's states, capture and refund limits, and keys."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.payments.fake import DECLINED, NEEDS_AUTHENTICATION, FakePaymentGateway
from domain.payments.keys import PaymentOperation, idempotency_key
from domain.payments.model import (
    CaptureMethod,
    IntentStatus,
    PaymentError,
    PaymentErrorCode,
    PaymentMethod,
    QrCodeAction,
    RedirectAction,
    SdkAction,
)
from domain.payments.ports import PaymentGateway


def _gateway() -> PaymentGateway:
    return FakePaymentGateway()


async def _open(
    gw: Any,
    order: int,
    *,
    amount: int = 1000,
    capture: CaptureMethod = CaptureMethod.AUTOMATIC,
    method: PaymentMethod = PaymentMethod.CARD,
    token: str | None = "pm_card_visa",
    confirm: bool = True,
) -> Any:
    return await gw.create_intent(
        order_ref=f"O-{order}",
        amount=amount,
        currency="EUR",
        method=method,
        capture=capture,
        idempotency_key=idempotency_key(order, PaymentOperation.INTENT),
        payment_method_token=token,
        confirm=confirm,
        return_url="https://shop.example/back",
    )


def _key(order: int, op: PaymentOperation, part: int | str = "") -> str:
    return idempotency_key(order, op, part=part)


async def test_card_automatic_capture_is_paid_at_confirmation() -> None:
    gw = FakePaymentGateway()
    opened = await _open(gw, 1, confirm=False)
    assert opened.status is IntentStatus.REQUIRES_CONFIRMATION and opened.client_secret
    paid = await gw.confirm(opened.id, idempotency_key=_key(1, PaymentOperation.CONFIRM))
    assert paid.status is IntentStatus.SUCCEEDED and paid.amount_received == 1000
    assert paid.currency == "eur" and paid.order_ref == "O-1"


async def test_without_a_card_it_requires_a_payment_method_and_cannot_be_confirmed() -> None:
    gw = FakePaymentGateway()
    opened = await _open(gw, 2, token=None, confirm=False)
    assert opened.status is IntentStatus.REQUIRES_PAYMENT_METHOD
    with pytest.raises(PaymentError) as err:
        await gw.confirm(opened.id, idempotency_key=_key(2, PaymentOperation.CONFIRM))
    assert err.value.code == PaymentErrorCode.INVALID_STATE


async def test_manual_capture_partial_then_refunds_up_to_what_was_received() -> None:
    gw = FakePaymentGateway()
    held = await _open(gw, 3, capture=CaptureMethod.MANUAL)
    assert held.status is IntentStatus.REQUIRES_CAPTURE and held.amount_capturable == 1000
    with pytest.raises(PaymentError) as too_much:
        await gw.capture(
            held.id, amount_to_capture=1001, idempotency_key=_key(3, PaymentOperation.CAPTURE, 1)
        )
    assert too_much.value.code == PaymentErrorCode.AMOUNT_EXCEEDS_AUTHORISED
    taken = await gw.capture(
        held.id, amount_to_capture=750, idempotency_key=_key(3, PaymentOperation.CAPTURE, 2)
    )
    assert (taken.status, taken.amount_received, taken.amount_capturable) == (
        IntentStatus.SUCCEEDED,
        750,
        0,
    )
    await gw.refund(held.id, amount=500, idempotency_key=_key(3, PaymentOperation.REFUND, "r1"))
    with pytest.raises(PaymentError) as over:
        await gw.refund(held.id, amount=251, idempotency_key=_key(3, PaymentOperation.REFUND, "r2"))
    assert over.value.code == PaymentErrorCode.REFUND_EXCEEDS_RECEIVED
    await gw.refund(held.id, amount=250, idempotency_key=_key(3, PaymentOperation.REFUND, "r3"))
    assert [r.amount for r in gw.refunds_of(held.id)] == [500, 250]


async def test_cancel_releases_and_a_canceled_intent_cannot_be_captured_or_refunded() -> None:
    gw = FakePaymentGateway()
    held = await _open(gw, 4, capture=CaptureMethod.MANUAL)
    canceled = await gw.cancel(held.id, idempotency_key=_key(4, PaymentOperation.CANCEL))
    assert canceled.status is IntentStatus.CANCELED and canceled.amount_capturable == 0
    with pytest.raises(PaymentError) as capture:
        await gw.capture(
            held.id, amount_to_capture=None, idempotency_key=_key(4, PaymentOperation.CAPTURE, 1)
        )
    assert capture.value.code == PaymentErrorCode.INVALID_STATE
    with pytest.raises(PaymentError) as refund:
        await gw.refund(held.id, amount=1, idempotency_key=_key(4, PaymentOperation.REFUND, 1))
    assert refund.value.code == PaymentErrorCode.REFUND_EXCEEDS_RECEIVED


async def test_a_paid_intent_cannot_be_canceled() -> None:
    gw = FakePaymentGateway()
    paid = await _open(gw, 5)
    with pytest.raises(PaymentError) as err:
        await gw.cancel(paid.id, idempotency_key=_key(5, PaymentOperation.CANCEL))
    assert err.value.code == PaymentErrorCode.INVALID_STATE


async def test_same_key_same_answer_other_arguments_refused() -> None:
    gw = FakePaymentGateway()
    first = await _open(gw, 6)
    again = await _open(gw, 6)
    assert again == first and len(gw.intents) == 1
    with pytest.raises(PaymentError) as err:
        await _open(gw, 6, amount=999)
    assert err.value.code == PaymentErrorCode.IDEMPOTENCY_CONFLICT
    key = _key(6, PaymentOperation.REFUND, "r1")
    refund = await gw.refund(first.id, amount=100, idempotency_key=key)
    assert await gw.refund(first.id, amount=100, idempotency_key=key) == refund
    assert len(gw.refunds_of(first.id)) == 1


async def test_declined_card_is_a_domain_error_and_its_replay_too() -> None:
    gw = FakePaymentGateway()
    for _ in range(2):
        with pytest.raises(PaymentError) as err:
            await _open(gw, 7, token=DECLINED)
        assert err.value.code == PaymentErrorCode.CARD_DECLINED and not err.value.retryable
    assert len(gw.intents) == 1
    [stored] = gw.intents.values()
    assert stored.intent.status is IntentStatus.REQUIRES_PAYMENT_METHOD


async def test_alipay_redirect_wechat_qr_and_3ds_need_the_shopper() -> None:
    gw = FakePaymentGateway()
    alipay = await _open(gw, 8, method=PaymentMethod.ALIPAY, token=None)
    assert alipay.status is IntentStatus.REQUIRES_ACTION
    assert isinstance(alipay.next_action, RedirectAction)
    assert alipay.next_action.return_url == "https://shop.example/back"
    wechat = await _open(gw, 9, method=PaymentMethod.WECHAT_PAY, token=None)
    assert isinstance(wechat.next_action, QrCodeAction)
    assert wechat.next_action.data.startswith("weixin://")
    secure = await _open(gw, 10, token=NEEDS_AUTHENTICATION, capture=CaptureMethod.MANUAL)
    assert secure.next_action == SdkAction(kind="three_d_secure_redirect")
    assert gw.complete_action(alipay.id).status is IntentStatus.SUCCEEDED
    assert gw.complete_action(secure.id).status is IntentStatus.REQUIRES_CAPTURE
    abandoned = gw.complete_action(wechat.id, success=False)
    assert abandoned.status is IntentStatus.REQUIRES_PAYMENT_METHOD


async def test_an_outage_moves_no_money_and_the_retry_with_the_same_key_works() -> None:
    gw = FakePaymentGateway()
    gw.fail_next(PaymentErrorCode.PROVIDER_UNAVAILABLE)
    with pytest.raises(PaymentError) as err:
        await _open(gw, 11)
    assert err.value.retryable and not gw.intents
    paid = await _open(gw, 11)
    assert paid.status is IntentStatus.SUCCEEDED and len(gw.intents) == 1
    assert [k for _, k in gw.calls] == ["order:11:intent", "order:11:intent"]


def test_the_fake_satisfies_the_port() -> None:
    gw: PaymentGateway = _gateway()
    assert isinstance(gw, FakePaymentGateway)
