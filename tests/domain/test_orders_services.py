"""Order use cases against the in-memory fakes: web checkout, a till sale, pick-up, cancel and
return, through the same domain functions the API calls. Assertions are on stock levels,
statuses, points, outbox events and error codes; locks and transactions stay with the
PostgreSQL tests."""

from __future__ import annotations

import pytest

from adapters.memory.shop import PRICES, STOCK, Shop, small_shop
from domain.cart import services as cart
from domain.cart.services import CartView, DeliveryChoice
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind
from domain.orders.checkout import CheckoutResult, checkout_complete
from domain.orders.model import Buyer, Order
from domain.orders.pos import TillSale, pos_sale
from domain.orders.returns import create_return
from domain.orders.services import FulfilmentStep, cancel, fulfil, release_expired
from domain.orders.states import FulfilmentStatus, OrderStatus, PaymentStatus

GUEST = Principal(PrincipalKind.ANONYMOUS)


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


async def pickup_cart(shop: Shop, quantity: int = 2) -> CartView:
    return await cart.create_cart(
        shop.uow,
        channel_handle="web",
        lines=[(shop.variant_ids[0], quantity)],
        buyer=Buyer(email="ada@example.com"),
        delivery=DeliveryChoice(method="PICKUP", location_id=shop.store_id),
        clock=shop.clock,
    )


async def checkout(shop: Shop, view: CartView, key: str | None = "k1") -> CheckoutResult:
    placed = await checkout_complete(
        shop.uow, GUEST, token=view.cart.token, idempotency_key=key, clock=shop.clock
    )
    return placed.result


async def till_sale(shop: Shop, quantity: int = 1, member_code: str | None = None) -> int:
    sale = TillSale(
        location_id=shop.store_id,
        lines=[(shop.variant_ids[0], quantity)],
        buyer=Buyer(),
        tender="CASH",
        member_code=member_code,
    )
    done = await pos_sale(shop.uow, shop.clerk, sale=sale, idempotency_key=None, clock=shop.clock)
    return done.order_id


def order(shop: Shop, order_id: int) -> Order:
    return shop.state.orders[order_id]


def topics(shop: Shop) -> list[str]:
    return [m.topic for m in shop.state.outbox.values()]


def store_stock(shop: Shop) -> tuple[int, int]:
    level = shop.stock(shop.variant_ids[0], shop.store_id)
    return level.on_hand, level.reserved


async def test_checkout_reserves_at_the_pickup_store_and_places_the_order(shop: Shop) -> None:
    view = await pickup_cart(shop)

    placed = await checkout(shop, view)

    placed_order = order(shop, placed.order_id)
    assert (placed_order.status, placed_order.payment_status) == (
        OrderStatus.PLACED,
        PaymentStatus.PENDING,
    )
    assert placed_order.total == 2 * PRICES[0] and placed.number == placed_order.number
    assert store_stock(shop) == (STOCK["store"], 2)
    assert [(r.location_id, r.quantity, r.status) for r in shop.state.reservations.values()] == [
        (shop.store_id, 2, "ACTIVE")
    ]
    (fulfilment,) = placed_order.fulfilments
    assert (fulfilment.location_id, fulfilment.status) == (shop.store_id, FulfilmentStatus.OPEN)
    assert shop.state.carts[view.cart.id].order_id == placed.order_id
    (event,) = shop.state.outbox.values()
    assert (event.topic, event.payload["total"], event.payload["channel"]) == (
        "order.placed",
        2 * PRICES[0],
        "web",
    )


async def test_a_replayed_checkout_returns_the_same_order(shop: Shop) -> None:
    view = await pickup_cart(shop)

    first = await checkout(shop, view)
    again = await checkout(shop, view)

    assert again == first
    assert len(shop.state.orders) == 1 and store_stock(shop) == (STOCK["store"], 2)


async def test_checkout_refuses_what_the_store_cannot_hold(shop: Shop) -> None:
    view = await pickup_cart(shop, quantity=STOCK["store"] + 1)

    with pytest.raises(DomainError) as refused:
        await checkout(shop, view)

    assert (refused.value.code, refused.value.field) == (
        "NOT_AVAILABLE_AT_STORE",
        "delivery.locationId",
    )
    assert shop.state.orders == {} and store_stock(shop) == (STOCK["store"], 0)
    assert topics(shop) == []


async def test_an_empty_cart_cannot_be_checked_out(shop: Shop) -> None:
    view = await cart.create_cart(
        shop.uow,
        channel_handle="web",
        lines=[],
        buyer=Buyer(email="ada@example.com"),
        delivery=None,
        clock=shop.clock,
    )

    with pytest.raises(DomainError) as refused:
        await checkout(shop, view)

    assert refused.value.code == "EMPTY_CART"


async def test_pickup_then_return_at_the_store(shop: Shop) -> None:
    placed = await checkout(shop, await pickup_cart(shop))
    (fulfilment,) = order(shop, placed.order_id).fulfilments

    for step in (
        FulfilmentStep(fulfilment.id, FulfilmentStatus.READY),
        FulfilmentStep(fulfilment.id, FulfilmentStatus.PICKED_UP, code=fulfilment.pickup_code),
    ):
        await fulfil(shop.uow, shop.clerk, step=step, idempotency_key=None, clock=shop.clock)
    served = order(shop, placed.order_id)
    assert (served.status, served.payment_status) == (OrderStatus.COMPLETED, PaymentStatus.PAID)
    assert store_stock(shop) == (STOCK["store"] - 2, 0)
    assert topics(shop) == [
        "order.placed",
        "order.ready_for_pickup",
        "order.picked_up",
        "order.completed",
    ]

    line = served.lines[0]
    returned = await create_return(
        shop.uow,
        shop.clerk,
        order_id=served.id,
        location_id=shop.store_id,
        lines={line.id: 1},
        restock=True,
        idempotency_key=None,
        clock=shop.clock,
    )

    assert returned.refund_due == PRICES[0]
    assert store_stock(shop) == (STOCK["store"] - 1, 0)
    assert order(shop, served.id).lines[0].returned_quantity == 1
    assert shop.state.returns[returned.return_id].refund_due == PRICES[0]


