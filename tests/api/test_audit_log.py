"""Every staff and partner mutation is written to the audit log (who, role, field, input without
secrets, result, client address), readable by owners only; members' and anonymous calls are not."""

from __future__ import annotations

import json

from adapters.db import models as m
from tests.api.presence import PRESENCE
from tests.api.trust_world import gid, member_of, member_token
from tests.factories import make_world, staff_token

LOG = """query($first: Int!, $after: String) { auditLog(first: $first, after: $after) {
  nodes { actor role field input result clientAddress at } pageInfo { hasNextPage endCursor } } }"""
ADJUST = """mutation($m: ID!, $p: Int!) { pointsAdjust(memberId: $m, points: $p, reason: "goodwill") {
  userErrors { code } } }"""
STAFF = (
    """mutation($i: StaffUserCreateInput!) { staffUserCreate(input: $i) { userErrors { code } } }"""
)
KEY = (
    """mutation { apiKeyCreate(input: {partner: "Acme", scopes: ["catalog:write"]}) { secret } }"""
)
PRODUCT = """mutation { productCreate(input: {title: "Partner tee"}) { userErrors { code } } }"""


async def _log(gql, owner: str, first: int = 20, after: str | None = None) -> dict:
    body = await gql(LOG, {"first": first, "after": after}, token=owner)
    return body["data"]["auditLog"]


async def test_staff_and_partner_mutations_are_logged_without_secrets(gql, settings):
    world = await make_world(products=1)
    ada = await member_of(world.part_dieu, "ada@example.com")
    bo = await member_of(world.bellecour, "bo@example.com")
    owner = await staff_token(settings.secret_key, role="OWNER")
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )

    await gql(ADJUST, {"m": gid(ada), "p": 10}, token=manager)
    await gql(ADJUST, {"m": gid(bo), "p": 10}, token=manager)
    password = "a very long staff password"
    new = {
        "email": "clerk@example.com",
        "password": password,
        "role": "CLERK",
        "locationIds": [world.gid(world.part_dieu)],
    }
    await gql(STAFF, {"i": new}, token=owner)
    secret = (await gql(KEY, token=owner))["data"]["apiKeyCreate"]["secret"]
    await gql(PRODUCT, token=secret)
    await gql(PRESENCE, token=member_token(settings.secret_key, ada))  # a member: not audited

    log = await _log(gql, owner)
    rows = [(e["field"], e["role"], e["result"]) for e in log["nodes"]]
    assert rows == [
        ("productCreate", "PARTNER", "OK"),
        ("apiKeyCreate", "OWNER", "OK"),
        ("staffUserCreate", "OWNER", "OK"),
        ("pointsAdjust", "STORE_MANAGER", "OUTSIDE_YOUR_STORES"),
        ("pointsAdjust", "STORE_MANAGER", "OK"),
    ]
    adjust = log["nodes"][-1]
    assert adjust["actor"].startswith("staff:") and adjust["clientAddress"] == "127.0.0.9"
    assert json.loads(adjust["input"]) == {
        "memberId": gid(ada),
        "points": 10,
        "reason": "goodwill",
    }
    created = json.loads(log["nodes"][2]["input"])["input"]
    assert created["password"] == "[redacted]" and created["email"] == "clerk@example.com"
    assert password not in json.dumps(log) and secret not in json.dumps(log)
    assert log["nodes"][0]["actor"].startswith("partner:")  # the key, never its secret


async def test_only_owners_read_the_log_a_page_at_a_time(gql, settings):
    world = await make_world(products=1)
    ada = await member_of(world.part_dieu, "ada@example.com")
    owner = await staff_token(settings.secret_key, role="OWNER")
    admin = await staff_token(settings.secret_key, role="ADMIN")
    for points in (1, 2, 3):
        await gql(ADJUST, {"m": gid(ada), "p": points}, token=owner)

    first = await _log(gql, owner, first=2)
    rest = await _log(gql, owner, first=2, after=first["pageInfo"]["endCursor"])

    seen = [json.loads(e["input"])["points"] for e in first["nodes"] + rest["nodes"]]
    assert seen == [3, 2, 1] and first["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
    for token in (admin, member_token(settings.secret_key, ada), None):
        body = await gql(LOG, {"first": 5}, token=token)
        assert body["data"] is None and body["errors"], body


async def test_events_carry_no_verification_token_nor_voucher_code(gql, settings):
    world = await make_world(products=1)
    signup = """mutation($i: MemberCreateInput!) { memberCreate(input: $i) { accepted } }"""
    await gql(signup, {"i": {"email": "cy@example.com", "password": "a long enough secret"}})
    cy = await m.Member.get(email="cy@example.com")
    owner = await staff_token(settings.secret_key, role="OWNER")
    issue = (
        """mutation($m: ID!) { voucherIssue(memberId: $m, amount: "5.00") { voucher { code } } }"""
    )
    code = (await gql(issue, {"m": gid(cy)}, token=owner))["data"]["voucherIssue"]["voucher"][
        "code"
    ]

    message = await m.MemberMessage.get(member_id=cy.id)  # the notifier's private queue
    token = message.body.rsplit(" ", 1)[1]
    events = json.dumps([e.payload for e in await m.OutboxEvent.all()])
    assert len(token) > 20 and token not in events and code not in events
    assert "cy@example.com" not in events and world.part_dieu is not None
