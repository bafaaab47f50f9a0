"""Inventory mutations: ledger, idempotency, compare-and-set, transfers, cache invalidation."""

from __future__ import annotations

import asyncio
import time

from adapters.db import models as m
from tests.factories import make_world, staff_token

ADJUST = """mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) {
  inventoryLevel { onHand reserved available } userErrors { field code message } } }"""
SET = """mutation($input: InventorySetInput!) { inventorySet(input: $input) {
  inventoryLevel { onHand safetyStock available } userErrors { field code message } } }"""
TRANSFER = """mutation($input: InventoryTransferInput!) { inventoryTransfer(input: $input) {
  source { onHand } destination { onHand } userErrors { field code message } } }"""


async def _ledger_matches_stock() -> None:
    for stock in await m.Stock.all():
        moves = await m.StockMovement.filter(
            variant_id=stock.variant_id, location_id=stock.location_id
        )
        assert (
            sum(x.delta for x in moves)
            == stock.on_hand - _initial[(stock.variant_id, stock.location_id)]
        )


_initial: dict = {}


async def _snapshot() -> None:
    _initial.clear()
    for stock in await m.Stock.all():
        _initial[(stock.variant_id, stock.location_id)] = stock.on_hand


async def test_adjust_is_idempotent_and_refuses_key_reuse(gql, settings):
    world = await make_world(products=1)
    await _snapshot()
    gql.token = await staff_token(settings.secret_key)
    data = {
        "variantId": world.gid(world.variants[0]),
        "locationId": world.gid(world.warehouse),
        "delta": 5,
        "reason": "received",
        "idempotencyKey": "po-1001",
    }
    first = await gql(ADJUST, {"input": data})
    assert first["data"]["inventoryAdjust"]["inventoryLevel"]["onHand"] == 15
    replay = await gql(ADJUST, {"input": data})
    assert replay["data"] == first["data"]
    assert (
        await m.Stock.get(variant_id=world.variants[0].id, location_id=world.warehouse.id)
    ).on_hand == 15
    reused = await gql(ADJUST, {"input": {**data, "delta": 6}})
    error = reused["data"]["inventoryAdjust"]["userErrors"][0]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED" and error["field"] == ["idempotencyKey"]
    assert await m.StockMovement.all().count() == 1
    await _ledger_matches_stock()


async def test_bad_adjustments_store_nothing(gql, settings):
    world = await make_world(products=1)
    await _snapshot()
    gql.token = await staff_token(settings.secret_key)
    base = {
        "variantId": world.gid(world.variants[0]),
        "locationId": world.gid(world.part_dieu),
        "reason": "damaged",
    }
    cases = [
        ({**base, "delta": -4}, "NEGATIVE_STOCK"),
        ({**base, "delta": 0}, "INVALID_QUANTITY"),
        ({**base, "delta": 1, "reason": " "}, "REASON_REQUIRED"),
        ({**base, "delta": 1, "variantId": world.gid(world.products[0])}, "INVALID_ID"),
        ({**base, "delta": 1, "locationId": "garbage"}, "INVALID_ID"),
    ]
    for data, code in cases:
        body = await gql(ADJUST, {"input": data})
        assert body["data"]["inventoryAdjust"]["userErrors"][0]["code"] == code, (data, body)
    assert await m.StockMovement.all().count() == 0
    await _ledger_matches_stock()


async def test_set_with_compare_and_set_and_transfer(gql, settings):
    world = await make_world(products=1)
    await _snapshot()
    gql.token = await staff_token(settings.secret_key)
    target = {"variantId": world.gid(world.variants[0]), "locationId": world.gid(world.part_dieu)}
    stale = await gql(SET, {"input": {**target, "quantity": 7, "expectedQuantity": 99}})
    assert stale["data"]["inventorySet"]["userErrors"][0]["code"] == "QUANTITY_MISMATCH"
    ok = await gql(
        SET, {"input": {**target, "quantity": 7, "expectedQuantity": 3, "safetyStock": 1}}
    )
    assert ok["data"]["inventorySet"]["inventoryLevel"] == {
        "onHand": 7,
        "safetyStock": 1,
        "available": 6,
    }
    move = {
        "variantId": target["variantId"],
        "fromLocationId": world.gid(world.warehouse),
        "toLocationId": world.gid(world.bellecour),
        "quantity": 4,
    }
    body = await gql(TRANSFER, {"input": move})
    assert body["data"]["inventoryTransfer"]["source"]["onHand"] == 6
    assert body["data"]["inventoryTransfer"]["destination"]["onHand"] == 4
    too_many = await gql(TRANSFER, {"input": {**move, "quantity": 100}})
    assert too_many["data"]["inventoryTransfer"]["userErrors"][0]["code"] == "INSUFFICIENT_STOCK"
    same = await gql(TRANSFER, {"input": {**move, "toLocationId": move["fromLocationId"]}})
    assert same["data"]["inventoryTransfer"]["userErrors"][0]["code"] == "SAME_LOCATION"
    await _ledger_matches_stock()
    kinds = sorted(x.kind for x in await m.StockMovement.all())
    assert kinds == ["COUNT", "TRANSFER_IN", "TRANSFER_OUT"]