async def test_a_wrong_pickup_code_is_refused(shop: Shop) -> None:
    placed = await checkout(shop, await pickup_cart(shop))
    (fulfilment,) = order(shop, placed.order_id).fulfilments
    ready = FulfilmentStep(fulfilment.id, FulfilmentStatus.READY)
    await fulfil(shop.uow, shop.clerk, step=ready, idempotency_key=None, clock=shop.clock)

    wrong = FulfilmentStep(fulfilment.id, FulfilmentStatus.PICKED_UP, code="000000")
    with pytest.raises(DomainError) as refused:
        await fulfil(shop.uow, shop.clerk, step=wrong, idempotency_key=None, clock=shop.clock)

    assert (refused.value.code, refused.value.field) == ("WRONG_CODE", "code")

    assert store_stock(shop) == (STOCK["store"], 2)
    assert order(shop, placed.order_id).fulfilments[0].status == FulfilmentStatus.READY


async def test_a_guest_cancels_with_the_order_token_and_the_stock_is_released(shop: Shop) -> None:
    placed = await checkout(shop, await pickup_cart(shop))

    with pytest.raises(DomainError) as stranger:
        await cancel(
            shop.uow,
            GUEST,
            order_id=placed.order_id,
            reason="changed my mind",
            idempotency_key=None,
            clock=shop.clock,
            access_token="not the token",
        )
    await cancel(
        shop.uow,
        GUEST,
        order_id=placed.order_id,
        reason="changed my mind",
        idempotency_key=None,
        clock=shop.clock,
        access_token=placed.access_token,
    )

    assert stranger.value.code == "PERMISSION_DENIED"
    assert order(shop, placed.order_id).status == OrderStatus.CANCELLED
    assert store_stock(shop) == (STOCK["store"], 0)
    assert [r.status for r in shop.state.reservations.values()] == ["RELEASED"]
    assert topics(shop)[-1] == "order.cancelled"


async def test_expired_reservations_cancel_unpaid_orders(shop: Shop) -> None:
    placed = await checkout(shop, await pickup_cart(shop))

    assert await release_expired(shop.uow, clock=shop.clock) == 0
    shop.clock.advance(days=4)  # a pick-up is held 3 days
    assert await release_expired(shop.uow, clock=shop.clock) == 1

    assert order(shop, placed.order_id).status == OrderStatus.CANCELLED
    assert store_stock(shop) == (STOCK["store"], 0)


async def test_a_till_sale_takes_the_stock_and_completes_the_order(shop: Shop) -> None:
    order_id = await till_sale(shop, quantity=2)

    sold = order(shop, order_id)
    assert (sold.status, sold.payment_status, sold.channel_handle) == (
        OrderStatus.COMPLETED,
        PaymentStatus.PAID,
        shop.till.handle,
    )
    assert sold.attributed_location_id == shop.store_id
    assert store_stock(shop) == (STOCK["store"] - 2, 0)
    assert shop.stock(shop.variant_ids[0], shop.warehouse_id).on_hand == STOCK["warehouse"]
    assert [m.kind for m in shop.state.movements.values()][-1] == "SALE"


async def test_a_till_sale_to_a_member_earns_points_and_a_return_takes_them_back(
    shop: Shop,
) -> None:
    member = await shop.add_member()
    member_code = shop.state.members[member].member_code

    order_id = await till_sale(shop, quantity=2, member_code=member_code)

    assert order(shop, order_id).member_id == member
    assert order(shop, order_id).points_earned == 59  # 59.80 EUR, one point per euro
    assert "points.earned" in topics(shop)
    assert shop.state.members[member].tags[:2] == (
        f"store:{shop.store_id}",
        f"clerk:{shop.clerk.staff_id}",
    )
    returned = await create_return(
        shop.uow,
        shop.clerk,
        order_id=order_id,
        location_id=shop.store_id,
        lines={order(shop, order_id).lines[0].id: 2},
        restock=False,
        idempotency_key=None,
        clock=shop.clock,
    )

    assert returned.refund_due == 2 * PRICES[0]
    assert store_stock(shop) == (STOCK["store"] - 2, 0)  # written off, not restocked
    balance = sum(s.lot.remaining for s in shop.state.lots.values() if s.member_id == member)
    assert balance == 0


async def test_refused_till_sales_leave_no_trace(shop: Shop) -> None:
    def sale(quantity: int = 1, member_code: str | None = None, points: int = 0) -> TillSale:
        return TillSale(
            location_id=shop.store_id,
            lines=[(shop.variant_ids[0], quantity)],
            buyer=Buyer(),
            tender="CASH",
            member_code=member_code,
            points_to_redeem=points,
        )

    for principal, refused_sale, code in (
        (shop.clerk, sale(quantity=STOCK["store"] + 1), "OUT_OF_STOCK"),
        (shop.clerk, sale(member_code="000000000000"), "NOT_FOUND"),
        (shop.clerk, sale(points=100), "INVALID"),
        (shop.member(1), sale(), "PERMISSION_DENIED"),
    ):
        with pytest.raises(DomainError) as refused:
            await pos_sale(
                shop.uow, principal, sale=refused_sale, idempotency_key=None, clock=shop.clock
            )
        assert refused.value.code == code
    assert shop.state.orders == {} and topics(shop) == []
    assert store_stock(shop) == (STOCK["store"], 0)
