"""Attribution over GraphQL: a clerk's QR from creation to a bound member that staff see,
scans (anonymous then linked at sign-up, tampered, unknown, inactive, throttled), the legacy
REF- codes, the binding policy and its effect at the till, manual binding, and each role on
each field."""

from __future__ import annotations

from typing import Any

from adapters.db import models as m
from domain.attribution.codes import QrSigner
from tests.api.test_client_address import app_with, client_at
from tests.api.test_limits import fresh_window
from tests.api.test_members import LOGIN, SIGNUP, VERIFY, _token
from tests.factories import World, make_world, staff_token

CODE_FIELDS = "id code kind name active qrPayload landingUrl store { name } clerk { name }"
CREATE = (
    """mutation($i: AttributionCodeInput!) { attributionCodeCreate(input: $i) {
  code { %s } userErrors { field code } } }"""
    % CODE_FIELDS
)
CODES = "query($k: AttributionCodeKind) { attributionCodes(kind: $k) { code kind name } }"
DEACTIVATE = """mutation($id: ID!) { attributionCodeDeactivate(id: $id) {
  code { active } userErrors { field code } } }"""
SCAN = """mutation($p: String!, $v: String) { attributionScan(payload: $p, visitorId: $v) {
  kind name storeName clerkName landingUrl userErrors { field code } } }"""
BINDING = "binding { store { name } clerk { name } source boundAt expiresAt rule }"
LOOKUP = "query($p: String) { memberLookup(phone: $p) { name %s } }" % BINDING
POLICY = """{ bindingPolicy { bindDays takeoverAfterDays lastTouchDays bindOnScan bindOnSignup
  bindAtTill } }"""
POLICY_UPDATE = """mutation($i: BindingPolicyInput!) { bindingPolicyUpdate(input: $i) {
  policy { bindDays takeoverAfterDays } userErrors { field code } } }"""
BIND = """mutation($m: ID!, $l: ID!, $s: ID) { memberBind(memberId: $m, locationId: $l, staffId: $s) {
  binding { source store { name } clerk { name } rule } userErrors { field code } } }"""
POS = """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) {
  order { status } userErrors { field code message } } }"""
PHONE = "0612345678"
VISITOR = "visitor-0123456789"


async def _staff(settings: Any, role: str, stores: list[int], email: str) -> tuple[str, int]:
    token = await staff_token(settings.secret_key, role=role, location_ids=stores, email=email)
    user = await m.StaffUser.get(email=email)
    user.name = email.split("@")[0].replace(".", " ").title()
    await user.save()
    return token, user.id


async def _team(gql: Any, settings: Any, world: World) -> dict[str, Any]:
    bc, pd = world.bellecour.id, world.part_dieu.id
    team: dict[str, Any] = {"owner": await staff_token(settings.secret_key)}
    team["admin"] = await staff_token(settings.secret_key, role="ADMIN")
    for name, role, store in (
        ("hugo", "CLERK", bc),
        ("ines", "CLERK", pd),
        ("maud", "STORE_MANAGER", bc),
        ("paul", "STORE_MANAGER", pd),
    ):
        team[name], team[f"{name}_id"] = await _staff(
            settings, role, [store], f"{name}.{role.lower()}@example.com"
        )
    return team


async def _clerk_code(gql: Any, token: str, staff_id: int) -> dict[str, Any]:
    from schema.relay import to_global_id

    made = await gql(
        CREATE,
        {"i": {"kind": "CLERK", "staffId": to_global_id("StaffUser", staff_id)}},
        token=token,
    )
    payload = made["data"]["attributionCodeCreate"]
    assert payload["userErrors"] == [], made
    code: dict[str, Any] = payload["code"]
    return code


