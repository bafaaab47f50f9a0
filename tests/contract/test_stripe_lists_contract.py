"""The reconciliation's provider reads (``list_intents``, ``balance_transactions``) of
adapters/payments/stripe.py against the fake Stripe server: every request and answer validates
against spec3.yaml, the ``created`` range is sent and honoured, every page is read.

localstripe cannot serve these: its ``GET /v1/payment_intents`` and
``GET /v1/balance_transactions`` refuse a ``created`` filter ("Unexpected created") and it books
no fees, so the fake stands in (tests/adapters/test_stripe_gateway_lists.py says so in its skips).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.contract.stripe_spec import SKIP_REASON, SPEC_PATH, validate_exchange

if not SPEC_PATH.is_file():  # pragma: no cover - a fresh clone without ../shared/specs
    pytest.skip(SKIP_REASON, allow_module_level=True)

import stripe

from adapters.payments.stripe import StripePaymentGateway
from domain.payments.model import BalanceType, CaptureMethod, IntentStatus, PaymentMethod
from tests.contract.fake_stripe import FakeStripe, RunningFake


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    with RunningFake(FakeStripe(timeout_delay=1.5)) as running:
        yield running


@pytest.fixture
def gateway(fake: FakeStripe) -> Iterator[StripePaymentGateway]:
    fake.log.clear()
    fake.intents.clear()
    fake.refunds.clear()
    fake.balance_transactions.clear()
    fake.max_page_size = 100
    yield StripePaymentGateway(
        secret_key="sk_test_lists",
        api_base=fake.url,
        max_network_retries=1,
        http_client=stripe.RequestsClient(timeout=2),
    )
    assert fake.log, "the adapter sent nothing"
    for ex in fake.log:
        validate_exchange(
            ex.method, ex.url, ex.headers, ex.body, status=ex.status, response_body=ex.response_body
        )


async def _paid(gateway: StripePaymentGateway, order: int, amount: int, capture: CaptureMethod):
    return await gateway.create_intent(
        order_ref=str(order),
        amount=amount,
        currency="eur",
        method=PaymentMethod.CARD,
        capture=capture,
        idempotency_key=f"order:{order}:intent",
        payment_method_token="pm_card_visa",
        confirm=True,
    )


def _window(hours: float = 1) -> dict[str, datetime]:
    now = datetime.now(UTC)
    return {"created_from": now - timedelta(hours=hours), "created_to": now + timedelta(hours=1)}


async def test_list_intents_reads_every_page_of_the_range_with_order_refs(
    gateway: StripePaymentGateway, fake: FakeStripe
) -> None:
    made = [await _paid(gateway, 100 + i, 1000 + i, CaptureMethod.AUTOMATIC) for i in range(5)]
    fake.max_page_size = 2  # five intents: three pages
    listed = await gateway.list_intents(**_window())
    assert sorted(i.id for i in listed) == sorted(i.id for i in made)
    assert {i.order_ref for i in listed} == {str(100 + i) for i in range(5)}
    assert all(i.status is IntentStatus.SUCCEEDED for i in listed)
    assert {i.amount_received for i in listed} == {1000 + i for i in range(5)}
    gets = fake.received("GET", "/v1/payment_intents")
    assert len(gets) == 3
    queries = [parse_qs(urlsplit(g.url).query) for g in gets]
    assert all("created[gte]" in q and "created[lte]" in q for q in queries)
    assert "starting_after" not in queries[0] and "starting_after" in queries[2]


async def test_list_intents_outside_the_range_is_empty(
    gateway: StripePaymentGateway, fake: FakeStripe
) -> None:
    await _paid(gateway, 200, 500, CaptureMethod.AUTOMATIC)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    listed = await gateway.list_intents(
        created_from=yesterday - timedelta(days=1), created_to=yesterday
    )
    assert listed == []


async def test_balance_transactions_of_charges_refunds_with_fees(
    gateway: StripePaymentGateway, fake: FakeStripe
) -> None:
    auto = await _paid(gateway, 300, 10_000, CaptureMethod.AUTOMATIC)
    held = await _paid(gateway, 301, 4000, CaptureMethod.MANUAL)
    await gateway.capture(held.id, amount_to_capture=3000, idempotency_key="order:301:capture")
    await gateway.refund(auto.id, amount=2500, idempotency_key="order:300:refund:1")
    fake.max_page_size = 2
    moves = await gateway.balance_transactions(**_window())
    by_type = {t: [m for m in moves if m.type is t] for t in BalanceType}
    assert sorted(m.amount for m in by_type[BalanceType.CHARGE]) == [3000, 10_000]
    assert [m.amount for m in by_type[BalanceType.REFUND]] == [-2500]
    charge = next(m for m in moves if m.amount == 10_000)
    assert (charge.fee, charge.net) == (320, 9680)  # 2.9 % + 30
    assert all(m.net == m.amount - m.fee and m.currency == "eur" for m in moves)
    assert all(m.source_id for m in moves) and all(m.payout_id is None for m in moves)
    assert len(fake.received("GET", "/v1/balance_transactions")) == 2
    yesterday = datetime.now(UTC) - timedelta(days=1)
    assert await gateway.balance_transactions(created_from=yesterday, created_to=yesterday) == []
