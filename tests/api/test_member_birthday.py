"""A member's birthday: given at sign-up or changed by the member, checked (from 1900 to
today), read by the member, brand-wide staff and the staff of the member's stores only."""

from __future__ import annotations

from datetime import date

from adapters.db import models as m
from tests.api.test_members import LOGIN, SIGNUP, VERIFY, _token
from tests.factories import make_world, staff_token

LOOKUP = """query($p: String) { memberLookup(phone: $p) { name birthday } }"""
ME = "{ me { birthday } }"
UPDATE = """mutation($i: MemberUpdateInput!) {
  memberUpdate(input: $i) { member { birthday } userErrors { field code } } }"""


async def _ada(gql, world, birthday: str | None = "1990-12-12") -> str:
    """Ada signs up through Part-Dieu's code with a birthday: her access token."""
    signup = {
        "email": "ada@example.com",
        "phone": "06 12 34 56 78",
        "password": "a long enough secret",
        "name": "Ada",
        "referralCode": f"REF-S{world.part_dieu.id}",
        "birthday": birthday,
    }
    body = await gql(SIGNUP, {"i": signup})
    assert body["data"]["memberCreate"]["userErrors"] == [], body
    await gql(VERIFY, {"t": await _token("PHONE")})
    login = {"id": "+33612345678", "p": "a long enough secret"}
    return str((await gql(LOGIN, login))["data"]["memberLogin"]["accessToken"])


async def test_each_role_reads_a_birthday_as_the_policy_says(gql, settings):
    world = await make_world(products=1)
    token = await _ada(gql, world)
    assert (await m.Member.get(name="Ada")).birthday == date(1990, 12, 12)
    assert (await gql(ME, token=token))["data"]["me"]["birthday"] == "1990-12-12"
    key = settings.secret_key
    own_stores = [world.part_dieu.id]
    readers = {
        "owner": await staff_token(key),
        "admin": await staff_token(key, role="ADMIN"),
        "manager": await staff_token(key, role="STORE_MANAGER", location_ids=own_stores),
        "clerk": await staff_token(key, role="CLERK", location_ids=own_stores),
    }
    for who, staff in readers.items():
        seen = (await gql(LOOKUP, {"p": "0612345678"}, token=staff))["data"]["memberLookup"]
        assert seen == {"name": "Ada", "birthday": "1990-12-12"}, who
    other = [world.bellecour.id]
    for role in ("CLERK", "STORE_MANAGER"):  # another store's staff identify her only to sell
        staff = await staff_token(key, role=role, location_ids=other)
        seen = (await gql(LOOKUP, {"p": "0612345678"}, token=staff))["data"]["memberLookup"]
        assert seen == {"name": "Ada", "birthday": None}, (role, seen)


async def test_the_member_changes_their_birthday_within_1900_to_today(gql):
    world = await make_world(products=1)
    token = await _ada(gql, world, birthday=None)
    assert (await gql(ME, token=token))["data"]["me"]["birthday"] is None
    body = await gql(UPDATE, {"i": {"birthday": "2000-02-29"}}, token=token)
    assert body["data"]["memberUpdate"] == {"member": {"birthday": "2000-02-29"}, "userErrors": []}
    for bad in ("1899-12-31", "2999-01-01"):
        body = await gql(UPDATE, {"i": {"birthday": bad}}, token=token)
        payload = body["data"]["memberUpdate"]
        assert payload["userErrors"] == [{"field": ["birthday"], "code": "INVALID"}], bad
    assert (await m.Member.get(name="Ada")).birthday == date(2000, 2, 29)  # kept
    # another field changed alone keeps the birthday
    await gql(UPDATE, {"i": {"name": "Ada L."}}, token=token)
    assert (await m.Member.get(email="ada@example.com")).birthday == date(2000, 2, 29)


async def test_a_birthday_in_the_future_is_refused_at_sign_up(gql):
    world = await make_world(products=1)
    signup = {
        "email": "bo@example.com",
        "password": "a long enough secret",
        "referralCode": f"REF-S{world.part_dieu.id}",
        "birthday": "2999-01-01",
    }
    body = await gql(SIGNUP, {"i": signup})
    assert body["data"]["memberCreate"]["userErrors"] == [
        {"field": ["birthday"], "code": "INVALID"}
    ]
    assert await m.Member.filter(email="bo@example.com").count() == 0