async def _sign_up(gql: Any, referral: str | None, *, phone: str = PHONE) -> int:
    signup = {"phone": phone, "password": "a long enough secret", "name": "Ada"}
    body = await gql(SIGNUP, {"i": {**signup, "referralCode": referral, "visitorId": VISITOR}})
    assert body["data"]["memberCreate"] == {"accepted": True, "userErrors": []}, body
    await gql(VERIFY, {"t": await _token("PHONE")})
    member = await m.Member.filter().order_by("-id").first()
    assert member is not None
    return member.id


async def test_a_clerks_qr_signs_up_a_bound_member_that_staff_see(gql, settings):
    world = await make_world(products=1)
    team = await _team(gql, settings, world)
    code = await _clerk_code(gql, team["maud"], team["hugo_id"])  # Hugo's manager makes it
    payload = code["qrPayload"]
    signer = QrSigner.from_secret(str(settings.secret_key))
    assert payload == signer.payload(f"REF-C{team['hugo_id']}") == f"{code['code']}.{payload[-16:]}"
    assert code["landingUrl"] == f"{settings.public_base_url}/?a={payload}"
    assert (code["kind"], code["name"], code["store"], code["clerk"]) == (
        "CLERK",
        "Hugo Clerk",
        {"name": "Bellecour"},
        {"name": "Hugo Clerk"},
    )
    # the customer scans it before having an account: an anonymous scan under their visitor id
    scanned = (await gql(SCAN, {"p": payload, "v": VISITOR}))["data"]["attributionScan"]
    assert scanned == {
        "kind": "CLERK",
        "name": "Hugo Clerk",
        "storeName": "Bellecour",
        "clerkName": "Hugo Clerk",
        "landingUrl": code["landingUrl"],
        "userErrors": [],
    }
    member_id = await _sign_up(gql, payload)
    scans = await m.AttributionScan.all().values_list("member_id", "visitor")
    assert scans == [(member_id, VISITOR)]  # linked, and the sign-up is not a second scan
    bound = await m.MemberBinding.get(member_id=member_id)
    assert (bound.location_id, bound.staff_id, bound.source) == (
        world.bellecour.id,
        team["hugo_id"],
        "SIGNUP",
    )
    events = await m.OutboxEvent.filter(topic="member.bound").values_list("payload", flat=True)
    assert [(e["old"], e["new"]["staffId"]) for e in events] == [(None, team["hugo_id"])]

    # who reads Member.binding: staff of the bound store, the brand; not other stores' staff
    for who in ("hugo", "maud", "owner", "admin"):
        seen = (await gql(LOOKUP, {"p": PHONE}, token=team[who]))["data"]["memberLookup"]
        assert seen["binding"]["store"] == {"name": "Bellecour"}, who
        assert seen["binding"]["clerk"] == {"name": "Hugo Clerk"}, who
        assert seen["binding"]["source"] == "SIGNUP", who
        assert seen["binding"]["rule"].startswith(
            f"signed up with Hugo Clerk's code (REF-C{team['hugo_id']}) on "
        ), who
        assert seen["binding"]["rule"].endswith("; bound 365 days"), who
    for who in ("ines", "paul"):
        seen = (await gql(LOOKUP, {"p": PHONE}, token=team[who]))["data"]["memberLookup"]
        assert seen["name"] == "Ada" and seen["binding"] is None, who
    login = await gql(LOGIN, {"id": PHONE, "p": "a long enough secret"})
    member = login["data"]["memberLogin"]["accessToken"]
    assert (await gql("{ me { %s } }" % BINDING, token=member))["data"]["me"]["binding"] is None

    # the member scans Hugo's QR again: the same scan, no second binding
    again = (await gql(SCAN, {"p": payload}, token=member))["data"]["attributionScan"]
    assert again["userErrors"] == [] and await m.AttributionScan.all().count() == 1
    assert await m.OutboxEvent.filter(topic="member.bound").count() == 1


