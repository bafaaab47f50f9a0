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
