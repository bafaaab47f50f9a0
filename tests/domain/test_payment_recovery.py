"""Recovery of lost provider answers, on the in-memory fakes: the provider created the intent
but its answer never reached us; the recovery round asks again with the same key, gets the same
intent and attaches it, or cancels it when the order was cancelled meanwhile. Never a second
intent, never an intent left open for a cancelled order."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.memory.shop import Shop, small_shop
from adapters.payments.fake import FakePaymentGateway
from domain.cart import services as cart
from domain.cart.services import DeliveryChoice
from domain.identity.model import Principal, PrincipalKind
from domain.orders.checkout import checkout_complete
from domain.orders.model import Buyer
from domain.orders.services import cancel
from domain.payments.jobs import Round, run_due
from domain.payments.model import (
    IntentStatus,
    Payment,
    PaymentError,
    PaymentErrorCode,
    PaymentRequest,
    PaymentState,
    Tender,
)
from domain.payments.recovery import recover_unattached

GUEST = Principal(PrincipalKind.ANONYMOUS)


class LosingGateway(FakePaymentGateway):
    """The provider creates the intent, then its answer is lost (``lose`` times)."""

    def __init__(self) -> None:
        super().__init__()
        self.lose = 0

    async def create_intent(self, **kwargs: Any) -> Any:
        intent = await super().create_intent(**kwargs)
        if self.lose:
            self.lose -= 1
            raise PaymentError(PaymentErrorCode.PROVIDER_UNAVAILABLE, "answer lost", retryable=True)
        return intent


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


async def lost_checkout(shop: Shop, gateway: LosingGateway) -> tuple[int, str]:
    """A pick-up order paid by card whose intent was created but never stored."""
    view = await cart.create_cart(
        shop.uow,
        channel_handle="web",
        lines=[(shop.variant_ids[0], 1)],
        buyer=Buyer(email="ada@example.com"),
        delivery=DeliveryChoice(method="PICKUP", location_id=shop.store_id),
        clock=shop.clock,
    )
    gateway.lose = 1
    placed = await checkout_complete(
        shop.uow, GUEST, token=view.cart.token, idempotency_key="k1", clock=shop.clock,
        payment=PaymentRequest(Tender.CARD, "pm_card_visa"), gateway=gateway, provider="test",
    )  # fmt: skip
    return placed.result.order_id, placed.result.access_token


def online(shop: Shop, order_id: int) -> Payment:
    return next(p for p in shop.state.payments.values() if p.order_id == order_id)


async def test_a_lost_answer_is_recovered_with_the_same_intent(shop: Shop) -> None:
    gateway = LosingGateway()
    order_id, _ = await lost_checkout(shop, gateway)
    assert (online(shop, order_id).state, online(shop, order_id).provider_ref) == (
        PaymentState.PENDING,
        None,
    )
    (created,) = gateway.intents
    shop.clock.advance(minutes=3)

    recovered = await recover_unattached(shop.uow, gateway, clock=shop.clock)
    again = await recover_unattached(shop.uow, gateway, clock=shop.clock)

    assert (recovered, again) == (1, 0)
    payment = online(shop, order_id)
    assert payment.provider_ref == created and list(gateway.intents) == [created]
    creates = [key for op, key in gateway.calls if op == "create"]
    assert creates == [f"order:{order_id}:intent"] * 2  # the same key both times
    assert payment.client_secret == f"{created}_secret_fake"


async def test_a_payment_younger_than_the_delay_is_left_to_its_checkout(shop: Shop) -> None:
    gateway = LosingGateway()
    order_id, _ = await lost_checkout(shop, gateway)
    shop.clock.advance(seconds=60)

    assert await recover_unattached(shop.uow, gateway, clock=shop.clock) == 0
    assert online(shop, order_id).provider_ref is None
    shop.clock.advance(seconds=61)
    assert await recover_unattached(shop.uow, gateway, clock=shop.clock) == 1


async def test_the_intent_of_a_cancelled_order_is_cancelled(shop: Shop) -> None:
    gateway = LosingGateway()
    order_id, token = await lost_checkout(shop, gateway)
    await cancel(
        shop.uow, GUEST, order_id=order_id, reason="changed my mind", idempotency_key=None,
        clock=shop.clock, access_token=token,
    )  # fmt: skip
    shop.clock.advance(minutes=3)

    assert await recover_unattached(shop.uow, gateway, clock=shop.clock) == 1

    (created,) = gateway.intents
    assert gateway.intents[created].intent.status is IntentStatus.CANCELED
    payment = online(shop, order_id)
    assert (payment.state, payment.provider_ref) == (PaymentState.CANCELLED, created)
    assert ("cancel", f"order:{order_id}:cancel") in gateway.calls
    assert await recover_unattached(shop.uow, gateway, clock=shop.clock) == 0


async def test_an_answer_lost_again_leaves_the_payment_for_the_next_round(shop: Shop) -> None:
    gateway = LosingGateway()
    order_id, _ = await lost_checkout(shop, gateway)
    shop.clock.advance(minutes=3)
    gateway.lose = 1  # the provider answers, and again the answer does not arrive

    assert await recover_unattached(shop.uow, gateway, clock=shop.clock) == 0
    assert online(shop, order_id).provider_ref is None
    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round(recovered=1)
    assert online(shop, order_id).provider_ref == next(iter(gateway.intents))