async def test_codes_by_role_and_deactivation(gql, settings):
    world = await make_world(products=0)
    team = await _team(gql, settings, world)
    await _clerk_code(gql, team["maud"], team["hugo_id"])
    await _clerk_code(gql, team["paul"], team["ines_id"])
    venue = {"kind": "VENUE", "name": "Gym Lyon 7", "code": "gym-lyon-7", "landingPath": "/gym"}
    made = (await gql(CREATE, {"i": venue}, token=team["owner"]))["data"]["attributionCodeCreate"]
    assert made["code"]["code"] == "GYM-LYON-7" and made["code"]["store"] is None
    assert made["code"]["landingUrl"].endswith("/gym?a=" + made["code"]["qrPayload"])
    # managers: only their stores and their clerks; clerks make none
    refused = {
        "maud": {"kind": "CLERK", "staffId": _gid("StaffUser", team["ines_id"])},
        "paul": {"kind": "STORE", "locationId": _gid("Location", world.bellecour.id)},
        "hugo": {"kind": "STORE", "locationId": _gid("Location", world.bellecour.id)},
    }
    for who, data in refused.items():
        body = await gql(CREATE, {"i": data}, token=team[who])
        assert body["data"]["attributionCodeCreate"]["userErrors"][0]["code"] == (
            "PERMISSION_DENIED"
        ), who
    twice = await gql(CREATE, {"i": venue}, token=team["admin"])
    assert twice["data"]["attributionCodeCreate"]["userErrors"] == [
        {"field": ["code"], "code": "DUPLICATE_CODE"}
    ]

    async def seen(who: str, kind: str | None = None) -> list[str]:
        body = await gql(CODES, {"k": kind}, token=team[who])
        return [c["code"] for c in body["data"]["attributionCodes"]]

    hugo, ines = f"REF-C{team['hugo_id']}", f"REF-C{team['ines_id']}"
    assert await seen("owner") == await seen("admin") == [hugo, ines, "GYM-LYON-7"]
    assert await seen("owner", "VENUE") == ["GYM-LYON-7"]
    assert await seen("maud") == await seen("hugo") == [hugo]
    assert await seen("paul") == await seen("ines") == [ines]
    for token in ("", None):
        body = await gql(CODES, token=token or "")
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    # deactivated: the QR no longer scans and the legacy text no longer signs up
    code_id = (await m.AttributionCode.get(code=hugo)).id
    body = await gql(DEACTIVATE, {"id": _gid("AttributionCode", code_id)}, token=team["paul"])
    assert body["data"]["attributionCodeDeactivate"]["userErrors"][0]["code"] == (
        "PERMISSION_DENIED"
    )
    body = await gql(DEACTIVATE, {"id": _gid("AttributionCode", code_id)}, token=team["maud"])
    assert body["data"]["attributionCodeDeactivate"] == {
        "code": {"active": False},
        "userErrors": [],
    }
    signer = QrSigner.from_secret(str(settings.secret_key))
    scan = (await gql(SCAN, {"p": signer.payload(hugo)}))["data"]["attributionScan"]
    assert scan["userErrors"] == [{"field": ["payload"], "code": "CODE_INACTIVE"}]
    signup = {"phone": PHONE, "password": "a long enough secret", "referralCode": hugo}
    body = await gql(SIGNUP, {"i": signup})
    assert body["data"]["memberCreate"]["userErrors"] == [
        {"field": ["referralCode"], "code": "CODE_INACTIVE"}
    ]


def _gid(type_name: str, ident: int) -> str:
    from schema.relay import to_global_id

    return to_global_id(type_name, ident)


