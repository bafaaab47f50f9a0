"""Staff order lists: filters, paging, and store managers see only their stores' orders."""

from __future__ import annotations

from adapters.db import models as m
from tests.api.test_orders import CHECKOUT, CREATE
from tests.factories import make_world, staff_token

LIST = """query($first: Int!, $after: String, $status: String, $loc: ID) {
  orders(first: $first, after: $after, status: $status, locationId: $loc) {
    nodes { number status fulfilments { location { handle } } }
    pageInfo { hasNextPage endCursor } } }"""


async def _order(gql, world, store, quantity=1):
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": quantity}],
        "buyerIdentity": {"email": "x@example.com"},
        "delivery": {"method": "PICKUP", "locationId": world.gid(store)},
    }
    cart = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]
    return (await gql(CHECKOUT, {"cart": cart["id"], "key": cart["id"]}))["data"][
        "checkoutComplete"
    ]["order"]


async def test_store_manager_sees_only_their_stores(gql, settings):
    world = await make_world(products=1)
    await m.Stock.filter(location_id=world.bellecour.id).update(on_hand=5)
    numbers = [
        (await _order(gql, world, store))["number"]
        for store in (world.part_dieu, world.bellecour, world.part_dieu)
    ]
    owner = await staff_token(settings.secret_key)
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.bellecour.id]
    )
    everything = await gql(LIST, {"first": 10}, token=owner)
    assert [n["number"] for n in everything["data"]["orders"]["nodes"]] == numbers[::-1]
    mine = await gql(LIST, {"first": 10}, token=manager)
    assert [n["number"] for n in mine["data"]["orders"]["nodes"]] == [numbers[1]]
    sneaky = await gql(LIST, {"first": 10, "loc": world.gid(world.part_dieu)}, token=manager)
    assert sneaky["data"]["orders"]["nodes"] == []
    page = await gql(LIST, {"first": 2}, token=owner)
    assert page["data"]["orders"]["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        LIST, {"first": 2, "after": page["data"]["orders"]["pageInfo"]["endCursor"]}, token=owner
    )
    assert [n["number"] for n in rest["data"]["orders"]["nodes"]] == [numbers[0]]
    none = await gql(LIST, {"first": 10, "status": "completed"}, token=owner)
    assert none["data"]["orders"]["nodes"] == []
    anonymous = await gql.raw("{ orders(first: 1) { nodes { number } } }")
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
