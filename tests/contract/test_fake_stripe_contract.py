"""The official stripe SDK against the fake Stripe server; all traffic validated against spec3.yaml."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.stripe_spec import SKIP_REASON, SPEC_PATH, requires_spec, validate_exchange

pytestmark = requires_spec

if SPEC_PATH.is_file():
    import stripe

    from tests.contract.fake_stripe import FakeStripe, RunningFake
else:  # pragma: no cover - a fresh clone without ../shared/specs
    pytest.skip(SKIP_REASON, allow_module_level=True)

API_KEY = "sk_test_contract"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    with RunningFake(FakeStripe(timeout_delay=1.5)) as running:
        yield running


@pytest.fixture
def client(fake: FakeStripe) -> Iterator[stripe.StripeClient]:
    fake.log.clear()
    http = stripe.RequestsClient(timeout=0.5)
    yield stripe.StripeClient(
        API_KEY,
        base_addresses={"api": fake.url},
        max_network_retries=2,
        http_client=http,
    )
    assert_traffic_matches_spec(fake)


def assert_traffic_matches_spec(fake: FakeStripe) -> None:
    """Every request received and every response given validates against spec3.yaml."""
    assert fake.log, "no traffic reached the fake"
    for ex in fake.log:
        validate_exchange(
            ex.method, ex.url, ex.headers, ex.body, status=ex.status, response_body=ex.response_body
        )


def test_card_with_manual_capture_for_what_was_handed_over(
    client: stripe.StripeClient, fake: FakeStripe
) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 5000,
            "currency": "cny",
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "metadata": {"order": "O-1", "operation": "authorise"},
        }
    )
    assert intent.status == "requires_payment_method"
    intent = client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})
    assert (intent.status, intent.amount_capturable) == ("requires_capture", 5000)
    intent = client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 3500})
    assert (intent.status, intent.amount_received) == ("succeeded", 3500)
    refund = client.v1.refunds.create(
        {"payment_intent": intent.id, "amount": 1000, "reason": "requested_by_customer"}
    )
    assert (refund.status, refund.amount, refund.payment_intent) == ("succeeded", 1000, intent.id)
    again = client.v1.payment_intents.retrieve(intent.id)
    assert again.amount_received == 3500
    # every POST carried an idempotency key, GETs none
    posts = [e for e in fake.log if e.method == "POST"]
    assert len(posts) == 4 and all(e.headers.get("idempotency-key") for e in posts)


def test_cancel_releases_the_authorisation(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 1200,
            "currency": "cny",
            "capture_method": "manual",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert intent.status == "requires_capture"
    canceled = client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.amount_capturable, canceled.cancellation_reason) == (
        "canceled",
        0,
        "abandoned",
    )


def test_alipay_hands_a_redirect_url_to_the_client(
    client: stripe.StripeClient, fake: FakeStripe
) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 8800,
            "currency": "cny",
            "payment_method_types": ["alipay"],
            "payment_method_data": {"type": "alipay"},
            "confirm": True,
            "return_url": "https://shop.example/return",
        }
    )
    assert intent.status == "requires_action"
    assert intent.next_action is not None and intent.next_action.type == "alipay_handle_redirect"
    redirect = intent.next_action.alipay_handle_redirect
    assert (
        redirect.url.startswith("https://") and redirect.return_url == "https://shop.example/return"
    )
    fake.complete_action(intent.id)
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_wechat_pay_hands_qr_data_to_the_client(
    client: stripe.StripeClient, fake: FakeStripe
) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 8800,
            "currency": "cny",
            "payment_method_types": ["wechat_pay"],
            "payment_method_options": {"wechat_pay": {"client": "web"}},
            "capture_method": "automatic",
        }
    )
    intent = client.v1.payment_intents.confirm(
        intent.id, {"payment_method_data": {"type": "wechat_pay"}}
    )
    assert intent.status == "requires_action"
    qr = intent.next_action.wechat_pay_display_qr_code
    assert qr.data.startswith("weixin://") and qr.image_url_png.endswith(".png")
    fake.complete_action(intent.id)
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


@pytest.mark.parametrize("failure", [500, 429, "timeout"])
def test_the_sdk_retries_with_the_same_idempotency_key(
    client: stripe.StripeClient, fake: FakeStripe, failure: int | str
) -> None:
    fake.fail_next(failure)
    before = len(fake.intents)
    intent = client.v1.payment_intents.create(
        {"amount": 700, "currency": "cny", "metadata": {"order": "O-7"}}
    )
    attempts = fake.received("POST", "/v1/payment_intents")
    assert len(attempts) == 2
    keys = {e.headers["idempotency-key"] for e in attempts}
    assert len(keys) == 1 and keys != {""}
    assert attempts[0].body == attempts[1].body
    # exactly one intent exists, whether the first attempt failed before or after its effect
    assert len(fake.intents) == before + 1 and intent.id in fake.intents
    if failure == "timeout":
        assert attempts[1].response_headers.get("Idempotent-Replayed") == "true"


def test_a_caller_chosen_idempotency_key_is_sent_and_replayed(
    client: stripe.StripeClient, fake: FakeStripe
) -> None:
    params = {"amount": 900, "currency": "cny"}
    options: stripe.RequestOptions = {"idempotency_key": "order-O-9:authorise"}
    first = client.v1.payment_intents.create(params, options)
    second = client.v1.payment_intents.create(params, options)
    assert first.id == second.id
    assert [e.headers["idempotency-key"] for e in fake.log] == ["order-O-9:authorise"] * 2


def test_errors_persist_without_retry_when_stripe_says_so(
    client: stripe.StripeClient, fake: FakeStripe
) -> None:
    fake.fail_next(500, 500, 500)
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.create({"amount": 700, "currency": "cny"})
    assert len(fake.received("POST", "/v1/payment_intents")) == 3  # one try + max_network_retries
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.capture("pi_does_not_exist")


def test_the_validator_refuses_what_the_spec_does_not_allow() -> None:
    body = b'{"id": "pi_1", "object": "payment_intent", "status": "nonsense"}'
    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    with pytest.raises(Exception):  # noqa: B017 - any openapi-core validation error
        validate_exchange(
            "POST",
            "http://x/v1/payment_intents",
            headers,
            b"amount=10&currency=cny",
            status=200,
            response_body=body,
        )
    with pytest.raises(Exception):  # noqa: B017
        validate_exchange(
            "POST",
            "http://x/v1/payment_intents",
            headers,
            b"amount=ten&currency=cny",
            status=200,
            response_body=b"{}",
        )


def test_the_validator_checks_the_next_actions_shapes() -> None:
    import json

    from tests.contract.stripe_spec import fixture

    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    intent = fixture("payment_intent") | {"status": "requires_action"}
    bad_actions = [
        {"type": "alipay_handle_redirect", "alipay_handle_redirect": {"url": 123}},
        {
            "type": "wechat_pay_display_qr_code",
            "wechat_pay_display_qr_code": {"data": "weixin://x"},
        },
    ]
    for action in bad_actions:
        body = json.dumps(intent | {"next_action": action}).encode()
        with pytest.raises(Exception):  # noqa: B017
            validate_exchange(
                "POST",
                "http://x/v1/payment_intents",
                headers,
                b"amount=1&currency=cny",
                status=200,
                response_body=body,
            )


def test_confirming_without_a_payment_method_is_refused_like_stripe(
    client: stripe.StripeClient,
) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 500, "currency": "cny", "payment_method_types": ["alipay"]}
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.confirm(intent.id, {"return_url": "https://shop.example/r"})
    assert info.value.code == "payment_intent_unexpected_state"
