"""Online payment use cases on the in-memory fakes: the money split per tender (voucher, points,
card), provider answers applied forward only, the hand-over capture, and a provider outage at
checkout leaving the order stored and its payment to open later."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.memory.shop import PRICES, Shop, small_shop
from adapters.payments.fake import FakePaymentGateway
from domain.cart import services as cart
from domain.cart.services import DeliveryChoice
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind
from domain.loyalty import services as loyalty
from domain.money import Money
from domain.orders.checkout import PaidCheckout, checkout_complete
from domain.orders.model import Address, Buyer
from domain.orders.services import FulfilmentStep, fulfil
from domain.orders.states import FulfilmentStatus, OrderStatus, PaymentStatus
from domain.payments import services as payments
from domain.payments.model import (
    IntentStatus,
    PaymentErrorCode,
    PaymentRequest,
    PaymentState,
    Tender,
)
from domain.promotions import services as promotions

GUEST = Principal(PrincipalKind.ANONYMOUS)
CARD = PaymentRequest(Tender.CARD, "pm_card_visa")


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


async def _checkout(
    shop: Shop,
    gateway: FakePaymentGateway,
    request: PaymentRequest | None = CARD,
    *,
    quantity: int = 2,
    member_id: int | None = None,
    codes: tuple[str, ...] = (),
    points: int = 0,
    method: str = "PICKUP",
) -> PaidCheckout:
    view = await cart.create_cart(
        shop.uow,
        channel_handle="web",
        lines=[(shop.variant_ids[0], quantity)],
        buyer=Buyer(email="ada@example.com"),
        delivery=DeliveryChoice(method=method, location_id=shop.store_id)
        if method == "PICKUP"
        else DeliveryChoice(method=method, address=Address(city="Lyon")),
        clock=shop.clock,
        member_id=member_id,
    )
    token = view.cart.token
    if codes:
        await cart.change_cart(shop.uow, token=token, clock=shop.clock, codes=codes)
    principal = shop.member(member_id) if member_id else GUEST
    if points:
        await cart.apply_points(
            shop.uow, principal, token=token, points_wanted=points, clock=shop.clock
        )
    return await checkout_complete(
        shop.uow,
        principal,
        token=token,
        idempotency_key="k",
        clock=shop.clock,
        payment=request,
        gateway=gateway,
        provider="test",
    )


async def test_voucher_points_and_card_each_pay_their_part(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    member = await shop.add_member()
    await loyalty.adjust(
        shop.uow, shop.owner, member_id=member, points=500, reason="welcome", clock=shop.clock
    )
    voucher = await promotions.issue_voucher(
        shop.uow,
        shop.owner,
        member_id=member,
        amount=Money(1000, "EUR"),
        expires_at=shop.clock.now() + timedelta(days=30),
    )
    done = await _checkout(shop, gateway, member_id=member, codes=(voucher.code,), points=500)

    order = shop.state.orders[done.result.order_id]
    assert order.points_value > 0 and order.total == 2 * PRICES[0] - 1000
    split = {p.tender: p for p in shop.state.payments.values()}
    assert set(split) == {Tender.VOUCHER, Tender.POINTS, Tender.CARD}
    assert split[Tender.VOUCHER].amount == 1000
    assert split[Tender.POINTS].amount == order.points_value
    assert split[Tender.CARD].amount == order.total - order.points_value
    assert split[Tender.CARD].state is PaymentState.AUTHORISED
    assert gateway.intents[split[Tender.CARD].provider_ref or ""].intent.amount == (
        order.total - order.points_value
    )  # the provider is asked only for what points and the voucher left
    assert order.payment_status is PaymentStatus.AUTHORISED


async def test_provider_answers_only_move_a_payment_forward(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    done = await _checkout(shop, gateway, method="SHIP")
    (paid,) = shop.state.payments.values()
    assert paid.state is PaymentState.CAPTURED
    assert shop.state.orders[done.result.order_id].payment_status is PaymentStatus.PAID
    stale = replace(
        gateway.intents[paid.provider_ref or ""].intent,
        status=IntentStatus.REQUIRES_ACTION,
        amount_received=0,
    )  # an older answer arriving late
    async with shop.uow() as uow:
        kept = await payments.apply_intent(uow, paid, stale, who="test", at=shop.clock.now())
    assert (kept.state, kept.captured) == (PaymentState.CAPTURED, paid.captured)
    assert shop.state.orders[done.result.order_id].payment_status is PaymentStatus.PAID


async def test_a_provider_outage_at_checkout_keeps_the_order_and_opens_later(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    gateway.fail_next(PaymentErrorCode.PROVIDER_UNAVAILABLE)
    done = await _checkout(shop, gateway)
    assert done.payment is not None and done.payment.state is PaymentState.PENDING
    (waiting,) = shop.state.payments.values()
    assert waiting.provider_ref is None  # nothing opened: the order and the payment are stored
    order = shop.state.orders[done.result.order_id]
    step = await payments.confirm_payment(
        shop.uow,
        gateway,
        GUEST,
        order_id=order.id,
        request=CARD,
        access_token=order.access_token,
        clock=shop.clock,
    )
    assert step.state is PaymentState.AUTHORISED
    assert len(gateway.intents) == 1  # the failed attempt opened nothing


async def test_a_declined_card_at_hand_over_time_refuses_the_hand_over(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    done = await _checkout(shop, gateway, PaymentRequest(Tender.CARD, "pm_card_declined"))
    order = shop.state.orders[done.result.order_id]
    (part,) = order.fulfilments
    ready = FulfilmentStep(part.id, FulfilmentStatus.READY)
    await fulfil(shop.uow, shop.clerk, step=ready, idempotency_key=None, clock=shop.clock)
    take = FulfilmentStep(part.id, FulfilmentStatus.PICKED_UP, code=part.pickup_code)
    with pytest.raises(DomainError) as refused:
        await fulfil(
            shop.uow, shop.clerk, step=take, idempotency_key=None, clock=shop.clock,
            payments=gateway,
        )  # fmt: skip
    assert refused.value.code == "PAYMENT_REQUIRED"
    after = shop.state.orders[order.id]
    assert after.status is OrderStatus.READY_FOR_PICKUP  # nothing moved
    assert after.fulfilments[0].status is FulfilmentStatus.READY


async def test_a_capture_outage_refuses_the_hand_over_and_a_retry_captures_once(
    shop: Shop,
) -> None:
    gateway = FakePaymentGateway()
    done = await _checkout(shop, gateway)
    order = shop.state.orders[done.result.order_id]
    (part,) = order.fulfilments
    ready = FulfilmentStep(part.id, FulfilmentStatus.READY)
    await fulfil(shop.uow, shop.clerk, step=ready, idempotency_key=None, clock=shop.clock)
    take = FulfilmentStep(part.id, FulfilmentStatus.PICKED_UP, code=part.pickup_code)
    gateway.fail_next(PaymentErrorCode.PROVIDER_UNAVAILABLE)
    with pytest.raises(DomainError) as outage:
        await fulfil(
            shop.uow, shop.clerk, step=take, idempotency_key="h", clock=shop.clock,
            payments=gateway,
        )  # fmt: skip
    assert outage.value.code == PaymentErrorCode.PROVIDER_UNAVAILABLE
    assert shop.state.orders[order.id].status is OrderStatus.READY_FOR_PICKUP
    await fulfil(
        shop.uow, shop.clerk, step=take, idempotency_key="h", clock=shop.clock, payments=gateway
    )
    after = shop.state.orders[order.id]
    assert (after.status, after.payment_status) == (OrderStatus.COMPLETED, PaymentStatus.PAID)
    (card,) = shop.state.payments.values()
    assert card.captured == order.total
    captures = {key for op, key in gateway.calls if op == "capture"}
    assert captures == {f"order:{order.id}:capture:f{part.id}"}  # the retry sent the same key
