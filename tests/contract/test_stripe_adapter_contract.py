"""adapters/payments/stripe.py (the other agent's gateway) driven against the fake Stripe server.

Every request the adapter sends and every answer it gets validates against spec3.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.stripe_spec import SKIP_REASON, SPEC_PATH, validate_exchange

if not SPEC_PATH.is_file():  # pragma: no cover - a fresh clone without ../shared/specs
    pytest.skip(SKIP_REASON, allow_module_level=True)

import stripe

from adapters.payments.stripe import StripePaymentGateway
from domain.payments.model import (
    CaptureMethod,
    IntentStatus,
    PaymentMethod,
    QrCodeAction,
    RedirectAction,
)
from tests.contract.fake_stripe import FakeStripe, RunningFake


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    with RunningFake(FakeStripe(timeout_delay=1.5)) as running:
        yield running


@pytest.fixture
def gateway(fake: FakeStripe) -> Iterator[StripePaymentGateway]:
    fake.log.clear()
    yield StripePaymentGateway(
        secret_key="sk_test_adapter",
        api_base=fake.url,
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=0.5),
    )
    assert fake.log, "the adapter sent nothing"
    for ex in fake.log:
        validate_exchange(
            ex.method, ex.url, ex.headers, ex.body, status=ex.status, response_body=ex.response_body
        )


async def test_adapter_wechat_pay_intent_hands_over_qr_data(
    gateway: StripePaymentGateway, fake: FakeStripe
) -> None:
    created = await gateway.create_intent(
        order_ref="O-42",
        amount=8800,
        currency="CNY",
        method=PaymentMethod.WECHAT_PAY,
        capture=CaptureMethod.AUTOMATIC,
        idempotency_key="order:42:intent",
        payment_method_token="pm_wechat_fake",
    )
    assert created.status is IntentStatus.REQUIRES_CONFIRMATION
    confirmed = await gateway.confirm(created.id, idempotency_key="order:42:confirm")
    assert confirmed.status is IntentStatus.REQUIRES_ACTION
    assert isinstance(confirmed.next_action, QrCodeAction)
    assert confirmed.next_action.data.startswith("weixin://")
    fake.complete_action(created.id)
    assert (await gateway.retrieve(created.id)).status is IntentStatus.SUCCEEDED
    posts = [e for e in fake.log if e.method == "POST"]
    assert [e.headers["idempotency-key"] for e in posts] == ["order:42:intent", "order:42:confirm"]


async def test_adapter_alipay_intent_hands_over_the_redirect(
    gateway: StripePaymentGateway, fake: FakeStripe
) -> None:
    intent = await gateway.create_intent(
        order_ref="O-43",
        amount=12000,
        currency="cny",
        method=PaymentMethod.ALIPAY,
        capture=CaptureMethod.AUTOMATIC,
        idempotency_key="order:43:intent",
        payment_method_token="pm_alipay_fake",
        confirm=True,
        return_url="https://shop.example/orders/43",
    )
    assert intent.status is IntentStatus.REQUIRES_ACTION
    assert isinstance(intent.next_action, RedirectAction)
    assert intent.next_action.url.startswith("https://")
    assert intent.next_action.return_url == "https://shop.example/orders/43"
    assert intent.order_ref == "O-43"


async def test_adapter_retries_a_500_with_its_own_key(
    gateway: StripePaymentGateway, fake: FakeStripe
) -> None:
    fake.fail_next(500)
    await gateway.create_intent(
        order_ref="O-44",
        amount=100,
        currency="cny",
        method=PaymentMethod.ALIPAY,
        capture=CaptureMethod.AUTOMATIC,
        idempotency_key="order:44:intent",
    )
    attempts = fake.received("POST", "/v1/payment_intents")
    assert [e.headers["idempotency-key"] for e in attempts] == ["order:44:intent"] * 2
    assert [e.status for e in attempts] == [500, 200]


async def test_adapter_alipay_without_a_token_sends_payment_method_data(
    gateway: StripePaymentGateway,
) -> None:
    intent = await gateway.create_intent(
        order_ref="O-45",
        amount=100,
        currency="cny",
        method=PaymentMethod.ALIPAY,
        capture=CaptureMethod.AUTOMATIC,
        idempotency_key="order:45:intent",
        confirm=True,
        return_url="https://shop.example/orders/45",
    )
    assert isinstance(intent.next_action, RedirectAction)
