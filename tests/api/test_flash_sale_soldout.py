"""Flash sales: a sold-out checkout is answered from the availability counter without a
transaction; the counter rises again when units come back; the database still decides every
sale (no oversell under concurrency); an automatic promotion without a limit locks no row."""

from __future__ import annotations

import asyncio

from tortoise import connections

from adapters.db import models as m
from adapters.db.inventory_repositories import TortoiseInventoryRepository
from adapters.stock_counter import stock_counter_for
from domain.inventory.model import StockLevel
from tests.api.querycount import count_queries
from tests.api.test_orders import CHECKOUT, CREATE
from tests.factories import make_world, staff_token

CANCEL = """mutation($o: ID!, $t: String) { orderCancel(orderId: $o, accessToken: $t, reason: "changed my mind") {
  order { status } userErrors { code } } }"""
PROMO = """mutation($i: PromotionInput!) { promotionCreate(input: $i) { promotionId userErrors { code } } }"""
PROMO_UPDATE = """mutation($id: ID!, $i: PromotionInput!) { promotionUpdate(id: $id, input: $i) { promotionId userErrors { code } } }"""


async def _only(world, units: int) -> m.Variant:
    """The world's first variant with ``units`` at the warehouse and nothing elsewhere."""
    variant = world.variants[0]
    await m.Stock.filter(variant_id=variant.id).update(on_hand=0, reserved=0, safety_stock=0)
    await m.Stock.filter(variant_id=variant.id, location_id=world.warehouse.id).update(
        on_hand=units
    )
    return variant


async def _cart(gql, world, variant, i: int = 0) -> str:
    data = {
        "lines": [{"merchandiseId": world.gid(variant), "quantity": 1}],
        "buyerIdentity": {"email": f"buyer{i}@example.com"},
        "delivery": {"method": "SHIP", "address": {"city": "Lyon"}},
    }
    body = await gql(CREATE, {"input": data})
    return str(body["data"]["cartCreate"]["cart"]["id"])


async def _checkout(gql, cart: str, key: str) -> dict:
    body = await gql(CHECKOUT, {"cart": cart, "key": key})
    assert "errors" not in body, body
    return dict(body["data"]["checkoutComplete"])


def _keys(world, variant) -> list[tuple[int, int]]:
    return [(variant.id, loc.id) for loc in (world.warehouse, world.part_dieu, world.bellecour)]


async def test_sold_out_is_answered_without_a_transaction(gql, services):
    world = await make_world(products=1, variants_per_product=1)
    variant = await _only(world, 1)
    # no stock row at all at one of the channel's locations: the counter counts it as 0
    await m.Stock.filter(variant_id=variant.id, location_id=world.bellecour.id).delete()
    first, second = await _cart(gql, world, variant, 1), await _cart(gql, world, variant, 2)
    assert (await _checkout(gql, first, "k1"))["order"] is not None
    counter = stock_counter_for(services.kv)
    assert counter is not None
    assert await counter.available(_keys(world, variant)) == dict.fromkeys(_keys(world, variant), 0)
    with count_queries() as seen:
        refused = await _checkout(gql, second, "k2")
    assert refused["order"] is None
    assert [e["code"] for e in refused["userErrors"]] == ["OUT_OF_STOCK"]
    # one read of the cart's lines and channel; no transaction: no idempotency claim, no lock
    assert len(seen) == 1 and seen[0].lstrip().upper().startswith("SELECT"), seen
    assert await m.IdempotencyRecord.all().count() == 1  # the first checkout's only


async def test_the_counter_rises_when_a_cancel_gives_units_back(gql, services):
    world = await make_world(products=1, variants_per_product=1)
    variant = await _only(world, 1)
    first, second = await _cart(gql, world, variant, 1), await _cart(gql, world, variant, 2)
    placed = await _checkout(gql, first, "k1")
    assert (await _checkout(gql, second, "k2"))["userErrors"][0]["code"] == "OUT_OF_STOCK"
    counter = stock_counter_for(services.kv)
    assert counter is not None
    warehouse = (variant.id, world.warehouse.id)
    assert (await counter.available([warehouse])) == {warehouse: 0}
    cancelled = await gql(CANCEL, {"o": placed["order"]["id"], "t": placed["orderAccessToken"]})
    assert cancelled["data"]["orderCancel"]["order"]["status"] == "CANCELLED"
    assert (await counter.available([warehouse])) == {warehouse: 1}
    again = await _checkout(gql, second, "k3")
    assert again["userErrors"] == [] and again["order"] is not None
    assert (await counter.available([warehouse])) == {warehouse: 0}


