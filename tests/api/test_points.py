"""Points earned anywhere are spent anywhere: online pick-up earns, the till spends, a partial
return in a store corrects them; caps, balance and races."""

from __future__ import annotations

import asyncio

import pytest

from adapters.db import models as m
from adapters.db.database import is_postgres
from tests.api.presence import presence_code
from tests.api.test_members import LOGIN, SIGNUP, VERIFY, _token
from tests.api.test_orders import CHECKOUT, CREATE
from tests.factories import make_world, staff_token

ME = "{ me { memberCode tier pointsBalance pointsLedger { kind points balanceAfter } } }"
APPLY = """mutation($c: ID!, $p: Int!) { cartPointsApply(cartId: $c, points: $p) {
  cart { pointsToRedeem cost { totalAmount { amount } pointsAmount { amount } amountDue { amount } } }
  userErrors { field code message } } }"""
ORDER = "order { id number status pointsEarned pointsRedeemed pointsValue { amount } total { amount } lines { id } fulfilments { id pickupCode } }"


async def _member(gql, world, email="ada@example.com") -> dict:
    await gql(
        SIGNUP,
        {
            "i": {
                "email": email,
                "password": "a long enough secret",
                "referralCode": f"REF-S{world.part_dieu.id}",
            }
        },
    )
    await gql(VERIFY, {"t": await _token("EMAIL")})
    return (await gql(LOGIN, {"id": email, "p": "a long enough secret"}))["data"]["memberLogin"]


async def _buy_and_pick_up(gql, world, token, manager, *, quantity=2, points=0) -> dict:
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": quantity}],
        "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
    }
    cart = (await gql(CREATE, {"input": data}, token=token))["data"]["cartCreate"]["cart"]
    if points:
        body = await gql(APPLY, {"c": cart["id"], "p": points}, token=token)
        assert body["data"]["cartPointsApply"]["userErrors"] == [], body
    checkout = CHECKOUT.replace(
        "order { id number status paymentStatus",
        "order { id number status paymentStatus pointsRedeemed",
    )
    placed = (await gql(checkout, {"cart": cart["id"], "key": cart["id"]}, token=token))["data"][
        "checkoutComplete"
    ]
    assert placed["userErrors"] == [], placed
    f = placed["order"]["fulfilments"][0]
    await gql(
        "mutation($f: ID!) { fulfilmentReadyForPickup(fulfilmentId: $f) { order { status } } }",
        {"f": f["id"]},
        token=manager,
    )
    done = await gql(
        "mutation($f: ID!, $c: String!) { pickupConfirm(fulfilmentId: $f, code: $c) { %s } }"
        % ORDER,
        {"f": f["id"], "c": f["pickupCode"]},
        token=manager,
    )
    return done["data"]["pickupConfirm"]["order"]


async def test_earn_online_spend_at_the_till_return_in_store(gql, settings):
    world = await make_world(products=1)
    await m.Stock.filter(location_id=world.part_dieu.id).update(on_hand=10)
    await m.Stock.filter(location_id=world.bellecour.id).update(on_hand=10)
    till = await m.Channel.create(
        handle="store-bellecour",
        name="Bellecour till",
        kind="STORE",
        currency="EUR",
        store=world.bellecour,
    )
    await m.ChannelLocation.create(channel=till, location=world.bellecour)
    session = await _member(gql, world)
    token = session["accessToken"]
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    # 2 x 29.90 = 59.80 -> 59 points (1 per whole euro)
    order = await _buy_and_pick_up(gql, world, token, manager)
    assert order["status"] == "COMPLETED" and order["pointsEarned"] == 59
    me = (await gql(ME, token=token))["data"]["me"]
    assert me["pointsBalance"] == 59 and me["pointsLedger"][0] == {
        "kind": "EARN",
        "points": 59,
        "balanceAfter": 59,
    }

    # spend 50 points at another store's till, scanned by a clerk there
    clerk = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.bellecour.id])
    pos = (
        """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) { %s userErrors { field code message } } }"""
        % ORDER
    )
    sale = {
        "locationId": world.gid(world.bellecour),
        "tender": "CARD_TERMINAL",
        "memberCode": me["memberCode"],
        "pointsToRedeem": 50,
        "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 1}],
        "memberPresence": await presence_code(gql, token),  # the member is at the till
    }
    body = await gql(pos, {"i": sale}, token=clerk)
    till_order = body["data"]["posOrderCreate"]["order"]
    assert till_order["pointsRedeemed"] == 50 and till_order["pointsValue"]["amount"] == "0.50"
    # the till order earns on what was paid in money: 29.90 - 0.50 = 29.40 -> 29
    assert till_order["pointsEarned"] == 29
    assert (await gql(ME, token=token))["data"]["me"]["pointsBalance"] == 59 - 50 + 29
    here = await presence_code(gql, token)  # a used code does not work twice
    too_much = await gql(
        pos, {"i": {**sale, "pointsToRedeem": 1000, "memberPresence": here}}, token=clerk
    )
    assert too_much["data"]["posOrderCreate"]["userErrors"][0]["code"] in {
        "INSUFFICIENT_POINTS",
        "POINTS_CAP_EXCEEDED",
    }

    # return one of the two online units at Bellecour: half of the 59 earned points go back
    ret = """mutation($i: OrderReturnInput!) { orderReturnCreate(input: $i) { refundDue { amount } userErrors { code } } }"""
    owner = await staff_token(settings.secret_key)
    body = await gql(
        ret,
        {
            "i": {
                "orderId": order["id"],
                "locationId": world.gid(world.bellecour),
                "lines": [{"orderLineId": order["lines"][0]["id"], "quantity": 1}],
            }
        },
        token=owner,
    )
    assert body["data"]["orderReturnCreate"]["refundDue"]["amount"] == "29.90"
    me = (await gql(ME, token=token))["data"]["me"]
    assert me["pointsBalance"] == 59 - 50 + 29 - 29  # floor(59 * 29.90 / 59.80) = 29 reversed
    assert me["pointsLedger"][0]["kind"] == "EARN_REVERSAL"
    total = sum(e["points"] for e in me["pointsLedger"])
    assert total == me["pointsBalance"]


