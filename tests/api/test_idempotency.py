"""Idempotency keys belong to their caller, and a twin request waits for the first's answer."""

from __future__ import annotations

import asyncio

import pytest

from adapters.db import models as m
from adapters.db.database import is_postgres
from adapters.security import JwtTokenSigner
from tests.api.test_orders import CHECKOUT, _pickup_cart
from tests.factories import make_world, staff_token

CANCEL = """mutation($o: ID!, $k: String, $t: String) {
  orderCancel(orderId: $o, reason: "changed mind", idempotencyKey: $k, accessToken: $t) {
    order { id status buyer } userErrors { field code } } }"""


async def test_another_callers_key_replays_nothing(gql, settings):
    world = await make_world(products=1)
    cart = await _pickup_cart(gql, world)
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": "c1"}))["data"]["checkoutComplete"]
    order_id = placed["order"]["id"]
    owner = await staff_token(settings.secret_key)
    key = f"cancel-{placed['order']['number']}"
    first = (await gql(CANCEL, {"o": order_id, "k": key}, token=owner))["data"]["orderCancel"]
    assert first["order"]["status"] == "CANCELLED"

    # a stranger replays the staff member's key: no stored answer, no buyer data, a refusal
    stranger = (await gql(CANCEL, {"o": order_id, "k": key}))["data"]["orderCancel"]
    assert stranger["order"] is None
    assert stranger["userErrors"][0]["code"] == "PERMISSION_DENIED"
    # the owner's own replay still answers the first result
    again = (await gql(CANCEL, {"o": order_id, "k": key}, token=owner))["data"]["orderCancel"]
    assert again["order"]["status"] == "CANCELLED"
    # the buyer has keys of their own, under their order token
    token = placed["orderAccessToken"]
    mine = await gql(CANCEL, {"o": order_id, "k": key, "t": token})
    assert mine["data"]["orderCancel"]["userErrors"][0]["code"] == "INVALID_STATE"


async def test_a_replay_rechecks_the_callers_rights(gql, settings):
    world = await make_world(products=1)
    cart = await _pickup_cart(gql, world)
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": "c2"}))["data"]["checkoutComplete"]
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    done = await gql(CANCEL, {"o": placed["order"]["id"], "k": "x"}, token=manager)
    assert done["data"]["orderCancel"]["order"]["status"] == "CANCELLED"
    # the same account, now moved to another store (same subject, other rights), replays
    user = await m.StaffUser.get(role="STORE_MANAGER")
    await m.StaffUser.filter(id=user.id).update(location_ids=[world.bellecour.id])
    claims = {"kind": "staff", "role": "STORE_MANAGER", "loc": [world.bellecour.id]}
    moved = JwtTokenSigner(settings.secret_key).issue(
        subject=f"staff:{user.id}", claims=claims, ttl_seconds=600
    )
    replay = (await gql(CANCEL, {"o": placed["order"]["id"], "k": "x"}, token=moved))["data"]
    assert replay["orderCancel"]["order"] is None
    assert replay["orderCancel"]["userErrors"][0]["code"] == "PERMISSION_DENIED"


async def test_a_twin_checkout_gets_the_same_order(gql, settings):
    if not is_postgres(settings.database_url):
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite runs one writer at a time")
    world = await make_world(products=1)
    carts = [await _pickup_cart(gql, world) for _ in range(3)]  # Part-Dieu holds 3 units

    async def twice(cart_id: str) -> list[dict]:
        sent = [gql(CHECKOUT, {"cart": cart_id, "key": "same"}) for _ in range(2)]
        return [b["data"]["checkoutComplete"] for b in await asyncio.gather(*sent)]

    for answers in await asyncio.gather(*(twice(c["id"]) for c in carts)):
        assert [a["userErrors"] for a in answers] == [[], []], answers
        assert answers[0]["order"]["number"] == answers[1]["order"]["number"]
    assert await m.Order.all().count() == len(carts)


async def test_a_fulfilment_replay_rechecks_the_store(gql, settings):
    world = await make_world(products=1)
    cart = await _pickup_cart(gql, world)
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": "c3"}))["data"]["checkoutComplete"]
    f = placed["order"]["fulfilments"][0]["id"]
    clerk = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.part_dieu.id])
    ready = """mutation($f: ID!) { fulfilmentReadyForPickup(fulfilmentId: $f, idempotencyKey: "r") {
      order { status } userErrors { code } } }"""
    assert (await gql(ready, {"f": f}, token=clerk))["data"]["fulfilmentReadyForPickup"]["order"][
        "status"
    ] == "READY_FOR_PICKUP"
    user = await m.StaffUser.get(role="CLERK")
    claims = {"kind": "staff", "role": "CLERK", "loc": [world.bellecour.id]}
    moved = JwtTokenSigner(settings.secret_key).issue(
        subject=f"staff:{user.id}", claims=claims, ttl_seconds=600
    )
    replay = (await gql(ready, {"f": f}, token=moved))["data"]["fulfilmentReadyForPickup"]
    assert (replay["order"], replay["userErrors"][0]["code"]) == (None, "WRONG_STORE")
