"""DATABASE_READ_URL: catalog reads made outside any transaction go to the read replica; every
write, and every read of a unit of work, stays on the primary.

The "replica" is the test database itself reached as a role whose transactions are read-only
(``default_transaction_read_only = on``): a write sent there fails, so mutations that succeed
prove their writes went to the primary, and the statements recorded on the replica's client
show which reads went there.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from tortoise import connections

from adapters.db import models as m
from adapters.db.database import (
    READ,
    close_database,
    is_postgres,
    normalize_url,
    open_database,
)
from adapters.kv import MemoryKeyValue
from adapters.settings import Settings
from app import build_services, create_app
from tests.conftest import GraphQLClient
from tests.factories import make_world, staff_token

pytestmark = pytest.mark.skipif(
    not is_postgres(os.environ.get("DATABASE_URL", "")), reason="needs PostgreSQL"
)

ROLE = "o2o_replica_reader"
CART = """mutation($input: CartInput!) { cartCreate(input: $input) {
  cart { id readyForCheckout } userErrors { code } } }"""
LINE = """mutation($cart: ID!, $lines: [CartLineInput!]!) { cartLinesAdd(cartId: $cart, lines: $lines) {
  cart { totalQuantity } userErrors { code } } }"""
CHECKOUT = """mutation($cart: ID!, $key: String!) { checkoutComplete(cartId: $cart, idempotencyKey: $key) {
  order { status lines { sku quantity } } userErrors { code } } }"""
UPDATE = """mutation($id: ID!, $input: ProductInput!) { productUpdate(id: $id, input: $input) {
  product { title } userErrors { code } } }"""
LISTING = """{ products(first: 5) { nodes { handle variants { nodes {
  sku price { amount } quantityAvailable } } } } }"""


def _record(client: Any) -> list[str]:
    """Every statement sent through this client object (the replica's, not the primary's)."""
    seen: list[str] = []
    for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
        original = getattr(client, name)

        async def recorded(query: str, *args: Any, _original: Any = original, **kw: Any) -> Any:
            seen.append(query)
            return await _original(query, *args, **kw)

        setattr(client, name, recorded)
    return seen


@pytest.fixture
async def replica(db: str, settings: Settings) -> AsyncIterator[Settings]:
    url = normalize_url(settings.database_url)
    admin = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", ROLE):
            await admin.execute(f"CREATE ROLE {ROLE} LOGIN")
        await admin.execute(f"ALTER ROLE {ROLE} SET default_transaction_read_only = on")
        await admin.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
        await admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ROLE}")
    finally:
        await admin.close()
    parts = urlsplit(url)
    read_url = urlunsplit(parts._replace(netloc=f"{ROLE}@{parts.hostname}:{parts.port or 5432}"))
    await close_database()
    await open_database(url, read_url=read_url)
    try:
        yield dataclasses.replace(settings, database_read_url=read_url)
    finally:
        await close_database()
        await open_database(url)


async def test_the_replica_refuses_writes(replica: Settings) -> None:
    with pytest.raises(Exception, match="read-only transaction"):
        await connections.get(READ).execute_query("DELETE FROM product")


async def test_catalog_reads_go_to_the_replica_and_writes_never(replica: Settings) -> None:
    settings = replica
    world = await make_world(products=2)
    owner = await staff_token(settings.secret_key)
    app = create_app(
        settings, services=build_services(settings, kv=MemoryKeyValue()), manage_database=False
    )
    seen = _record(connections.get(READ))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        gql = GraphQLClient(http)
        listing = await gql(LISTING)
        assert len(listing["data"]["products"]["nodes"]) == 2
        assert any('"product"' in q or " product" in q for q in seen)  # the page itself
        assert len(seen) >= 3  # and its variants, prices, stock
        # the storefront's writes: a cart, a line, a checkout
        variant = world.gid(world.variants[0])
        data = {
            "lines": [{"merchandiseId": variant, "quantity": 1}],
            "buyerIdentity": {"email": "ada@example.com"},
            "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
        }
        cart = (await gql(CART, {"input": data}))["data"]["cartCreate"]
        assert cart["userErrors"] == [], cart
        lines = [{"merchandiseId": world.gid(world.variants[1]), "quantity": 1}]
        added = (await gql(LINE, {"cart": cart["cart"]["id"], "lines": lines}))["data"]
        assert added["cartLinesAdd"]["userErrors"] == [], added
        placed = await gql(CHECKOUT, {"cart": cart["cart"]["id"], "key": "replica-1"})
        order = placed["data"]["checkoutComplete"]
        assert order["userErrors"] == [] and order["order"]["status"] == "PLACED", placed
        # the staff's: a product renamed
        product = world.gid(world.products[0])
        renamed = await gql(UPDATE, {"id": product, "input": {"title": "Renamed"}}, token=owner)
        assert renamed["data"]["productUpdate"]["product"] == {"title": "Renamed"}, renamed
    # every statement the replica saw reads; the writes are on the primary
    assert all(q.lstrip().upper().startswith(("SELECT", "WITH")) for q in seen), seen
    assert await m.Order.all().count() == 1
    assert (await m.Product.get(id=world.products[0].id)).title == "Renamed"


async def test_reads_inside_a_unit_of_work_stay_on_the_primary(replica: Settings) -> None:
    services = build_services(replica, kv=MemoryKeyValue())
    world = await make_world(products=1)
    seen = _record(connections.get(READ))
    ids = [world.products[0].id]
    assert list(await services.queries.products_by_ids(ids)) == ids
    assert len(seen) == 1
    async with services.uow():
        assert list(await services.queries.products_by_ids(ids)) == ids
    assert len(seen) == 1  # the read in the transaction went to the primary
    await services.queries.change_marker()  # cache invalidation must not lag: primary
    assert len(seen) == 1
