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


async def test_tags_insight_and_retention_for_staff(gql, settings):
    world = await make_world(products=1)
    await m.Stock.filter(location_id=world.part_dieu.id).update(on_hand=10)
    category = await m.Category.create(name="Shirts", handle="shirts")
    await m.Product.filter(id=world.products[0].id).update(category_id=category.id)
    session = await _member(gql, world)
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    await _buy_and_pick_up(gql, world, session["accessToken"], manager, quantity=1)
    member = await m.Member.get(email="ada@example.com")
    assert f"store:{world.part_dieu.id}" in member.tags and "likes:shirts" in member.tags
    from schema.relay import to_global_id

    found = await gql(
        "query($t: String!) { members(tag: $t) { email } }", {"t": "likes:shirts"}, token=manager
    )
    assert found["data"]["members"] == [{"email": "ada@example.com"}]
    insight = await gql(
        "query($m: ID!) { memberInsights(memberId: $m) { orders segment churnRisk channels daysSinceLastPurchase } }",
        {"m": to_global_id("Member", member.id)},
        token=manager,
    )
    assert insight["data"]["memberInsights"] == {
        "orders": 1,
        "segment": "NEW",
        "churnRisk": "LOW",
        "channels": ["web"],
        "daysSinceLastPurchase": 0,
    }
    report = await gql(
        "query($l: ID) { retentionReport(locationId: $l) { members repeatMembers repeatRate } }",
        {"l": world.gid(world.part_dieu)},
        token=manager,
    )
    assert report["data"]["retentionReport"] == [
        {"members": 1, "repeatMembers": 0, "repeatRate": 0.0}
    ]
    brand = await gql("{ retentionReport { members } }", token=manager)
    assert brand["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    anonymous = await gql.raw("{ retentionReport { members } }")
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
