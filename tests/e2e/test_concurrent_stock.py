"""50 concurrent inventoryAdjust calls on one stock row from two server processes end at the
exact sum (PostgreSQL row locks; SQLite does not lock rows, so this runs on PostgreSQL only)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from adapters.db import models as m
from adapters.db.database import is_postgres
from tests.e2e.servers import running_servers
from tests.factories import make_world, staff_token

pytestmark = pytest.mark.e2e

ADJUST = """mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) {
  inventoryLevel { onHand } userErrors { code } } }"""


async def test_concurrent_adjustments_from_two_processes_end_at_the_exact_sum(db, settings):
    if not is_postgres(settings.database_url):
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite does not lock rows")
    world = await make_world(products=1)
    token = await staff_token(settings.secret_key)
    variant, location = world.variants[0], world.warehouse
    before = (await m.Stock.get(variant_id=variant.id, location_id=location.id)).on_hand
    deltas = [(i % 7) - 2 or 3 for i in range(50)]  # mixed signs, never below zero overall
    env = {
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": str(settings.secret_key),
        "DATA_DIR": str(settings.data_dir),
        **({"REDIS_URL": settings.redis_url} if settings.redis_url else {}),
    }
    with running_servers(2, env) as urls:
        async with httpx.AsyncClient(timeout=30) as http:

            async def call(i: int, delta: int) -> dict:
                data = {
                    "variantId": world.gid(variant),
                    "locationId": world.gid(location),
                    "delta": delta,
                    "reason": "correction",
                    "idempotencyKey": f"k-{i}",
                }
                response = await http.post(
                    f"{urls[i % 2]}/graphql",
                    json={"query": ADJUST, "variables": {"input": data}},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200, response.text
                return response.json()["data"]["inventoryAdjust"]

            results = await asyncio.gather(*(call(i, d) for i, d in enumerate(deltas)))
    assert all(r["userErrors"] == [] for r in results), results
    after = (await m.Stock.get(variant_id=variant.id, location_id=location.id)).on_hand
    assert after == before + sum(deltas)
    moves = await m.StockMovement.filter(variant_id=variant.id, location_id=location.id)
    assert len(moves) == 50 and sum(x.delta for x in moves) == sum(deltas)
    # the ledger's running balance ends where the row ends: no update was lost in between
    assert max(moves, key=lambda x: x.id).on_hand_after == after
