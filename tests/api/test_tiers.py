"""Tiers from the rolling 12-month spend across channels feed tier prices; changes are kept."""

from __future__ import annotations

from adapters.db import models as m
from tests.api.test_points import _buy_and_pick_up, _member
from tests.factories import make_world, staff_token

PRICE = "{ products(first: 1) { nodes { variants(first: 1) { nodes { price { amount } compareAtPrice { amount } } } } } }"


async def test_spend_upgrades_the_tier_and_the_tier_price_follows(gql, settings):
    world = await make_world(products=1)
    await m.Stock.filter(location_id=world.part_dieu.id).update(on_hand=10)
    await m.MemberTier.create(code="BRONZE", name="Bronze", threshold_minor=0)
    await m.MemberTier.create(
        code="SILVER", name="Silver", threshold_minor=5000, points_multiplier_pct=125
    )
    await m.Price.create(
        variant=world.variants[0], kind="TIER", tier="SILVER", currency="EUR", amount=2500
    )
    session = await _member(gql, world)
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    bronze = (await gql(PRICE, token=session["accessToken"]))["data"]["products"]["nodes"][0][
        "variants"
    ]["nodes"][0]
    assert bronze == {"price": {"amount": "29.90"}, "compareAtPrice": None}
    await _buy_and_pick_up(gql, world, session["accessToken"], manager, quantity=2)  # 59.80 spent
    member = await m.Member.get(email="ada@example.com")
    assert member.tier == "SILVER"
    changes = await m.TierChange.filter(member_id=member.id)
    assert [(c.from_tier, c.to_tier, c.spend_12m) for c in changes] == [("BRONZE", "SILVER", 5980)]
    # a new login carries the new tier: tier price, regular price shown as compare-at
    again = (
        await gql(
            """mutation { memberLogin(identifier: "ada@example.com", password: "a long enough secret") { accessToken } }"""
        )
    )["data"]["memberLogin"]
    silver = (await gql(PRICE, token=again["accessToken"]))["data"]["products"]["nodes"][0][
        "variants"
    ]["nodes"][0]
    assert silver == {"price": {"amount": "25.00"}, "compareAtPrice": {"amount": "29.90"}}
    anonymous = (await gql(PRICE))["data"]["products"]["nodes"][0]["variants"]["nodes"][0]
    assert anonymous["price"]["amount"] == "29.90"
