"""The Stripe adapter driving the real ``stripe`` SDK against localstripe, a Stripe emulator.

localstripe (GPL-3.0) only ever runs as a separate process (``python -m localstripe``); it is
never imported. It keeps no idempotency keys, so the tests put a small proxy of our own in front
of it that does what Stripe does with them (replay the first answer; refuse the same key with
other parameters) and that can lose an answer after forwarding, to prove that the SDK's retries
send the same key and charge once.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from adapters.payments.stripe import StripePaymentGateway, _confirm_extras, _next_action
from adapters.settings import Settings
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
from tests.localstripe import KEY, IdempotencyProxy
from tests.localstripe import free_port as _free_port


@pytest.fixture
def gateway(proxy: IdempotencyProxy) -> StripePaymentGateway:
    return StripePaymentGateway(secret_key=KEY, api_base=proxy.url, max_network_retries=2)


@pytest.fixture
def sdk(proxy: IdempotencyProxy) -> stripe.StripeClient:
    """The SDK itself, for what a shopper's browser would do (make a card payment method)."""
    return stripe.StripeClient(KEY, base_addresses={"api": proxy.url})


def _card(sdk: stripe.StripeClient, number: str = "4242424242424242") -> str:
    card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    return str(sdk.v1.payment_methods.create({"type": "card", "card": card}).id)  # type: ignore[arg-type]


_seq = iter(range(1, 10_000))


def _key(op: str) -> str:
    return f"order:t{time.time_ns()}-{next(_seq)}:{op}"


async def _card_intent(
    gateway: StripePaymentGateway,
    sdk: stripe.StripeClient,
    *,
    amount: int,
    capture: CaptureMethod,
    number: str = "4242424242424242",
) -> Any:
    return await gateway.create_intent(
        order_ref="O-1",
        amount=amount,
        currency="EUR",
        method=PaymentMethod.CARD,
        capture=capture,
        idempotency_key=_key("intent"),
        payment_method_token=_card(sdk, number),
        confirm=True,
    )


async def test_card_with_automatic_capture_succeeds(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient
) -> None:
    intent = await _card_intent(gateway, sdk, amount=2599, capture=CaptureMethod.AUTOMATIC)
    assert intent.status is IntentStatus.SUCCEEDED and intent.paid
    assert (intent.amount, intent.currency, intent.amount_received) == (2599, "eur", 2599)
    assert intent.method is PaymentMethod.CARD and intent.order_ref == "O-1"
    assert intent.client_secret and intent.client_secret.startswith(intent.id)
    assert (await gateway.retrieve(intent.id)).status is IntentStatus.SUCCEEDED


async def test_manual_capture_takes_less_than_authorised(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient
) -> None:
    intent = await _card_intent(gateway, sdk, amount=1000, capture=CaptureMethod.MANUAL)
    assert intent.status is IntentStatus.REQUIRES_CAPTURE and intent.authorised
    assert (intent.amount_capturable, intent.amount_received) == (1000, 0)
    with pytest.raises(PaymentError) as too_much:
        await gateway.capture(intent.id, amount_to_capture=1200, idempotency_key=_key("c"))
    assert too_much.value.code == PaymentErrorCode.AMOUNT_EXCEEDS_AUTHORISED
    captured = await gateway.capture(intent.id, amount_to_capture=600, idempotency_key=_key("c"))
    assert captured.status is IntentStatus.SUCCEEDED
    assert (captured.amount_received, captured.amount_capturable) == (600, 0)
    with pytest.raises(PaymentError) as over:
        await gateway.refund(intent.id, amount=601, idempotency_key=_key("r"))
    assert over.value.code == PaymentErrorCode.REFUND_EXCEEDS_RECEIVED
    assert (await gateway.refund(intent.id, amount=600, idempotency_key=_key("r"))).amount == 600


async def test_cancel_releases_the_authorisation(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient
) -> None:
    intent = await _card_intent(gateway, sdk, amount=1500, capture=CaptureMethod.MANUAL)
    canceled = await gateway.cancel(intent.id, idempotency_key=_key("cancel"))
    assert canceled.status is IntentStatus.CANCELED
    assert (canceled.amount_capturable, canceled.amount_received) == (0, 0)
    again = await gateway.retrieve(intent.id)
    assert again.status is IntentStatus.CANCELED and again.amount_capturable == 0
    with pytest.raises(PaymentError) as nothing:
        await gateway.refund(intent.id, amount=1, idempotency_key=_key("r"))
    assert nothing.value.code == PaymentErrorCode.REFUND_EXCEEDS_RECEIVED


