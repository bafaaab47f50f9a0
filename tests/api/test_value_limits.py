"""Value creation has limits and a trail: a store manager gives points and vouchers only to the
members of their stores and within daily caps; above them an owner approves or rejects."""

from __future__ import annotations

import asyncio

from adapters.db import models as m
from schema.relay import to_global_id
from tests.api.trust_world import balance, gid, member_of
from tests.factories import make_world, staff_token

ADJUST = """mutation($m: ID!, $p: Int!) { pointsAdjust(memberId: $m, points: $p, reason: "goodwill") {
  pointsBalance userErrors { field code message } } }"""
ISSUE = """mutation($m: ID!, $a: String!) { voucherIssue(memberId: $m, amount: $a) {
  voucher { code } userErrors { field code message } } }"""
GRANTS = """query($s: String) { valueGrants(status: $s, first: 10) { nodes { id kind points
  amount { amount } status requestedBy decidedBy } } }"""
APPROVE = (
    """mutation($id: ID!) { valueGrantApprove(id: $id) { grant { status } userErrors { code } } }"""
)
REJECT = (
    """mutation($id: ID!) { valueGrantReject(id: $id) { grant { status } userErrors { code } } }"""
)


def _error(body: dict, field: str) -> dict:
    return body["data"][field]["userErrors"][0]


async def test_a_manager_gives_nothing_to_another_stores_member(gql, settings):
    world = await make_world(products=1)
    other = await member_of(world.bellecour, "bo@example.com")
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )

    points = await gql(ADJUST, {"m": gid(other), "p": 100_000_000}, token=manager)
    voucher = await gql(ISSUE, {"m": gid(other), "a": "99999.99"}, token=manager)

    assert _error(points, "pointsAdjust")["code"] == "OUTSIDE_YOUR_STORES"
    assert _error(voucher, "voucherIssue")["code"] == "OUTSIDE_YOUR_STORES"
    assert await balance(other) == 0 and await m.Voucher.all().count() == 0


async def test_above_the_daily_cap_an_owner_approves_or_rejects(gql, settings):
    world = await make_world(products=1)
    ada = await member_of(world.part_dieu, "ada@example.com")
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    owner = await staff_token(settings.secret_key, role="OWNER")

    small = await gql(ADJUST, {"m": gid(ada), "p": 100}, token=manager)
    assert small["data"]["pointsAdjust"] == {"pointsBalance": 100, "userErrors": []}
    huge = await gql(ADJUST, {"m": gid(ada), "p": 100_000_000}, token=manager)
    rich = await gql(ISSUE, {"m": gid(ada), "a": "99999.99"}, token=manager)
    past_cap = await gql(
        ADJUST, {"m": gid(ada), "p": settings.manager_daily_points_cap}, token=manager
    )

    for body, field in ((huge, "pointsAdjust"), (rich, "voucherIssue"), (past_cap, "pointsAdjust")):
        error = _error(body, field)
        assert error["code"] == "APPROVAL_REQUIRED" and "ValueGrant/" in error["message"], body
    assert await balance(ada) == 100 and await m.Voucher.all().count() == 0

    # managers may not approve; owners see the pending grants and decide
    grant_ids = [
        to_global_id("ValueGrant", g.id)
        for g in await m.ValueGrant.filter(status="PENDING").order_by("id")
    ]
    refused = await gql(APPROVE, {"id": grant_ids[0]}, token=manager)
    assert _error(refused, "valueGrantApprove")["code"] == "PERMISSION_DENIED"
    pending = (await gql(GRANTS, {"s": "PENDING"}, token=owner))["data"]["valueGrants"]["nodes"]
    assert [(g["kind"], g["points"], g["amount"]) for g in pending] == [
        ("POINTS", 5000, None),
        ("VOUCHER", None, {"amount": "99999.99"}),
        ("POINTS", 100_000_000, None),
    ]
    assert (await gql(GRANTS, {"s": "PENDING"}, token=manager))["data"] is None

    approved = await gql(APPROVE, {"id": grant_ids[2]}, token=owner)
    assert approved["data"]["valueGrantApprove"] == {
        "grant": {"status": "APPROVED"},
        "userErrors": [],
    }
    assert await balance(ada) == 5100
    rejected = await gql(REJECT, {"id": grant_ids[1]}, token=owner)
    assert rejected["data"]["valueGrantReject"]["grant"]["status"] == "REJECTED"
    twice = await gql(APPROVE, {"id": grant_ids[1]}, token=owner)
    assert _error(twice, "valueGrantApprove")["code"] == "NOT_PENDING"
    assert await m.Voucher.all().count() == 0 and await balance(ada) == 5100
    last = await m.PointsEntry.filter(member_id=ada.id).order_by("-id").first()
    assert last is not None and "(approved by staff:" in last.actor  # the trail names both


async def test_owners_are_not_capped(gql, settings):
    world = await make_world(products=1)
    bo = await member_of(None, "bo@example.com")
    owner = await staff_token(settings.secret_key, role="OWNER")

    body = await gql(ADJUST, {"m": gid(bo), "p": 1_000_000}, token=owner)

    assert body["data"]["pointsAdjust"] == {"pointsBalance": 1_000_000, "userErrors": []}
    assert world.part_dieu is not None


async def test_the_cap_holds_when_grants_race(gql, settings):
    world = await make_world(products=1)
    ada = await member_of(world.part_dieu, "ada@example.com")
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    cap = settings.manager_daily_points_cap
    share = cap // 2 - 1  # two fit under the cap, the third does not

    bodies = await asyncio.gather(
        *(gql(ADJUST, {"m": gid(ada), "p": share}, token=manager) for _ in range(5))
    )

    codes = sorted(
        b["data"]["pointsAdjust"]["userErrors"][0]["code"]
        if b["data"]["pointsAdjust"]["userErrors"]
        else "OK"
        for b in bodies
    )
    assert codes == ["APPROVAL_REQUIRED"] * 3 + ["OK"] * 2
    assert await balance(ada) == 2 * share
