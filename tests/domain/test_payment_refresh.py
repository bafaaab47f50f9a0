"""A lost webhook: the provider took the money but never told us. The worker reads quiet
waiting payments back from the provider and applies what it says, forward only."""

from __future__ import annotations

from adapters.memory.shop import small_shop
from adapters.payments.fake import FakePaymentGateway
from domain.orders.states import OrderStatus, PaymentStatus
from domain.payments.model import PaymentRequest, PaymentState, Tender
from domain.payments.refresh import refresh_unsettled
from tests.domain.test_payment_services import _checkout


async def test_a_payment_whose_webhook_was_lost_is_read_back() -> None:
    shop = await small_shop()
    gateway = FakePaymentGateway()
    done = await _checkout(shop, gateway, PaymentRequest(Tender.ALIPAY), method="SHIP")
    (waiting,) = shop.state.payments.values()
    assert waiting.state is PaymentState.REQUIRES_ACTION
    gateway.complete_action(waiting.provider_ref or "")  # paid at Alipay; no webhook arrives

    assert await refresh_unsettled(shop.uow, gateway, clock=shop.clock) == 0  # not quiet yet
    assert shop.state.payments[waiting.id].state is PaymentState.REQUIRES_ACTION

    shop.clock.advance(minutes=6)
    assert await refresh_unsettled(shop.uow, gateway, clock=shop.clock) == 1
    order = shop.state.orders[done.result.order_id]
    assert shop.state.payments[waiting.id].state is PaymentState.CAPTURED
    assert (order.status, order.payment_status) == (OrderStatus.PAID, PaymentStatus.PAID)
    # settled: not read again
    shop.clock.advance(minutes=6)
    reads = [op for op, _ in gateway.calls].count("retrieve")
    assert await refresh_unsettled(shop.uow, gateway, clock=shop.clock) == 0
    assert [op for op, _ in gateway.calls].count("retrieve") == reads


async def test_an_abandoned_payment_is_read_at_most_once_per_quiet_period() -> None:
    shop = await small_shop()
    gateway = FakePaymentGateway()
    await _checkout(shop, gateway, PaymentRequest(Tender.CARD), method="SHIP")  # no token
    shop.clock.advance(minutes=6)
    assert await refresh_unsettled(shop.uow, gateway, clock=shop.clock) == 0  # still waiting
    reads = [op for op, _ in gateway.calls].count("retrieve")
    assert await refresh_unsettled(shop.uow, gateway, clock=shop.clock) == 0
    assert [op for op, _ in gateway.calls].count("retrieve") == reads  # quiet again first