async def test_refund_in_parts_never_above_what_was_received(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient
) -> None:
    intent = await _card_intent(gateway, sdk, amount=1000, capture=CaptureMethod.AUTOMATIC)
    first_key = _key("refund")
    first = await gateway.refund(intent.id, amount=300, idempotency_key=first_key)
    assert (first.amount, first.intent_id, first.status.value) == (300, intent.id, "succeeded")
    replay = await gateway.refund(intent.id, amount=300, idempotency_key=first_key)
    assert replay.id == first.id
    rest = await gateway.refund(intent.id, amount=700, idempotency_key=_key("refund"))
    assert rest.amount == 700 and rest.id != first.id
    with pytest.raises(PaymentError) as over:
        await gateway.refund(intent.id, amount=1, idempotency_key=_key("refund"))
    assert over.value.code == "REFUND_EXCEEDS_RECEIVED"
    assert "0 received and not yet refunded" in over.value.message
    assert len(list(sdk.v1.refunds.list({"payment_intent": intent.id}).data)) == 2


async def test_same_idempotency_key_gives_the_same_intent(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient, proxy: IdempotencyProxy
) -> None:
    key, token = _key("intent"), _card(sdk)
    args: dict[str, Any] = {
        "order_ref": "O-2",
        "amount": 990,
        "currency": "eur",
        "method": PaymentMethod.CARD,
        "capture": CaptureMethod.AUTOMATIC,
        "payment_method_token": token,
        "confirm": True,
    }
    before = len(sdk.v1.payment_intents.list({"limit": 100}).data)
    first = await gateway.create_intent(idempotency_key=key, **args)
    second = await gateway.create_intent(idempotency_key=key, **args)
    assert first.id == second.id and second.amount_received == 990
    assert len(sdk.v1.payment_intents.list({"limit": 100}).data) == before + 1
    with pytest.raises(PaymentError) as reused:
        await gateway.create_intent(idempotency_key=key, **{**args, "amount": 991})
    assert reused.value.code == PaymentErrorCode.IDEMPOTENCY_CONFLICT


async def test_a_lost_answer_is_retried_with_the_same_key_and_charges_once(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient, proxy: IdempotencyProxy
) -> None:
    before = len(sdk.v1.payment_intents.list({"limit": 100}).data)
    key, token = _key("intent"), _card(sdk)
    proxy.lose_next_answers = 1
    intent = await gateway.create_intent(
        order_ref="O-3",
        amount=500,
        currency="eur",
        method=PaymentMethod.CARD,
        capture=CaptureMethod.AUTOMATIC,
        idempotency_key=key,
        payment_method_token=token,
        confirm=True,
    )
    assert intent.status is IntentStatus.SUCCEEDED
    assert [k for path, k in proxy.posts if k == key] == [key, key]  # one retry, same key
    assert len(sdk.v1.payment_intents.list({"limit": 100}).data) == before + 1


async def test_a_timeout_is_retried_with_the_same_key_and_charges_once(
    proxy: IdempotencyProxy, sdk: stripe.StripeClient
) -> None:
    impatient = StripePaymentGateway(
        secret_key=KEY, api_base=proxy.url, max_network_retries=2, timeout_seconds=0.5
    )
    before = len(sdk.v1.payment_intents.list({"limit": 100}).data)
    key, token = _key("intent"), _card(sdk)
    proxy.stall_next_answers = 1.0
    intent = await impatient.create_intent(
        order_ref="O-4",
        amount=800,
        currency="eur",
        method=PaymentMethod.CARD,
        capture=CaptureMethod.MANUAL,
        idempotency_key=key,
        payment_method_token=token,
        confirm=True,
    )
    assert intent.status is IntentStatus.REQUIRES_CAPTURE and intent.amount_capturable == 800
    assert [k for _, k in proxy.posts if k == key] == [key, key]
    assert len(sdk.v1.payment_intents.list({"limit": 100}).data) == before + 1


async def test_every_post_carries_an_idempotency_key(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient, proxy: IdempotencyProxy
) -> None:
    start = len(proxy.posts)
    intent = await _card_intent(gateway, sdk, amount=700, capture=CaptureMethod.MANUAL)
    await gateway.capture(intent.id, amount_to_capture=None, idempotency_key=_key("c"))
    await gateway.refund(intent.id, amount=100, idempotency_key=_key("r"))
    ours = [(path, k) for path, k in proxy.posts[start:] if "payment_methods" not in path]
    assert len(ours) == 3 and all(k and k.startswith("order:") for _, k in ours)