QTY = """{ products(first: 1) { nodes { variants { nodes { quantityAvailable
  price { amount } } } } } }"""


async def test_anonymous_reads_are_cached_and_invalidated_by_changes(gql, settings):
    world = await make_world(products=1)
    first = await gql.raw(QTY, token="")
    assert first.headers["x-cache"] == "MISS"
    second = await gql.raw(QTY, token="")
    assert second.headers["x-cache"] == "HIT" and second.content == first.content
    token = await staff_token(settings.secret_key)
    data = {
        "variantId": world.gid(world.variants[0]),
        "locationId": world.gid(world.warehouse),
        "delta": 2,
        "reason": "received",
    }
    await gql(ADJUST, {"input": data}, token=token)
    changed_at = time.monotonic()
    while True:  # stock changes are coalesced: fresh within a second
        after = await gql.raw(QTY, token="")
        node = after.json()["data"]["products"]["nodes"][0]["variants"]["nodes"][0]
        if node["quantityAvailable"] == 15:
            break
        assert time.monotonic() - changed_at < 1.0, "stale for more than a second"
        await asyncio.sleep(0.05)
    assert after.headers["x-cache"] == "MISS"
    # a burst of stock changes (a sale) invalidates the cache at most once per second
    fresh_at = time.monotonic()
    await gql(ADJUST, {"input": {**data, "delta": 1}}, token=token)
    await gql(ADJUST, {"input": {**data, "delta": 1}}, token=token)
    burst = await gql.raw(QTY, token="")
    if time.monotonic() - fresh_at < 0.8:  # still inside the second after the last refresh
        assert burst.headers["x-cache"] == "HIT"
    while True:
        now = await gql.raw(QTY, token="")
        node = now.json()["data"]["products"]["nodes"][0]["variants"]["nodes"][0]
        if node["quantityAvailable"] == 17:
            break
        assert time.monotonic() - fresh_at < 1.5, "stale for more than a second after the burst"
        await asyncio.sleep(0.05)
    prices = """mutation($p: [PriceInput!]!) { priceBulkSet(prices: $p) { count
      userErrors { field code } } }"""
    body = await gql(
        prices,
        {"p": [{"variantId": data["variantId"], "amount": "24.50", "currencyCode": "EUR"}]},
        token=token,
    )
    assert body["data"]["priceBulkSet"]["count"] == 1
    after = await gql.raw(QTY, token="")
    assert after.json()["data"]["products"]["nodes"][0]["variants"]["nodes"][0]["price"] == {
        "amount": "24.50"
    }
    # staff reads are never served from the shared cache
    staff = await gql.raw(QTY, token=token)
    assert staff.headers.get("x-cache") is None


async def test_a_lost_cache_version_never_serves_old_bodies(services):
    kv = services.kv
    first = await kv.version()
    await kv.set("probe", b"old", ttl_seconds=60)
    if hasattr(kv, "client"):  # Redis: the version key is lost (restart without persistence)
        from adapters.kv import VERSION_KEY

        await kv.client.delete(VERSION_KEY)
        assert await kv.version() != first
    await kv.bump_version()
    assert await kv.version() != first


async def test_on_hand_never_falls_below_what_orders_hold(gql, settings):
    from tests.api.test_orders import CHECKOUT, _pickup_cart

    world = await make_world(products=1)
    cart = await _pickup_cart(gql, world, quantity=2)  # 2 of Part-Dieu's 3 units are held
    assert (await gql(CHECKOUT, {"cart": cart["id"], "key": "r"}))["data"]["checkoutComplete"][
        "userErrors"
    ] == []
    token = await staff_token(settings.secret_key)
    where = {"variantId": world.gid(world.variants[0]), "locationId": world.gid(world.part_dieu)}
    counted = {**where, "quantity": 1, "reason": "cycle_count"}
    body = (await gql(SET, {"input": counted}, token=token))["data"]["inventorySet"]
    assert (body["inventoryLevel"], body["userErrors"][0]["code"]) == (None, "BELOW_RESERVED")
    removed = {**where, "delta": -2, "reason": "damaged"}
    body = (await gql(ADJUST, {"input": removed}, token=token))["data"]["inventoryAdjust"]
    assert body["userErrors"][0]["code"] == "BELOW_RESERVED"
    row = await m.Stock.get(variant_id=world.variants[0].id, location_id=world.part_dieu.id)
    assert (row.on_hand, row.reserved) == (3, 2)
    ok = (await gql(SET, {"input": {**counted, "quantity": 2}}, token=token))["data"]
    assert ok["inventorySet"]["inventoryLevel"]["onHand"] == 2
