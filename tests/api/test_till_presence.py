"""Spending a member's points or vouchers at the till needs the member there: the one-time code
of their app (memberPresenceCode). A member code identifies (the member earns) but does not spend;
coupons that are not a member's voucher work without it."""

from __future__ import annotations

from adapters.db import models as m
from tests.api.presence import PRESENCE, presence_code
from tests.api.trust_world import balance, gid, member_of, member_token
from tests.factories import make_world, staff_token

POS = """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) {
  order { total { amount } discountTotal { amount } pointsRedeemed } userErrors { field code } } }"""
ADJUST = """mutation($m: ID!) { pointsAdjust(memberId: $m, points: 1000, reason: "welcome") {
  pointsBalance userErrors { code } } }"""
ISSUE = """mutation($m: ID!) { voucherIssue(memberId: $m, amount: "5.00") { voucher { code } } }"""


async def _till(world):  # the store's till channel
    till = await m.Channel.create(
        handle="store-part-dieu", name="Till", kind="STORE", currency="EUR", store=world.part_dieu
    )
    await m.ChannelLocation.create(channel=till, location=world.part_dieu)


async def _ada_at_the_till(gql, settings):
    """A store with a till, ada (1000 points and a 5.00 voucher), a clerk of the store."""
    world = await make_world(products=1)
    await _till(world)
    ada = await member_of(world.part_dieu, "ada@example.com")
    owner = await staff_token(settings.secret_key, role="OWNER")
    await gql(ADJUST, {"m": gid(ada)}, token=owner)
    voucher = (await gql(ISSUE, {"m": gid(ada)}, token=owner))["data"]["voucherIssue"]["voucher"]
    clerk = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.part_dieu.id])
    return world, ada, voucher, clerk


async def test_a_member_code_alone_does_not_spend_points_or_vouchers(gql, settings):
    world, ada, voucher, clerk = await _ada_at_the_till(gql, settings)
    sale = {
        "locationId": world.gid(world.part_dieu),
        "tender": "CASH",
        "memberCode": ada.member_code,  # known from her phone number, say
        "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 1}],
    }

    points = await gql(POS, {"i": {**sale, "pointsToRedeem": 500}}, token=clerk)
    vouchers = await gql(POS, {"i": {**sale, "discountCodes": [voucher["code"]]}}, token=clerk)
    forged = await gql(
        POS, {"i": {**sale, "pointsToRedeem": 500, "memberPresence": "P-made-up"}}, token=clerk
    )

    for body in (points, vouchers, forged):
        assert body["data"]["posOrderCreate"]["userErrors"] == [
            {"field": ["memberPresence"], "code": "MEMBER_PRESENCE_REQUIRED"}
        ]
    assert await balance(ada) == 1000
    assert (await m.Voucher.get(code=voucher["code"])).status == "ACTIVE"
    earned = await gql(POS, {"i": sale}, token=clerk)  # identifying still works: she earns
    assert earned["data"]["posOrderCreate"]["userErrors"] == []


async def test_the_members_app_code_spends_once_and_only_for_her(gql, settings):
    world, ada, voucher, clerk = await _ada_at_the_till(gql, settings)
    bo = await member_of(world.part_dieu, "bo@example.com")
    sale = {
        "locationId": world.gid(world.part_dieu),
        "tender": "CASH",
        "memberCode": ada.member_code,
        "pointsToRedeem": 500,
        "discountCodes": [voucher["code"]],
        "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 1}],
    }
    bos_code = await presence_code(gql, member_token(settings.secret_key, bo))
    not_hers = await gql(POS, {"i": {**sale, "memberPresence": bos_code}}, token=clerk)
    assert not_hers["data"]["posOrderCreate"]["userErrors"][0]["code"] == "MEMBER_PRESENCE_REQUIRED"

    here = await presence_code(gql, member_token(settings.secret_key, ada))
    paid = await gql(POS, {"i": {**sale, "memberPresence": here}}, token=clerk)
    replay = await gql(POS, {"i": {**sale, "memberPresence": here}}, token=clerk)

    order = paid["data"]["posOrderCreate"]["order"]
    assert order["pointsRedeemed"] == 500 and order["discountTotal"]["amount"] == "5.00", paid
    assert replay["data"]["posOrderCreate"]["userErrors"][0]["code"] == "MEMBER_PRESENCE_REQUIRED"
    assert (await m.Voucher.get(code=voucher["code"])).status == "USED"


async def test_coupons_work_without_presence_and_only_members_get_codes(gql, settings):
    world = await make_world(products=1)
    await _till(world)
    ada = await member_of(world.part_dieu, "ada@example.com")
    owner = await staff_token(settings.secret_key, role="OWNER")
    promo = (
        """mutation($i: PromotionInput!) { promotionCreate(input: $i) { userErrors { code } } }"""
    )
    coupon = {"name": "Ten", "kind": "PERCENTAGE", "percent": 10, "code": "TEN"}
    assert (await gql(promo, {"i": coupon}, token=owner))["data"]["promotionCreate"] == {
        "userErrors": []
    }
    clerk = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.part_dieu.id])
    sale = {
        "locationId": world.gid(world.part_dieu),
        "tender": "CASH",
        "memberCode": ada.member_code,
        "discountCodes": ["TEN"],
        "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 1}],
    }

    body = await gql(POS, {"i": sale}, token=clerk)

    assert body["data"]["posOrderCreate"]["userErrors"] == []
    assert body["data"]["posOrderCreate"]["order"]["discountTotal"]["amount"] == "2.99"
    assert (await gql(PRESENCE, token=clerk))["data"]["memberPresenceCode"]["code"] is None
    assert (await gql(PRESENCE))["data"] is None  # anonymous: unauthenticated