async def test_a_declined_card_is_a_domain_error(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient
) -> None:
    with pytest.raises(PaymentError) as declined:
        await _card_intent(
            gateway, sdk, amount=1000, capture=CaptureMethod.AUTOMATIC, number="4000000000000341"
        )
    assert declined.value.code == PaymentErrorCode.CARD_DECLINED
    assert declined.value.decline_code == "card_declined" and not declined.value.retryable


async def test_a_card_needing_authentication_hands_over_a_next_action(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient
) -> None:
    intent = await _card_intent(
        gateway, sdk, amount=1000, capture=CaptureMethod.MANUAL, number="4000002500003155"
    )
    assert intent.status is IntentStatus.REQUIRES_ACTION
    assert intent.next_action == SdkAction(kind="three_d_secure_redirect")


async def test_provider_down_is_retryable_domain_error() -> None:
    down = StripePaymentGateway(
        secret_key=KEY, api_base=f"http://127.0.0.1:{_free_port()}", max_network_retries=1
    )
    with pytest.raises(PaymentError) as unavailable:
        await down.retrieve("pi_missing")
    assert unavailable.value.code == PaymentErrorCode.PROVIDER_UNAVAILABLE
    assert unavailable.value.retryable


async def test_unknown_intent_is_not_found(gateway: StripePaymentGateway) -> None:
    with pytest.raises(PaymentError) as missing:
        await gateway.retrieve("pi_doesnotexist")
    assert missing.value.code in {PaymentErrorCode.NOT_FOUND, PaymentErrorCode.INVALID_REQUEST}


def test_next_actions_of_alipay_and_wechat_pay_are_typed() -> None:
    alipay = {
        "type": "alipay_handle_redirect",
        "alipay_handle_redirect": {
            "url": "https://hooks.stripe.com/redirect/authenticate/src_1",
            "native_url": "alipays://platformapi/startApp?x=1",
            "return_url": "https://shop.example/return",
        },
    }
    assert _next_action(alipay) == RedirectAction(
        url="https://hooks.stripe.com/redirect/authenticate/src_1",
        return_url="https://shop.example/return",
    )
    wechat = {
        "type": "wechat_pay_display_qr_code",
        "wechat_pay_display_qr_code": {
            "data": "weixin://wxpay/bizpayurl?pr=x",
            "image_url_png": "https://q/png",
        },
    }
    assert _next_action(wechat) == QrCodeAction(
        data="weixin://wxpay/bizpayurl?pr=x", image_url="https://q/png"
    )
    redirect = {
        "type": "redirect_to_url",
        "redirect_to_url": {"url": "https://3ds", "return_url": None},
    }
    assert _next_action(redirect) == RedirectAction(url="https://3ds")
    assert _next_action(None) is None


def test_no_secret_key_means_payments_off() -> None:
    assert StripePaymentGateway.from_settings(Settings.from_env({"DATA_DIR": "/tmp"})) is None
    on = Settings.from_env(
        {"DATA_DIR": "/tmp", "STRIPE_SECRET_KEY": KEY, "STRIPE_API_BASE": "http://x"}
    )
    assert isinstance(StripePaymentGateway.from_settings(on), StripePaymentGateway)
    assert KEY not in repr(on) and on.stripe_api_base == "http://x"
    port: PaymentGateway = StripePaymentGateway(secret_key=KEY)  # mypy checks the protocol
    assert port is not None
    with pytest.raises(ValueError):
        StripePaymentGateway(secret_key="")


def test_a_wallet_confirmed_without_a_payment_method_names_its_type() -> None:
    alipay = _confirm_extras(PaymentMethod.ALIPAY, "https://shop/back", has_method=False)
    assert alipay == {"payment_method_data": {"type": "alipay"}, "return_url": "https://shop/back"}
    wechat = _confirm_extras(PaymentMethod.WECHAT_PAY, None, has_method=False)
    assert wechat["payment_method_data"] == {"type": "wechat_pay"}
    assert wechat["payment_method_options"] == {"wechat_pay": {"client": "web"}}
    assert _confirm_extras(PaymentMethod.CARD, None, has_method=True) == {}
