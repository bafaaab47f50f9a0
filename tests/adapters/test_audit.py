"""`app.py audit`: the ledgers agree after real flows, and a difference is reported."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from adapters.db import models as m
from adapters.db.audit import audit
from tests.api.test_order_money import DELIVER, PAID, RETURN, SHIP, _shipped_order
from tests.api.test_orders import CHECKOUT, _pickup_cart
from tests.factories import make_world, staff_token

ROOT = Path(__file__).resolve().parents[2]


async def _received(world) -> None:
    """The factories put stock on shelves directly; record it as received, as the seed does."""
    for row in await m.Stock.all():
        if row.on_hand:
            await m.StockMovement.create(
                variant_id=row.variant_id,
                location_id=row.location_id,
                kind="RECEIPT",
                delta=row.on_hand,
                on_hand_after=row.on_hand,
                reason="test stock",
                actor="test",
            )


async def test_ledgers_agree_after_orders_cancels_and_returns(gql, settings):
    world = await make_world(products=2)
    await _received(world)
    owner = await staff_token(settings.secret_key)
    kept = await _pickup_cart(gql, world)
    await gql(CHECKOUT, {"cart": kept["id"], "key": "a"})
    dropped = await _pickup_cart(gql, world)
    placed = (await gql(CHECKOUT, {"cart": dropped["id"], "key": "b"}))["data"]
    cancel = "mutation($o: ID!) { orderCancel(orderId: $o) { userErrors { code } } }"
    await gql(cancel, {"o": placed["checkoutComplete"]["order"]["id"]}, token=owner)
    shipped = await _shipped_order(gql, world, [(world.variants[1], 2)])
    await gql(PAID, {"o": shipped["id"]}, token=owner)
    await gql(SHIP, {"f": shipped["fulfilments"][0]["id"]}, token=owner)
    await gql(DELIVER, {"f": shipped["fulfilments"][0]["id"], "c": False}, token=owner)
    lines = "query($id: ID!) { order(id: $id) { lines { id } } }"
    line = (await gql(lines, {"id": shipped["id"]}, token=owner))["data"]["order"]["lines"][0]
    ret = {
        "orderId": shipped["id"],
        "locationId": world.gid(world.bellecour),
        "lines": [{"orderLineId": line["id"], "quantity": 1}],
    }
    assert (await gql(RETURN, {"i": ret}, token=owner))["data"]["orderReturnCreate"][
        "userErrors"
    ] == []
    assert await audit() == []


async def test_a_difference_is_reported_and_fails_the_command(db, settings):
    world = await make_world(products=1)
    await _received(world)
    assert await audit() == []
    row = await m.Stock.get(variant_id=world.variants[0].id, location_id=world.warehouse.id)
    await m.Stock.filter(id=row.id).update(on_hand=row.on_hand + 1)  # a unit from nowhere
    found = await audit()
    assert [(d.ledger, d.detail) for d in found] == [
        ("stock", f"movements {row.on_hand} != on hand {row.on_hand + 1}")
    ]
    env = {**os.environ, "DATA_DIR": str(settings.data_dir), "SECRET_KEY": str(settings.secret_key)}
    if settings.database_url.startswith("postgres"):
        env["DATABASE_URL"] = settings.database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "app.py",
        "audit",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 1, out + err
    assert b"1 differences" in out
