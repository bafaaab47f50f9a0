"""Reservations of unpaid orders expire and give their stock back; paid orders keep theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.db import models as m
from app import sweep_reservations
from domain.orders import services as order_services
from tests.api.test_orders import CHECKOUT, _ledger_agrees, _pickup_cart
from tests.factories import make_world


class LaterClock:
    def __init__(self, days: int) -> None:
        self.at = datetime.now(UTC) + timedelta(days=days)

    def now(self) -> datetime:
        return self.at


async def test_expired_reservations_are_released_and_orders_cancelled(gql, services):
    world = await make_world(products=1)
    unpaid = await _pickup_cart(gql, world, quantity=1)
    paid = await _pickup_cart(gql, world, quantity=1)
    first = (await gql(CHECKOUT, {"cart": unpaid["id"], "key": "a"}))["data"]["checkoutComplete"]
    second = (await gql(CHECKOUT, {"cart": paid["id"], "key": "b"}))["data"]["checkoutComplete"]
    paid_id = int(
        await m.Order.filter(number=second["order"]["number"]).first().values_list("id", flat=True)
    )
    await m.Order.filter(id=paid_id).update(payment_status="PAID", status="PAID")
    assert (
        await m.Stock.get(variant_id=world.variants[0].id, location_id=world.part_dieu.id)
    ).reserved == 2

    await sweep_reservations(services, forever=False)  # nothing expired yet
    assert await m.Order.filter(status="CANCELLED").count() == 0
    released = await order_services.release_expired(services.uow, clock=LaterClock(days=4))
    assert released == 1
    cancelled = await m.Order.get(number=first["order"]["number"])
    assert cancelled.status == "CANCELLED"
    stock = await m.Stock.get(variant_id=world.variants[0].id, location_id=world.part_dieu.id)
    assert stock.reserved == 1  # the paid order still holds its unit
    assert await order_services.release_expired(services.uow, clock=LaterClock(days=4)) == 0
    await _ledger_agrees()


async def test_an_expired_order_gives_back_the_points_it_spent(gql, services, settings):
    """Expiry undoes an order the same way a cancel does: stock and points come back."""
    from schema.relay import to_global_id
    from tests.api.test_orders import CREATE
    from tests.api.test_points import APPLY, _member
    from tests.factories import staff_token

    world = await make_world(products=1)
    token = (await _member(gql, world))["accessToken"]
    member = await m.Member.get(email="ada@example.com")
    owner = await staff_token(settings.secret_key)
    adjust = 'mutation($m: ID!, $p: Int!) { pointsAdjust(memberId: $m, points: $p, reason: "gift") { pointsBalance } }'
    await gql(adjust, {"m": to_global_id("Member", member.id), "p": 1000}, token=owner)
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 1}],
        "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
    }
    cart = (await gql(CREATE, {"input": data}, token=token))["data"]["cartCreate"]["cart"]
    await gql(APPLY, {"c": cart["id"], "p": 400}, token=token)
    placed = await gql(CHECKOUT, {"cart": cart["id"], "key": "x"}, token=token)
    assert placed["data"]["checkoutComplete"]["userErrors"] == []
    balance = "{ me { pointsBalance } }"
    assert (await gql(balance, token=token))["data"]["me"]["pointsBalance"] == 600

    assert await order_services.release_expired(services.uow, clock=LaterClock(days=4)) == 1
    assert (await gql(balance, token=token))["data"]["me"]["pointsBalance"] == 1000
    expired = await m.OrderEvent.filter(kind="EXPIRED").count()
    assert expired == 1
    await _ledger_agrees()