async def test_cart_points_cap_and_balance_rules(gql, settings):
    world = await make_world(products=1)
    session = await _member(gql, world)
    token = session["accessToken"]
    member = await m.Member.get(email="ada@example.com")
    owner = await staff_token(settings.secret_key)
    adjust = "mutation($m: ID!, $p: Int!, $r: String!) { pointsAdjust(memberId: $m, points: $p, reason: $r) { pointsBalance userErrors { code } } }"
    from schema.relay import to_global_id

    mid = to_global_id("Member", member.id)
    assert (await gql(adjust, {"m": mid, "p": 5000, "r": "welcome gift"}, token=owner))["data"][
        "pointsAdjust"
    ]["pointsBalance"] == 5000
    assert (await gql(adjust, {"m": mid, "p": -6000, "r": "oops"}, token=owner))["data"][
        "pointsAdjust"
    ]["userErrors"][0]["code"] == "INSUFFICIENT_POINTS"
    assert (await gql(adjust, {"m": mid, "p": 10, "r": " "}, token=owner))["data"]["pointsAdjust"][
        "userErrors"
    ][0]["code"] == "REASON_REQUIRED"
    data = {"lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 1}]}
    cart = (await gql(CREATE, {"input": data}, token=token))["data"]["cartCreate"]["cart"]
    # 29.90 cart: at most 50 % = 14.95 = 1495 points
    capped = await gql(APPLY, {"c": cart["id"], "p": 1496}, token=token)
    assert capped["data"]["cartPointsApply"]["userErrors"][0]["code"] == "POINTS_CAP_EXCEEDED"
    ok = await gql(APPLY, {"c": cart["id"], "p": 1495}, token=token)
    cost = ok["data"]["cartPointsApply"]["cart"]["cost"]
    assert cost["pointsAmount"]["amount"] == "14.95" and cost["amountDue"]["amount"] == "14.95"
    stranger = await gql(APPLY, {"c": cart["id"], "p": 10})
    assert stranger["data"]["cartPointsApply"]["userErrors"][0]["code"] == "PERMISSION_DENIED"


async def test_two_checkouts_racing_for_the_same_points(gql, settings, app):
    if not is_postgres(settings.database_url):
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite does not lock rows")
    world = await make_world(products=1)
    session = await _member(gql, world)
    token = session["accessToken"]
    member = await m.Member.get(email="ada@example.com")
    owner = await staff_token(settings.secret_key)
    from schema.relay import to_global_id

    await gql(
        'mutation($m: ID!) { pointsAdjust(memberId: $m, points: 1000, reason: "gift") { pointsBalance } }',
        {"m": to_global_id("Member", member.id)},
        token=owner,
    )
    carts = []
    for _ in range(2):
        data = {
            "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 1}],
            "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
        }
        cart = (await gql(CREATE, {"input": data}, token=token))["data"]["cartCreate"]["cart"]
        assert (await gql(APPLY, {"c": cart["id"], "p": 700}, token=token))["data"][
            "cartPointsApply"
        ]["userErrors"] == []
        carts.append(cart["id"])
    results = await asyncio.gather(
        *(gql(CHECKOUT, {"cart": c, "key": c}, token=token) for c in carts)
    )
    outcomes = [r["data"]["checkoutComplete"] for r in results]
    assert sorted(bool(o["order"]) for o in outcomes) == [False, True]
    refused = next(o for o in outcomes if not o["order"])
    assert refused["userErrors"][0]["code"] == "INSUFFICIENT_POINTS"
    lots = await m.PointsLot.filter(member_id=member.id)
    assert sum(lot.remaining for lot in lots) == 300
    assert sum(e.points for e in await m.PointsEntry.filter(member_id=member.id)) == 300
