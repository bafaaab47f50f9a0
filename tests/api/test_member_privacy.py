"""A member's contact data, history, pick-up codes and insights reach only the member, brand-wide
staff and the staff of the member's stores; another store's clerk identifies them only to sell."""

from __future__ import annotations

from adapters.db import models as m
from schema.relay import to_global_id
from tests.api.test_members import LOGIN, SIGNUP, VERIFY, _token
from tests.api.test_orders import CHECKOUT, CREATE
from tests.api.test_points import _buy_and_pick_up
from tests.factories import make_world, staff_token

LOOKUP = """query($p: String) { memberLookup(phone: $p) { id name tier pointsBalance email phone
  addresses tags memberCode qrPayload vouchers { code } pointsLedger { points }
  orders(first: 10) { nodes { number buyer fulfilments { pickupCode qrPayload } } } } }"""
BY_TAG = "query($t: String!) { members(tag: $t) { email phone } }"
INSIGHT = "query($m: ID!) { memberInsights(memberId: $m) { orders segment } }"


async def _ada_of_part_dieu(gql, world, settings) -> tuple[int, str, str]:
    """Ada signs up through Part-Dieu's code, buys once (picked up) and has one order waiting:
    her member id, her access token and the waiting order's pick-up code."""
    signup = {
        "email": "ada@example.com",
        "phone": "06 12 34 56 78",
        "password": "a long enough secret",
        "name": "Ada",
        "referralCode": f"REF-S{world.part_dieu.id}",
    }
    await gql(SIGNUP, {"i": signup})
    await gql(VERIFY, {"t": await _token("PHONE")})
    login = {"id": "+33612345678", "p": "a long enough secret"}
    token = (await gql(LOGIN, login))["data"]["memberLogin"]["accessToken"]
    await m.Stock.filter(location_id=world.part_dieu.id).update(on_hand=10)
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    await _buy_and_pick_up(gql, world, token, manager, quantity=1)  # tags her store:<part-dieu>
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 1}],
        "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
    }
    cart = (await gql(CREATE, {"input": data}, token=token))["data"]["cartCreate"]["cart"]
    placed = (await gql(CHECKOUT, {"cart": cart["id"], "key": "wait"}, token=token))["data"]
    code = placed["checkoutComplete"]["order"]["fulfilments"][0]["pickupCode"]
    assert code
    member = await m.Member.get(email="ada@example.com")
    return member.id, token, code


async def test_another_stores_clerk_identifies_a_member_only_to_sell(gql, settings):
    world = await make_world(products=1)
    member_id, _, code = await _ada_of_part_dieu(gql, world, settings)
    other = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.bellecour.id])

    seen = (await gql(LOOKUP, {"p": "0612345678"}, token=other))["data"]["memberLookup"]

    assert seen["name"] == "Ada" and seen["tier"] and seen["pointsBalance"] >= 0
    assert seen["id"] == to_global_id("Member", member_id)
    assert (seen["email"], seen["phone"], seen["addresses"], seen["tags"]) == (None, None, [], [])
    assert (seen["memberCode"], seen["qrPayload"], seen["vouchers"]) == ("", "", [])
    assert seen["pointsLedger"] == [] and seen["orders"]["nodes"] == []
    assert code not in str(seen)


async def test_another_stores_staff_cannot_search_or_profile_a_member(gql, settings):
    world = await make_world(products=1)
    member_id, _, _ = await _ada_of_part_dieu(gql, world, settings)
    tag = {"t": f"store:{world.part_dieu.id}"}
    for role in ("CLERK", "STORE_MANAGER"):
        other = await staff_token(settings.secret_key, role=role, location_ids=[world.bellecour.id])
        assert (await gql(BY_TAG, tag, token=other))["data"]["members"] == []
        refused = await gql(INSIGHT, {"m": to_global_id("Member", member_id)}, token=other)
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_the_members_own_store_and_the_brand_see_the_full_profile(gql, settings):
    world = await make_world(products=1)
    member_id, _, code = await _ada_of_part_dieu(gql, world, settings)
    own = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.part_dieu.id])
    owner = await staff_token(settings.secret_key)
    for token in (own, owner):
        seen = (await gql(LOOKUP, {"p": "0612345678"}, token=token))["data"]["memberLookup"]
        assert (seen["email"], seen["phone"]) == ("ada@example.com", "+33612345678")
        codes = [f["pickupCode"] for o in seen["orders"]["nodes"] for f in o["fulfilments"]]
        assert code in codes
        found = (await gql(BY_TAG, {"t": f"store:{world.part_dieu.id}"}, token=token))["data"]
        assert found["members"] == [{"email": "ada@example.com", "phone": "+33612345678"}]
        insight = await gql(INSIGHT, {"m": to_global_id("Member", member_id)}, token=token)
        assert insight["data"]["memberInsights"]["orders"] >= 1


async def test_a_pickup_code_is_not_shown_to_staff_of_another_store(gql, settings):
    world = await make_world(products=1)
    member_id, _, code = await _ada_of_part_dieu(gql, world, settings)
    # Ada also belongs to Bellecour (she signed up there too, say): its clerk sees her history,
    # but not the code of an order waiting at Part-Dieu
    await m.Member.filter(id=member_id).update(referral_location_id=world.bellecour.id)
    other = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.bellecour.id])
    seen = (await gql(LOOKUP, {"p": "0612345678"}, token=other))["data"]["memberLookup"]
    assert seen["email"] == "ada@example.com" and seen["orders"]["nodes"]
    codes = [f["pickupCode"] for o in seen["orders"]["nodes"] for f in o["fulfilments"]]
    assert code not in codes and set(codes) == {None}


async def test_the_member_sees_their_own_codes(gql, settings):
    world = await make_world(products=1)
    _, token, code = await _ada_of_part_dieu(gql, world, settings)
    me = "{ me { email orders(first: 5) { nodes { fulfilments { pickupCode } } } } }"
    seen = (await gql(me, token=token))["data"]["me"]
    assert seen["email"] == "ada@example.com"
    assert code in [f["pickupCode"] for o in seen["orders"]["nodes"] for f in o["fulfilments"]]