async def test_tampered_and_unknown_payloads_are_user_errors(gql, settings):
    world = await make_world(products=0)
    team = await _team(gql, settings, world)
    payload = (await _clerk_code(gql, team["owner"], team["hugo_id"]))["qrPayload"]
    code, signature = payload.split(".")
    other = f"REF-C{team['ines_id']}"
    signer = QrSigner.from_secret(str(settings.secret_key))
    cases = {
        f"{other}.{signature}": "BAD_SIGNATURE",  # Ines's code under Hugo's signature
        f"{code}.{signature[::-1]}": "BAD_SIGNATURE",
        code: "BAD_SIGNATURE",
        "x" * 300: "BAD_SIGNATURE",
        signer.payload("CMP-NOTHING"): "UNKNOWN_CODE",
    }
    for bad, expected in cases.items():
        body = await gql(SCAN, {"p": bad, "v": VISITOR})
        assert body["data"]["attributionScan"]["userErrors"] == [
            {"field": ["payload"], "code": expected}
        ], bad
    body = await gql(SCAN, {"p": payload, "v": "no spaces allowed here"})
    assert body["data"]["attributionScan"]["userErrors"][0]["code"] == "INVALID_VISITOR"
    body = await gql(SIGNUP, {"i": {"phone": PHONE, "password": "a long enough secret",
                                    "referralCode": f"{other}.{signature}"}})  # fmt: skip
    assert body["data"]["memberCreate"]["userErrors"] == [
        {"field": ["referralCode"], "code": "BAD_SIGNATURE"}
    ]
    assert await m.AttributionScan.all().count() == 0 and await m.Member.all().count() == 0


async def test_legacy_store_code_without_a_row_still_binds(gql, settings):
    world = await make_world(products=0)
    owner = await staff_token(settings.secret_key)
    member_id = await _sign_up(gql, f"REF-S{world.part_dieu.id}")
    member = await m.Member.get(id=member_id)
    assert member.referral_location_id == world.part_dieu.id  # as before: the store's member
    seen = (await gql(LOOKUP, {"p": PHONE}, token=owner))["data"]["memberLookup"]["binding"]
    assert seen["store"] == {"name": "Part-Dieu"} and seen["clerk"] is None
    assert seen["rule"].startswith(f"signed up with Part-Dieu's code (REF-S{world.part_dieu.id})")


async def test_policy_by_role_and_its_change_taking_effect_at_the_till(gql, settings):
    world = await make_world(products=1, variants_per_product=1)
    team = await _team(gql, settings, world)
    till = await m.Channel.create(
        handle="store-part-dieu", name="Till", kind="STORE", currency="EUR", store=world.part_dieu
    )
    await m.ChannelLocation.create(channel=till, location=world.part_dieu)
    payload = (await _clerk_code(gql, team["owner"], team["hugo_id"]))["qrPayload"]
    member_id = await _sign_up(gql, payload)
    member_code = (await m.Member.get(id=member_id)).member_code

    async def sale(key: str) -> None:
        data = {
            "locationId": _gid("Location", world.part_dieu.id),
            "tender": "CASH",
            "idempotencyKey": key,
            "memberCode": member_code,
            "lines": [{"variantId": _gid("ProductVariant", world.variants[0].id), "quantity": 1}],
        }
        body = await gql(POS, {"i": data}, token=team["ines"])
        assert body["data"]["posOrderCreate"]["order"]["status"] == "COMPLETED", body

    # the brand reads and changes the policy; store staff and members may not
    defaults = {
        "bindDays": 365,
        "takeoverAfterDays": 90,
        "lastTouchDays": 30,
        "bindOnScan": True,
        "bindOnSignup": True,
        "bindAtTill": True,
    }
    for who in ("owner", "admin"):
        assert (await gql(POLICY, token=team[who]))["data"]["bindingPolicy"] == defaults
    for who in ("maud", "hugo"):
        body = await gql(POLICY, token=team[who])
        assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED", who
        body = await gql(POLICY_UPDATE, {"i": {"bindDays": 1}}, token=team[who])
        assert body["data"]["bindingPolicyUpdate"]["userErrors"][0]["code"] == ("PERMISSION_DENIED")
    bad = await gql(POLICY_UPDATE, {"i": {"bindDays": 0}}, token=team["owner"])
    assert bad["data"]["bindingPolicyUpdate"]["userErrors"] == [
        {"field": ["bindDays"], "code": "INVALID_POLICY"}
    ]

    # Ines serves Hugo's member at the Part-Dieu till: too early to take over under 90 days
    await sale("s1")
    assert (await m.MemberBinding.get(member_id=member_id)).staff_id == team["hugo_id"]
    changed = await gql(POLICY_UPDATE, {"i": {"takeoverAfterDays": 0}}, token=team["owner"])
    assert changed["data"]["bindingPolicyUpdate"]["policy"] == {
        "bindDays": 365,
        "takeoverAfterDays": 0,
    }
    await sale("s2")
    bound = await m.MemberBinding.get(member_id=member_id)
    assert (bound.staff_id, bound.location_id, bound.source) == (
        team["ines_id"],
        world.part_dieu.id,
        "TILL",
    )
    events = await m.OutboxEvent.filter(topic="member.bound").order_by("id")
    assert [(e.payload["old"] or {}).get("staffId") for e in events] == [None, team["hugo_id"]]
    # Ines (of the bound store now) reads it; Hugo (of the old one) no longer does
    seen = (await gql(LOOKUP, {"p": PHONE}, token=team["ines"]))["data"]["memberLookup"]
    assert (
        seen["binding"]["source"] == "TILL"
        and "at the till of Part-Dieu" in (seen["binding"]["rule"])
    )
    hugo_sees = (await gql(LOOKUP, {"p": PHONE}, token=team["hugo"]))["data"]["memberLookup"]
    assert hugo_sees["binding"] is None


