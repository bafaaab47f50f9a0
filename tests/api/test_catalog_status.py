"""Draft and archived products (and archived variants) are not on sale: invisible to shoppers,
members and partner keys without a catalog scope, `node(id)` included; they cannot enter a cart,
and a cart holding one since before it was archived cannot be checked out."""

from __future__ import annotations

import pytest

from adapters.db import models as m
from adapters.security import JwtTokenSigner
from tests.api.test_orders import CHECKOUT, CREATE
from tests.factories import make_world, staff_token

NODE = """query($id: ID!) { node(id: $id) { id ... on ProductVariant { availableForSale }
  ... on Product { availableForSale } } }"""
PRODUCT = "query($id: ID!) { product(id: $id) { id status } }"
PRODUCTS = "{ products(first: 10) { nodes { handle } } }"
ADD = """mutation($c: ID!, $l: [CartLineInput!]!) { cartLinesAdd(cartId: $c, lines: $l) {
  userErrors { field code } } }"""


async def _callers(gql, settings) -> dict[str, str | None]:
    owner = await staff_token(settings.secret_key)
    create = """mutation($s: [String!]!) { apiKeyCreate(input: {partner: "P", scopes: $s}) {
      secret } }"""
    keys = {}
    for scope in ("inventory:read", "catalog:read"):
        body = await gql(create, {"s": [scope]}, token=owner)
        keys[scope] = body["data"]["apiKeyCreate"]["secret"]
    member = JwtTokenSigner(settings.secret_key).issue(
        subject="member:1", claims={"kind": "member"}, ttl_seconds=600
    )
    return {
        "anonymous": None,
        "member": member,
        "partner without catalog scope": keys["inventory:read"],
        "partner with catalog:read": keys["catalog:read"],
        "clerk": await staff_token(settings.secret_key, role="CLERK", location_ids=[1]),
        "owner": owner,
    }


SEES_UNPUBLISHED = {"partner with catalog:read", "clerk", "owner"}


@pytest.mark.parametrize("status", ["DRAFT", "ARCHIVED"])
async def test_unpublished_products_and_their_variants_are_hidden(gql, settings, status):
    world = await make_world(products=2)
    hidden = world.products[1]
    await m.Product.filter(id=hidden.id).update(status=status)
    variant = next(v for v in world.variants if v.product_id == hidden.id)
    for who, token in (await _callers(gql, settings)).items():
        sees = who in SEES_UNPUBLISHED
        by_node = (await gql(NODE, {"id": world.gid(hidden)}, token=token or ""))["data"]["node"]
        assert (by_node is not None) is sees, who
        got = (await gql(NODE, {"id": world.gid(variant)}, token=token or ""))["data"]["node"]
        assert (got is not None) is sees, who
        if got is not None:  # staff see it, but it is not for sale
            assert got["availableForSale"] is False and by_node["availableForSale"] is False
        found = (await gql(PRODUCT, {"id": world.gid(hidden)}, token=token or ""))["data"]
        assert (found["product"] is not None) is sees, who
        listed = (await gql(PRODUCTS, token=token or ""))["data"]["products"]["nodes"]
        assert [p["handle"] for p in listed] == [world.products[0].handle], who


async def test_an_archived_variant_of_an_active_product_is_hidden(gql, settings):
    world = await make_world(products=1)
    variant = world.variants[1]
    await m.Variant.filter(id=variant.id).update(archived=True)
    assert (await gql(NODE, {"id": world.gid(variant)}))["data"]["node"] is None
    owner = await staff_token(settings.secret_key)
    seen = (await gql(NODE, {"id": world.gid(variant)}, token=owner))["data"]["node"]
    assert seen == {"id": world.gid(variant), "availableForSale": False}


@pytest.mark.parametrize("status", ["DRAFT", "ARCHIVED"])
async def test_an_unpublished_variant_cannot_enter_a_cart(gql, status):
    world = await make_world(products=2)
    await m.Product.filter(id=world.products[1].id).update(status=status)
    hidden = next(v for v in world.variants if v.product_id == world.products[1].id)
    data = {"lines": [{"merchandiseId": world.gid(hidden), "quantity": 1}]}
    created = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]
    assert [e["code"] for e in created["userErrors"]] == ["NOT_FOUND"]
    data = {"lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 1}]}
    cart = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]
    line = {"merchandiseId": world.gid(hidden), "quantity": 1}
    added = (await gql(ADD, {"c": cart["id"], "l": [line]}))["data"]["cartLinesAdd"]
    assert [e["code"] for e in added["userErrors"]] == ["NOT_FOUND"]


@pytest.mark.parametrize("archive", ["product", "variant"])
async def test_a_line_archived_after_it_entered_the_cart_is_refused_at_checkout(gql, archive):
    world = await make_world(products=1)
    variant = world.variants[0]
    data = {
        "lines": [{"merchandiseId": world.gid(variant), "quantity": 1}],
        "buyerIdentity": {"email": "ada@example.com"},
        "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
    }
    cart = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]
    assert cart["readyForCheckout"]
    if archive == "product":
        await m.Product.filter(id=world.products[0].id).update(status="ARCHIVED")
    else:
        await m.Variant.filter(id=variant.id).update(archived=True)
    read = "query($id: ID!) { cart(id: $id) { readyForCheckout lines { problem } } }"
    now = (await gql(read, {"id": cart["id"]}))["data"]["cart"]
    assert now == {"readyForCheckout": False, "lines": [{"problem": "NOT_SOLD_IN_CHANNEL"}]}
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": "k"}))["data"]["checkoutComplete"]
    assert placed["order"] is None
    assert [e["code"] for e in placed["userErrors"]] == ["NOT_SOLD_IN_CHANNEL"]
    assert await m.Order.all().count() == 0
