"""The reconciliation's provider reads against localstripe (run as a process, never imported),
where the emulator can serve them; the contract tests (tests/contract/test_stripe_lists_contract.py)
cover them against the fake validated by Stripe's spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import stripe

from adapters.payments.stripe import StripePaymentGateway
from domain.payments.model import CaptureMethod, PaymentError
from tests.adapters.test_stripe_gateway import _card_intent
from tests.localstripe import KEY, IdempotencyProxy


@pytest.fixture
def gateway(proxy: IdempotencyProxy) -> StripePaymentGateway:
    return StripePaymentGateway(secret_key=KEY, api_base=proxy.url, max_network_retries=0)


@pytest.fixture
def sdk(proxy: IdempotencyProxy) -> stripe.StripeClient:
    return stripe.StripeClient(KEY, base_addresses={"api": proxy.url})


def _today() -> dict[str, datetime]:
    now = datetime.now(UTC)
    return {"created_from": now - timedelta(hours=1), "created_to": now + timedelta(hours=1)}


async def test_list_intents_of_the_day(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient
) -> None:
    intent = await _card_intent(gateway, sdk, amount=1234, capture=CaptureMethod.AUTOMATIC)
    try:
        listed = await gateway.list_intents(**_today())
    except PaymentError as error:
        pytest.skip(
            "localstripe cannot list PaymentIntents by creation date (GET /v1/payment_intents "
            f"refuses created[gte]/created[lte]: {error.message}); covered by the contract fake"
        )
    assert intent.id in {i.id for i in listed}


async def test_balance_transactions_of_the_day(
    gateway: StripePaymentGateway, sdk: stripe.StripeClient
) -> None:
    await _card_intent(gateway, sdk, amount=2000, capture=CaptureMethod.AUTOMATIC)
    try:
        moves = await gateway.balance_transactions(**_today())
    except PaymentError as error:
        pytest.skip(
            "localstripe's GET /v1/balance_transactions refuses created[gte]/created[lte] (and it "
            f"books no fees): {error.message}; covered by the contract fake"
        )
    assert any(m.amount == 2000 for m in moves)
