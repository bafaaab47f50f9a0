"""Attributions and commissions over GraphQL: the issue's example end to end (a member bound to
a Bellecour clerk orders online for pick-up at Part-Dieu; commissions on completion for both
stores and the clerk; a partial return reverses them in proportion), till sales, franchised
stores and venues, commission rules with their userErrors, and who reads what."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest

from adapters.db import models as m
from schema.relay import to_global_id
from tests.api.trust_world import member_of, member_token
from tests.factories import make_world, staff_token

RULE_CREATE = """mutation($i: CommissionRuleInput!, $k: String) {
  commissionRuleCreate(input: $i, idempotencyKey: $k) {
    commissionRule { id role channelKind channelHandle percentBp fixedAmount { amount currencyCode } active }
    userErrors { field code message } } }"""
RULE_UPDATE = """mutation($id: ID!, $i: CommissionRuleInput!) { commissionRuleUpdate(id: $id, input: $i) {
    commissionRule { id active percentBp } userErrors { field code message } } }"""
RULES = "{ commissionRules { id role percentBp active } }"
CREATE = """mutation($input: CartInput!) { cartCreate(input: $input) { cart { id } userErrors { code } } }"""
CHECKOUT = """mutation($cart: ID!, $key: String!) { checkoutComplete(cartId: $cart, idempotencyKey: $key) {
  order { id lines { id } fulfilments { id pickupCode } } orderAccessToken
  userErrors { field code message } } }"""
READY = "mutation($f: ID!) { fulfilmentReadyForPickup(fulfilmentId: $f) { userErrors { code } } }"
CONFIRM = """mutation($f: ID!, $c: String!) { pickupConfirm(fulfilmentId: $f, code: $c) {
  order { status } userErrors { code } } }"""
RETURN = """mutation($i: OrderReturnInput!) { orderReturnCreate(input: $i) {
  refundDue { amount } userErrors { field code } } }"""
ATTRIBUTIONS = """query($id: ID!, $t: String) { order(id: $id, accessToken: $t) {
  attributions { role store { name } clerk { name } franchisee { name } code rule } } }"""
COMMISSIONS = """query($p: String, $k: String, $b: ID) {
  commissions(period: $p, beneficiaryKind: $k, beneficiaryId: $b) {
    entries { role kind beneficiaryKind amount { amount } baseAmount { amount } period }
    totals { beneficiaryKind beneficiaryId accrued { amount } reversed { amount } net { amount } } } }"""


async def staff(settings, name: str, role: str, stores: list[m.Location]) -> tuple[str, int]:
    email = f"{name.lower().replace(' ', '.')}@example.com"
    token = await staff_token(
        settings.secret_key, role=role, location_ids=[s.id for s in stores], email=email
    )
    user = await m.StaffUser.get(email=email)
    user.name = name
    await user.save()
    return token, user.id


async def add_rules(gql, owner: str, *rules: tuple[str, int]) -> None:
    for role, bp in rules:
        body = await gql(RULE_CREATE, {"i": {"role": role, "percentBp": bp}}, token=owner)
        assert body["data"]["commissionRuleCreate"]["userErrors"] == [], body


async def bound_member(bellecour: m.Location, clerk_id: int, *, days: int = 3) -> m.Member:
    member = await member_of(bellecour, "ada@example.com")
    code = await m.AttributionCode.create(
        code="REF-C4", kind="CLERK", location_id=bellecour.id, staff_id=clerk_id
    )
    since = datetime.now(UTC) - timedelta(days=days)
    await m.MemberBinding.create(
        member_id=member.id,
        location_id=bellecour.id,
        staff_id=clerk_id,
        source="SIGNUP",
        code_id=code.id,
        rule="signed up with REF-C4",
        bound_at=since,
        expires_at=since + timedelta(days=365),
    )
    return member


async def pickup_order(gql, world, token: str | None, quantity: int = 2) -> dict:
    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": quantity}],
        "buyerIdentity": {"email": "ada@example.com"},
        "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
    }
    cart = (await gql(CREATE, {"input": data}, token=token))["data"]["cartCreate"]["cart"]
    placed = await gql(CHECKOUT, {"cart": cart["id"], "key": cart["id"]}, token=token)
    assert placed["data"]["checkoutComplete"]["userErrors"] == [], placed
    return {
        **placed["data"]["checkoutComplete"]["order"],
        "token": placed["data"]["checkoutComplete"]["orderAccessToken"],
    }


async def hand_over(gql, order: dict, manager: str) -> dict:
    f = order["fulfilments"][0]
    await gql(READY, {"f": f["id"]}, token=manager)
    return await gql(CONFIRM, {"f": f["id"], "c": f["pickupCode"]}, token=manager)


def totals(body: dict) -> dict[str, tuple[str, str]]:
    return {
        f"{t['beneficiaryKind']}:{t['beneficiaryId']}": (t["accrued"]["amount"], t["net"]["amount"])
        for t in body["data"]["commissions"]["totals"]
    }


def period_now() -> str:
    from zoneinfo import ZoneInfo

    return datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m")


async def test_the_issue_example_end_to_end(gql, settings):
    world = await make_world(products=1)
    owner = await staff_token(settings.secret_key)
    c4, c4_id = await staff(settings, "Clerk C4", "CLERK", [world.bellecour])
    part_dieu_manager, _ = await staff(settings, "Manon", "STORE_MANAGER", [world.part_dieu])
    bellecour_manager, _ = await staff(settings, "Bruno", "STORE_MANAGER", [world.bellecour])
    await add_rules(
        gql, owner, ("BOUND_CLERK", 300), ("FULFILLING_STORE", 200), ("REFERRING_STORE", 100)
    )
    member = await bound_member(world.bellecour, c4_id)

    order = await pickup_order(gql, world, member_token(settings.secret_key, member))

    shown = (await gql(ATTRIBUTIONS, {"id": order["id"]}, token=owner))["data"]["order"]
    since = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    assert sorted(shown["attributions"], key=lambda a: a["role"]) == [
        {
            "role": "BOUND_CLERK",
            "store": {"name": "Bellecour"},
            "clerk": {"name": "Clerk C4"},
            "franchisee": None,
            "code": "REF-C4",
            "rule": f"the buyer is bound to Clerk C4 since {since} (signed up with REF-C4)",
        },
        {
            "role": "FULFILLING_STORE",
            "store": {"name": "Part-Dieu"},
            "clerk": None,
            "franchisee": None,
            "code": None,
            "rule": "picked up at Part-Dieu",
        },
        {
            "role": "REFERRING_STORE",
            "store": {"name": "Bellecour"},
            "clerk": None,
            "franchisee": None,
            "code": "REF-C4",
            "rule": f"the buyer is bound to Bellecour since {since} (signed up with REF-C4)",
        },
    ]
    # the buyer sees their order, not who is credited for it
    mine = await gql(
        ATTRIBUTIONS,
        {"id": order["id"], "t": order["token"]},
        token=member_token(settings.secret_key, member),
    )
    assert mine["data"]["order"]["attributions"] == []
    assert await m.CommissionEntry.all().count() == 0  # nothing before completion

    done = await hand_over(gql, order, part_dieu_manager)
    assert done["data"]["pickupConfirm"]["order"]["status"] == "COMPLETED"
    clerk_gid = to_global_id("StaffUser", c4_id)
    bellecour_gid = to_global_id("Location", world.bellecour.id)
    part_dieu_gid = to_global_id("Location", world.part_dieu.id)
    everyone = await gql(COMMISSIONS, {"p": period_now()}, token=owner)
    assert totals(everyone) == {  # 59.80 net: 3 %, 1 %, 2 %
        f"STAFF:{clerk_gid}": ("1.79", "1.79"),
        f"LOCATION:{bellecour_gid}": ("0.60", "0.60"),
        f"LOCATION:{part_dieu_gid}": ("1.20", "1.20"),
    }

    # one of the two shirts comes back at Bellecour: half of each commission is taken back
    body = await gql(
        RETURN,
        {
            "i": {
                "orderId": order["id"],
                "locationId": world.gid(world.bellecour),
                "lines": [{"orderLineId": order["lines"][0]["id"], "quantity": 1}],
            }
        },
        token=bellecour_manager,
    )
    assert body["data"]["orderReturnCreate"]["userErrors"] == [], body
    everyone = await gql(COMMISSIONS, {"p": period_now()}, token=owner)
    assert totals(everyone) == {
        f"STAFF:{clerk_gid}": ("1.79", "0.89"),  # 1.79 - round(1.79 / 2) = 1.79 - 0.90
        f"LOCATION:{bellecour_gid}": ("0.60", "0.30"),
        f"LOCATION:{part_dieu_gid}": ("1.20", "0.60"),
    }
    # each reads what is theirs
    assert set(totals(await gql(COMMISSIONS, {"p": period_now()}, token=c4))) == {
        f"STAFF:{clerk_gid}"
    }
    assert set(totals(await gql(COMMISSIONS, {"p": period_now()}, token=bellecour_manager))) == {
        f"STAFF:{clerk_gid}",
        f"LOCATION:{bellecour_gid}",
    }
    assert set(totals(await gql(COMMISSIONS, {"p": period_now()}, token=part_dieu_manager))) == {
        f"LOCATION:{part_dieu_gid}"
    }
    refused = await gql(COMMISSIONS, {"k": "LOCATION", "b": part_dieu_gid}, token=c4)
    assert refused["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    anonymous = await gql(COMMISSIONS, {})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    # the rest comes back: every role is back to exactly 0
    await gql(
        RETURN,
        {
            "i": {
                "orderId": order["id"],
                "locationId": world.gid(world.part_dieu),
                "lines": [{"orderLineId": order["lines"][0]["id"], "quantity": 1}],
            }
        },
        token=part_dieu_manager,
    )
    everyone = await gql(COMMISSIONS, {"p": period_now()}, token=owner)
    assert {net for _, net in totals(everyone).values()} == {"0.00"}


async def test_a_till_sale_credits_the_clerk_and_a_franchised_store(gql, settings):
    world = await make_world(products=1)
    store_channel = await m.Channel.create(
        handle="store-part-dieu",
        name="Part-Dieu till",
        kind="STORE",
        currency="EUR",
        store=world.part_dieu,
    )
    await m.ChannelLocation.create(channel=store_channel, location=world.part_dieu)
    dealer = await m.Franchisee.create(handle="rhone-retail", name="Rhône Retail")
    await m.FranchiseLocation.create(location_id=world.part_dieu.id, franchisee_id=dealer.id)
    owner = await staff_token(settings.secret_key)
    clerk, clerk_id = await staff(settings, "Clerk P1", "CLERK", [world.part_dieu])
    await add_rules(gql, owner, ("SELLING_CLERK", 100), ("SELLING_STORE", 100), ("FRANCHISEE", 200))
    body = await gql(
        RULE_CREATE,
        {
            "i": {
                "role": "SELLING_CLERK",
                "channelKind": "STORE",
                "fixedAmount": "0.50",
                "currencyCode": "EUR",
            }
        },
        token=owner,
    )
    assert body["data"]["commissionRuleCreate"]["commissionRule"]["fixedAmount"] == {
        "amount": "0.50",
        "currencyCode": "EUR",
    }

    pos = """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) { order { id status
      attributions { role store { name } clerk { name } franchisee { name } rule } } userErrors { code } } }"""
    sale = {
        "locationId": world.gid(world.part_dieu),
        "tender": "CASH",
        "idempotencyKey": "t1",
        "lines": [{"variantId": world.gid(world.variants[0]), "quantity": 2}],
    }
    order = (await gql(pos, {"i": sale}, token=clerk))["data"]["posOrderCreate"]["order"]
    assert order["status"] == "COMPLETED"
    assert {a["role"]: a["rule"] for a in order["attributions"]} == {
        "SELLING_STORE": "sold at the till of Part-Dieu",
        "SELLING_CLERK": "Clerk P1 rang up the sale at the till of Part-Dieu",
        "FRANCHISEE": "Part-Dieu (selling store) belongs to the franchisee Rhône Retail",
    }
    assert {a["role"]: a["franchisee"] for a in order["attributions"]}["FRANCHISEE"] == {
        "name": "Rhône Retail"
    }
    rows = await m.CommissionEntry.all().order_by("id")
    assert {(r.role, r.beneficiary_kind, r.beneficiary_id, r.amount) for r in rows} == {
        ("SELLING_CLERK", "STAFF", clerk_id, 100),  # the fixed rule of STORE channels: 2 x 0.50
        ("SELLING_STORE", "FRANCHISEE", dealer.id, 60),  # a franchised store: its dealer is paid
        ("FRANCHISEE", "FRANCHISEE", dealer.id, 120),
    }
    replay = await gql(pos, {"i": sale}, token=clerk)  # the till's retry accrues nothing more
    assert replay["data"]["posOrderCreate"]["order"]["id"] == order["id"]
    assert await m.CommissionEntry.all().count() == 3
    # the owner serving at the till now and then is not the store's seller: no SELLING_CLERK
    one = {**sale, "idempotencyKey": "t2", "lines": [{**sale["lines"][0], "quantity": 1}]}
    by_owner = await gql(pos, {"i": one}, token=owner)
    assert by_owner["data"]["posOrderCreate"]["order"], by_owner
    roles = {a["role"] for a in by_owner["data"]["posOrderCreate"]["order"]["attributions"]}
    assert roles == {"SELLING_STORE", "FRANCHISEE"}


async def test_venue_scans_credit_the_venue(gql, settings):
    world = await make_world(products=1)
    owner = await staff_token(settings.secret_key)
    manager, _ = await staff(settings, "Manon", "STORE_MANAGER", [world.part_dieu])
    await add_rules(gql, owner, ("VENUE_PARTNER", 500))
    member = await member_of(None, "ada@example.com")
    gym = await m.AttributionCode.create(code="VEN-GYM", kind="VENUE", name="Gym Lumière")
    await m.AttributionScan.create(
        code_id=gym.id, member_id=member.id, at=datetime.now(UTC) - timedelta(days=2)
    )

    order = await pickup_order(gql, world, member_token(settings.secret_key, member), quantity=1)
    await hand_over(gql, order, manager)

    shown = (await gql(ATTRIBUTIONS, {"id": order["id"]}, token=owner))["data"]["order"]
    venue = next(a for a in shown["attributions"] if a["role"] == "VENUE_PARTNER")
    assert venue["code"] == "VEN-GYM" and "partner venue code VEN-GYM" in venue["rule"]
    body = await gql(
        COMMISSIONS, {"k": "VENUE", "b": to_global_id("AttributionCode", gym.id)}, token=owner
    )
    assert totals(body) == {
        f"VENUE:{to_global_id('AttributionCode', gym.id)}": ("1.50", "1.50")  # 5 % of 29.90
    }


async def test_commission_rules_are_data_with_user_errors(gql, settings):
    world = await make_world(products=1)
    owner = await staff_token(settings.secret_key)
    admin = await staff_token(settings.secret_key, role="ADMIN")
    manager, _ = await staff(settings, "Manon", "STORE_MANAGER", [world.part_dieu])
    clerk, _ = await staff(settings, "Clerk P1", "CLERK", [world.part_dieu])

    made = await gql(
        RULE_CREATE, {"i": {"role": "bound_clerk", "percentBp": 300}, "k": "r1"}, token=owner
    )
    rule = made["data"]["commissionRuleCreate"]["commissionRule"]
    assert (rule["role"], rule["percentBp"], rule["active"]) == ("BOUND_CLERK", 300, True)
    again = await gql(
        RULE_CREATE, {"i": {"role": "bound_clerk", "percentBp": 300}, "k": "r1"}, token=owner
    )
    assert again["data"]["commissionRuleCreate"]["commissionRule"]["id"] == rule["id"]

    for data, code, field in [
        ({"role": "BOUND_CLERK", "percentBp": 400}, "DUPLICATE_RULE", ["role"]),
        ({"role": "JANITOR", "percentBp": 400}, "INVALID_ROLE", ["role"]),
        ({"role": "CAMPAIGN", "percentBp": 400}, "INVALID_ROLE", ["role"]),
        ({"role": "BOUND_CLERK"}, "INVALID_RATE", ["percentBp"]),
        ({"role": "BOUND_CLERK", "percentBp": 20000}, "INVALID_RATE", ["percentBp"]),
        ({"role": "BOUND_CLERK", "fixedAmount": "1.00"}, "INVALID_CURRENCY", ["currencyCode"]),
        (
            {"role": "BOUND_CLERK", "fixedAmount": "one", "currencyCode": "EUR"},
            "INVALID",
            ["fixedAmount"],
        ),
        (
            {"role": "BOUND_CLERK", "percentBp": 5, "channelHandle": "nowhere"},
            "INVALID_CHANNEL",
            ["channelHandle"],
        ),
        (
            {"role": "BOUND_CLERK", "percentBp": 5, "categoryId": to_global_id("Category", 999)},
            "UNKNOWN_CATEGORY",
            ["categoryId"],
        ),
        (
            {"role": "BOUND_CLERK", "percentBp": 5, "categoryId": "junk"},
            "INVALID_ID",
            ["categoryId"],
        ),
    ]:
        body = await gql(RULE_CREATE, {"i": data}, token=owner)
        errors = body["data"]["commissionRuleCreate"]["userErrors"]
        assert [(e["code"], e["field"]) for e in errors] == [(code, field)], (data, body)
    for who in (manager, clerk):
        body = await gql(RULE_CREATE, {"i": {"role": "SELLING_CLERK", "percentBp": 1}}, token=who)
        assert body["data"]["commissionRuleCreate"]["userErrors"][0]["code"] == "PERMISSION_DENIED"
        listed = await gql(RULES, token=who)
        assert listed["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"

    off = await gql(
        RULE_UPDATE,
        {"id": rule["id"], "i": {"role": "BOUND_CLERK", "percentBp": 300, "active": False}},
        token=admin,
    )
    assert off["data"]["commissionRuleUpdate"]["commissionRule"]["active"] is False
    body = await gql(RULE_CREATE, {"i": {"role": "BOUND_CLERK", "percentBp": 400}}, token=admin)
    assert body["data"]["commissionRuleCreate"]["userErrors"] == []
    missing = await gql(
        RULE_UPDATE,
        {"id": to_global_id("CommissionRule", 999), "i": {"role": "BOUND_CLERK", "percentBp": 1}},
        token=owner,
    )
    assert missing["data"]["commissionRuleUpdate"]["userErrors"][0]["code"] == "NOT_FOUND"
    listed = (await gql(RULES, token=admin))["data"]["commissionRules"]
    assert [(r["percentBp"], r["active"]) for r in listed] == [(300, False), (400, True)]


async def test_each_role_reads_order_attributions_only_for_orders_they_may_see(gql, settings):
    world = await make_world(products=1)
    owner = await staff_token(settings.secret_key)
    part_dieu, _ = await staff(settings, "Manon", "STORE_MANAGER", [world.part_dieu])
    clerk, _ = await staff(settings, "Clerk P1", "CLERK", [world.part_dieu])
    elsewhere, _ = await staff(settings, "Bruno", "STORE_MANAGER", [world.bellecour])
    order = await pickup_order(gql, world, None)

    for token, count in ((owner, 1), (part_dieu, 1), (clerk, 1)):
        body = await gql(ATTRIBUTIONS, {"id": order["id"]}, token=token)
        assert len(body["data"]["order"]["attributions"]) == count, body
    assert (await gql(ATTRIBUTIONS, {"id": order["id"]}, token=elsewhere))["data"]["order"] is None
    assert (await gql(ATTRIBUTIONS, {"id": order["id"]}))["data"]["order"] is None
    bad = await gql(COMMISSIONS, {"p": "2026-13"}, token=owner)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_PERIOD"


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="row locks: PostgreSQL only")
async def test_concurrent_hand_overs_and_rule_creations_accrue_and_create_once(gql, settings):
    world = await make_world(products=1)
    owner = await staff_token(settings.secret_key)
    manager, _ = await staff(settings, "Manon", "STORE_MANAGER", [world.part_dieu])
    twins = await asyncio.gather(
        *(
            gql(RULE_CREATE, {"i": {"role": "FULFILLING_STORE", "percentBp": 200 + i}}, token=owner)
            for i in range(4)
        )
    )
    codes = sorted(
        (b["data"]["commissionRuleCreate"]["userErrors"] or [{"code": "OK"}])[0]["code"]
        for b in twins
    )
    assert codes == ["DUPLICATE_RULE"] * 3 + ["OK"]

    order = await pickup_order(gql, world, None)
    f = order["fulfilments"][0]
    await gql(READY, {"f": f["id"]}, token=manager)
    answers = await asyncio.gather(
        *(gql(CONFIRM, {"f": f["id"], "c": f["pickupCode"]}, token=manager) for _ in range(4))
    )
    assert sum(1 for a in answers if a["data"]["pickupConfirm"]["userErrors"] == []) == 1
    assert await m.CommissionEntry.filter(kind="ACCRUAL").count() == 1
