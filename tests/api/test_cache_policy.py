"""The shared response cache answers only what is the same for everyone: the public catalog.

Carts, orders, ``me`` and anything with a token always run; every root field of the schema is
walked, so a field added later is not cacheable until it is listed in
adapters/web/cache_policy.py (and here).
"""

from __future__ import annotations

import pytest
from graphql import get_operation_ast, parse

from adapters.web.cache_policy import CACHEABLE_ROOT_FIELDS, cacheable_operation
from schema.relay import parse_global_id, to_global_id
from schema.root import build_schema
from tests.api.test_orders import CHECKOUT, CREATE, _pickup_cart
from tests.factories import make_world, staff_token

# The catalog as anyone sees it: the only root fields a shared cache may answer.
EXPECTED_CACHEABLE = {
    "node", "products", "product", "collections", "categories", "channels", "channel", "locations",
}  # fmt: skip


def _query_root_fields() -> list[str]:
    schema = build_schema()._schema
    return sorted(schema.query_type.fields)


def _cacheable(query: str, variables: dict | None = None) -> bool:
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    return cacheable_operation(
        document, operation, variables, type_of=lambda gid: parse_global_id(gid)[0]
    )


def test_the_allow_list_is_exactly_the_public_catalog():
    fields = set(_query_root_fields())
    assert EXPECTED_CACHEABLE <= fields, "a listed field left the schema"
    assert (CACHEABLE_ROOT_FIELDS - {"__typename"}) == EXPECTED_CACHEABLE


@pytest.mark.parametrize("field", _query_root_fields())
def test_every_root_field_is_cacheable_only_when_listed(field):
    alone = _cacheable(f"query {{ {field} {{ __typename }} }}")
    assert alone is (field in EXPECTED_CACHEABLE and field != "node")  # node needs a catalog id
    # one personal field in the request makes the whole request personal
    mixed = _cacheable(f"query {{ products {{ __typename }} {field} {{ __typename }} }}")
    assert mixed is (field in EXPECTED_CACHEABLE and field != "node")
    # hiding it in a fragment changes nothing
    spread = _cacheable(f"query {{ ...F }} fragment F on Query {{ {field} {{ __typename }} }}")
    assert spread is (field in EXPECTED_CACHEABLE and field != "node")


def test_node_is_cacheable_only_for_catalog_objects():
    query = "query($id: ID!) { node(id: $id) { id } }"
    assert _cacheable(query, {"id": to_global_id("Product", 1)})
    assert _cacheable(query, {"id": to_global_id("Location", 1)})
    assert not _cacheable(query, {"id": to_global_id("Order", 1)})
    assert not _cacheable(query, {"id": to_global_id("Member", 1)})
    assert not _cacheable(query, {"id": "garbage"})
    assert not _cacheable('{ node(id: "%s") { id } }' % to_global_id("Cart", 1))


CART = "query($id: ID!) { cart(id: $id) { totalQuantity } }"
ADD = """mutation($c: ID!, $l: [CartLineInput!]!) { cartLinesAdd(cartId: $c, lines: $l) {
  cart { totalQuantity } userErrors { code } } }"""


async def test_a_cart_read_is_never_served_from_the_cache(gql):
    world = await make_world(products=1)
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 1}],
        "buyerIdentity": {"email": "ada@example.com"},
    }
    cart = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]
    first = await gql.raw(CART, {"id": cart["id"]})
    assert first.json()["data"]["cart"]["totalQuantity"] == 1
    assert "X-Cache" not in first.headers and first.headers["cache-control"] == "no-store"
    line = {"merchandiseId": world.gid(world.variants[0]), "quantity": 2}
    added = await gql(ADD, {"c": cart["id"], "l": [line]})
    assert added["data"]["cartLinesAdd"]["cart"]["totalQuantity"] == 3
    again = await gql.raw(CART, {"id": cart["id"]})
    assert again.json()["data"]["cart"]["totalQuantity"] == 3
    assert again.headers.get("X-Cache") != "HIT"


async def test_an_order_read_with_its_token_follows_the_order(gql, settings):
    world = await make_world(products=1)
    cart = await _pickup_cart(gql, world)
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": "k-1"}))["data"]["checkoutComplete"]
    read = (
        "query($id: ID!, $t: String) { order(id: $id, accessToken: $t) { status paymentStatus } }"
    )
    args = {"id": placed["order"]["id"], "t": placed["orderAccessToken"]}
    first = await gql.raw(read, args)
    assert first.json()["data"]["order"] == {"status": "PLACED", "paymentStatus": "PENDING"}
    owner = await staff_token(settings.secret_key)
    paid = """mutation($o: ID!) { orderMarkPaid(orderId: $o, reference: "till") {
      userErrors { code } } }"""
    assert (await gql(paid, {"o": args["id"]}, token=owner))["data"]["orderMarkPaid"][
        "userErrors"
    ] == []
    again = await gql.raw(read, args)
    assert again.headers.get("X-Cache") != "HIT"
    assert again.json()["data"]["order"]["paymentStatus"] == "PAID"


async def test_the_catalog_is_still_cached_for_anonymous_callers(gql, settings):
    await make_world(products=1)
    query = "{ products(first: 1) { nodes { title } } }"
    assert (await gql.raw(query)).headers["X-Cache"] == "MISS"
    assert (await gql.raw(query)).headers["X-Cache"] == "HIT"
    owner = await staff_token(settings.secret_key)
    assert "X-Cache" not in (await gql.raw(query, token=owner)).headers