async def test_manual_binding_by_managers_of_the_store(gql, settings):
    world = await make_world(products=0)
    team = await _team(gql, settings, world)
    member_id = await _sign_up(gql, None)
    args = {
        "m": _gid("Member", member_id),
        "l": _gid("Location", world.bellecour.id),
        "s": _gid("StaffUser", team["hugo_id"]),
    }
    for who in ("paul", "hugo"):
        body = await gql(BIND, args, token=team[who])
        codes = (
            {e["code"] for e in body["data"]["memberBind"]["userErrors"]}
            if body.get("data")
            else {e["extensions"]["code"] for e in body["errors"]}
        )
        assert codes == {"PERMISSION_DENIED"}, (who, body)
    body = await gql(BIND, {**args, "s": _gid("StaffUser", team["ines_id"])}, token=team["maud"])
    assert body["data"]["memberBind"]["userErrors"] == [
        {"field": ["staffId"], "code": "INVALID_CODE"}
    ]
    body = await gql(BIND, args, token=team["maud"])
    bound = body["data"]["memberBind"]
    assert bound["userErrors"] == [] and bound["binding"]["source"] == "MANUAL"
    assert bound["binding"]["store"] == {"name": "Bellecour"}
    assert bound["binding"]["clerk"] == {"name": "Hugo Clerk"}
    assert bound["binding"]["rule"].startswith(f"bound by hand by staff:{team['maud_id']} on ")


async def test_scans_are_throttled_per_address(settings, services):
    app = app_with(settings, services, scan_limit_per_minute=2)
    world = await make_world(products=0)
    owner = await staff_token(settings.secret_key)
    await fresh_window(60)
    async with client_at(app, "198.51.100.30") as gql:
        made = await gql(
            CREATE,
            {"i": {"kind": "STORE", "locationId": _gid("Location", world.part_dieu.id)}},
            token=owner,
        )
        payload = made["data"]["attributionCodeCreate"]["code"]["qrPayload"]
        for i in range(2):
            body = await gql(SCAN, {"p": payload, "v": f"{VISITOR}-{i}"})
            assert body["data"]["attributionScan"]["userErrors"] == []
        refused = await gql.raw(SCAN, {"p": payload, "v": VISITOR})
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert await m.AttributionScan.all().count() == 2