async def test_a_checkout_answers_the_order_its_transaction_wrote(gql, services):
    world = await make_world(products=1, variants_per_product=1)
    variant = await _only(world, 3)
    cart = await _cart(gql, world, variant)
    placed = await _checkout(gql, cart, "k1")
    order = placed["order"]
    stored = await m.Order.get(number=order["number"])
    assert len(order["lines"]) == await m.OrderLine.filter(order_id=stored.id).count()
    assert len(order["fulfilments"]) == await m.Fulfilment.filter(order_id=stored.id).count()
    # a replay reads the committed order: the first answer was the same
    replay = await _checkout(gql, cart, "k1")
    assert replay == placed


async def test_concurrent_checkouts_never_oversell(gql, services):
    world = await make_world(products=1, variants_per_product=1)
    variant = await _only(world, 5)
    carts = [await _cart(gql, world, variant, i) for i in range(50)]
    answers = await asyncio.gather(*(_checkout(gql, c, f"k{i}") for i, c in enumerate(carts)))
    sold = [a for a in answers if a["order"] is not None]
    refused = sorted(a["userErrors"][0]["code"] for a in answers if a["order"] is None)
    assert len(sold) == 5
    assert refused == ["OUT_OF_STOCK"] * 45
    stock = await m.Stock.get(variant_id=variant.id, location_id=world.warehouse.id)
    assert (stock.on_hand, stock.reserved) == (5, 5)
    assert await m.Order.all().count() == 5
    held = await m.Reservation.filter(variant_id=variant.id, status="ACTIVE")
    assert sum(r.quantity for r in held) == 5


async def test_an_unlimited_automatic_promotion_locks_no_row(gql, services, settings):
    world = await make_world(products=1, variants_per_product=1)
    variant = await _only(world, 10)
    owner = await staff_token(settings.secret_key)
    promo = {"name": "Flash 10 %", "kind": "PERCENTAGE", "percent": 10}
    created = (await gql(PROMO, {"i": promo}, token=owner))["data"]["promotionCreate"]
    assert created["userErrors"] == []
    cart = await _cart(gql, world, variant)
    with count_queries() as seen:
        placed = await _checkout(gql, cart, "k1")
    assert placed["order"] is not None
    touching = [q for q in seen if '"promotion"' in q and "promotion_use" not in q]
    # read once with the live promotions; never read by id, locked or written
    assert len(touching) == 1 and "FOR UPDATE" not in touching[0].upper(), touching
    assert not any(q.lstrip().upper().startswith("UPDATE") for q in touching)
    assert await m.PromotionUse.all().count() == 1

    # a limit set later counts the uses made without one
    limited = {**promo, "usageLimit": 2}
    updated = await gql(PROMO_UPDATE, {"id": created["promotionId"], "i": limited}, token=owner)
    assert updated["data"]["promotionUpdate"]["userErrors"] == []
    row = await m.Promotion.get(id=int(await _promotion_id()))
    assert (row.usage_limit, row.used_count) == (2, 1)
    with count_queries() as seen:
        second = await _checkout(gql, await _cart(gql, world, variant, 2), "k2")
    assert second["order"] is not None
    locked = [q for q in seen if '"promotion"' in q and "promotion_use" not in q]
    assert any(q.lstrip().upper().startswith("UPDATE") for q in locked)  # counted, under lock
    if connections.get("default").capabilities.dialect == "postgres":
        assert any("FOR UPDATE" in q.upper() for q in locked)
    refused = await _checkout(gql, await _cart(gql, world, variant, 3), "k3")
    assert refused["userErrors"][0]["code"] == "CODE_USAGE_LIMIT_REACHED"


async def _promotion_id() -> int:
    return int((await m.Promotion.all().first()).id)  # type: ignore[union-attr]


async def test_an_order_routed_on_stale_stock_is_placed_again_locking_first(
    gql, services, monkeypatch
):
    world = await make_world(products=1, variants_per_product=1)
    variant = await _only(world, 0)
    await m.Stock.filter(variant_id=variant.id, location_id=world.part_dieu.id).update(on_hand=2)
    cart = await _cart(gql, world, variant)
    real = TortoiseInventoryRepository.levels
    calls: list[int] = []

    async def stale_once(self, variant_ids, *, publish=()):  # type: ignore[no-untyped-def]
        found = await real(self, variant_ids, publish=publish)
        calls.append(1)
        if len(calls) == 1:  # the routing read still sees the warehouse stocked, not the store
            return {
                v: [
                    StockLevel(
                        lv.location_id, 2 if lv.location_id == world.warehouse.id else 0, 0, 0
                    )
                    for lv in levels
                ]
                for v, levels in found.items()
            }
        return found

    monkeypatch.setattr(TortoiseInventoryRepository, "levels", stale_once)
    placed = await _checkout(gql, cart, "k1")
    assert placed["userErrors"] == [] and placed["order"] is not None
    stock = {
        s.location_id: (s.on_hand, s.reserved) for s in await m.Stock.filter(variant_id=variant.id)
    }
    assert stock[world.part_dieu.id] == (2, 1) and stock[world.warehouse.id] == (0, 0)
    assert await m.Order.all().count() == 1  # the first attempt rolled back
