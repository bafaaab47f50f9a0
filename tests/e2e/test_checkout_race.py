"""Zero oversell: 200 concurrent checkouts for 50 units through 3 server processes on
PostgreSQL; exactly 50 succeed, the rest get OUT_OF_STOCK, and stock, reservations and the
movement ledger agree (SQLite does not lock rows, so this runs on PostgreSQL only)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from adapters.db import models as m
from adapters.db.database import is_postgres
from tests.e2e.servers import running_servers
from tests.factories import make_world

pytestmark = pytest.mark.e2e

CREATE = """mutation($input: CartInput!) { cartCreate(input: $input) { cart { id } userErrors { code } } }"""
CHECKOUT = """mutation($c: ID!, $k: String!) { checkoutComplete(cartId: $c, idempotencyKey: $k) {
  order { id } userErrors { code } } }"""
BUYERS, UNITS = 200, 50


async def test_concurrent_checkouts_never_oversell(db, settings):
    if not is_postgres(settings.database_url):
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite does not lock rows")
    world = await make_world(products=1, variants_per_product=1)
    variant = world.variants[0]
    await m.Stock.filter(variant_id=variant.id).update(on_hand=0)
    await m.Stock.filter(variant_id=variant.id, location_id=world.warehouse.id).update(
        on_hand=UNITS
    )
    env = {
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": str(settings.secret_key),
        "DATA_DIR": str(settings.data_dir),
        "RATE_LIMIT_ANONYMOUS": "1000000",
        **({"REDIS_URL": settings.redis_url} if settings.redis_url else {}),
    }
    with running_servers(3, env) as urls:
        limits = httpx.Limits(max_connections=BUYERS)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:

            async def post(i: int, query: str, variables: dict) -> dict:
                response = await http.post(
                    f"{urls[i % 3]}/graphql", json={"query": query, "variables": variables}
                )
                assert response.status_code == 200, response.text
                return response.json()["data"]

            lines = [{"merchandiseId": world.gid(variant), "quantity": 1}]
            carts = []
            for i in range(BUYERS):
                data = {
                    "lines": lines,
                    "buyerIdentity": {"email": f"buyer{i}@example.com"},
                    "delivery": {"method": "SHIP", "address": {"city": "Lyon"}},
                }
                carts.append((await post(i, CREATE, {"input": data}))["cartCreate"]["cart"]["id"])
            results = await asyncio.gather(
                *(post(i, CHECKOUT, {"c": c, "k": f"k{i}"}) for i, c in enumerate(carts))
            )
    outcomes = [r["checkoutComplete"] for r in results]
    sold = [o for o in outcomes if o["order"]]
    refused = [o["userErrors"][0]["code"] for o in outcomes if not o["order"]]
    assert len(sold) == UNITS
    assert refused == ["OUT_OF_STOCK"] * (BUYERS - UNITS)
    stock = await m.Stock.get(variant_id=variant.id, location_id=world.warehouse.id)
    assert (stock.on_hand, stock.reserved) == (UNITS, UNITS)
    held = await m.Reservation.filter(variant_id=variant.id, status="ACTIVE")
    assert sum(r.quantity for r in held) == UNITS and len({r.order_id for r in held}) == UNITS
    moves = await m.StockMovement.filter(variant_id=variant.id, kind="RESERVATION")
    assert sum(x.delta for x in moves) == UNITS
    assert await m.Order.all().count() == UNITS
    assert await m.OutboxEvent.filter(topic="order.placed").count() == UNITS
