"""Who the client is and how often it may try: X-Forwarded-For only from trusted proxies,
identifiers in one canonical spelling, login slowed per account and per address without a
stranger locking anyone out, sign-up throttled per address, argon2 off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from adapters.web.auth import client_address
from app import build_services, create_app
from domain.contact import canonical_email, canonical_identifier, canonical_phone
from domain.identity import throttle
from tests.api.test_limits import fresh_window
from tests.api.test_members import SIGNUP
from tests.conftest import GraphQLClient
from tests.factories import make_world, staff_token

STAFF_LOGIN = """mutation($e: String!, $p: String!) { staffLogin(email: $e, password: $p) {
  accessToken userErrors { code } } }"""
MEMBER_LOGIN = """mutation($id: String!, $p: String!) { memberLogin(identifier: $id, password: $p) {
  accessToken userErrors { code } } }"""


def app_with(settings: Any, services: Any, **changes: Any) -> Any:
    custom = replace(settings, **changes)
    return create_app(
        custom, services=build_services(custom, kv=services.kv), manage_database=False
    )


@contextlib.asynccontextmanager
async def client_at(app: Any, address: str) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield GraphQLClient(http)


# --- the client address ---------------------------------------------------------------------


def test_forwarded_for_is_believed_only_from_a_trusted_proxy():
    assert client_address("203.0.113.7", "1.2.3.4", ()) == "203.0.113.7"
    assert client_address("203.0.113.7", "1.2.3.4", ("10.0.0.0/8",)) == "203.0.113.7"
    assert client_address("10.0.0.5", "1.2.3.4", ("10.0.0.0/8",)) == "1.2.3.4"
    # the client can prepend anything; the right-most hop our proxies did not add is the client
    assert client_address("10.0.0.5", "6.6.6.6, 1.2.3.4, 10.0.0.9", ("10.0.0.0/8",)) == "1.2.3.4"
    assert client_address("10.0.0.5", "not an address", ("10.0.0.0/8",)) == "10.0.0.5"


async def test_the_anonymous_rate_limit_does_not_reset_with_a_forged_header(settings, services):
    app = app_with(settings, services, anonymous_rate_limit_per_minute=3)
    await fresh_window(60)
    async with client_at(app, "203.0.113.7") as gql:
        statuses = []
        for i in range(5):
            headers = {"X-Forwarded-For": f"198.51.100.{i}"}
            response = await gql.http.post(
                "/graphql", json={"query": "{ channels { handle } }"}, headers=headers
            )
            statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429, 429]


async def test_a_trusted_proxy_names_the_client(settings, services):
    app = app_with(
        settings, services, anonymous_rate_limit_per_minute=2, trusted_proxies=("10.0.0.0/8",)
    )
    await fresh_window(60)
    async with client_at(app, "10.0.0.5") as gql:

        async def status(client: str) -> int:
            response = await gql.http.post(
                "/graphql",
                json={"query": "{ channels { handle } }"},
                headers={"X-Forwarded-For": f"6.6.6.6, {client}"},
            )
            return response.status_code

        assert [await status("1.2.3.4") for _ in range(3)] == [200, 200, 429]
        assert await status("5.6.7.8") == 200  # another client behind the same proxy


# --- canonical identifiers ------------------------------------------------------------------


def test_one_spelling_per_phone_and_email():
    spellings = ["06 12 34 56 78", "0612345678", "+33 6 12 34 56 78", "0033612345678"]
    assert {canonical_phone(s) for s in spellings} == {"+33612345678"}
    assert canonical_phone("not a phone") is None
    assert canonical_email("  Ada@Example.COM ") == "ada@example.com"
    assert canonical_identifier("06.12.34.56.78") == canonical_identifier("+33612345678")


async def test_every_spelling_of_a_phone_shares_one_login_counter(gql):
    await make_world(products=0)
    await fresh_window(300)
    signup = {"phone": "06 12 34 56 78", "password": "a long enough secret"}
    assert (await gql(SIGNUP, {"i": signup}))["data"]["memberCreate"]["accepted"]
    spellings = ["06 12 34 56 78", "0033612345678", "+33 6 12 34 56 78", "0612345678"]
    codes = []
    for i in range(11):
        body = await gql(MEMBER_LOGIN, {"id": spellings[i % 4], "p": f"wrong guess {i}"})
        codes.append(body["data"]["memberLogin"]["userErrors"][0]["code"])
    assert codes[:10] == ["INVALID_CREDENTIALS"] * 10 and codes[10] == "THROTTLED"


# --- login: slowed, never locked by a stranger ---------------------------------------------


async def test_a_stranger_cannot_lock_a_staff_account(app, settings, monkeypatch):
    monkeypatch.setattr(throttle, "FIRST_DELAY_SECONDS", 0.01)
    await make_world(products=0)
    await staff_token(settings.secret_key, email="boss@example.com", password="the real password")
    await fresh_window(300)
    async with client_at(app, "198.51.100.66") as stranger:
        codes = []
        for i in range(12):
            body = await stranger(STAFF_LOGIN, {"e": "Boss@Example.com", "p": f"guess {i}"})
            codes.append(body["data"]["staffLogin"]["userErrors"][0]["code"])
        assert codes[:10] == ["INVALID_CREDENTIALS"] * 10 and codes[10:] == ["THROTTLED"] * 2
    async with client_at(app, "203.0.113.10") as owner:
        body = await owner(STAFF_LOGIN, {"e": "boss@example.com", "p": "the real password"})
        assert body["data"]["staffLogin"]["accessToken"], body


def test_login_slows_down_exponentially_per_account():
    delays = [throttle.login_delay(n) for n in range(1, 20)]
    assert delays[:10] == [0.0] * 10
    assert delays[10] > 0 and delays[11] == 2 * delays[10] and delays[12] == 2 * delays[11]
    assert max(delays) == throttle.MAX_DELAY_SECONDS


async def test_guesses_spread_over_addresses_wait_longer_and_longer(app, settings, monkeypatch):
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(throttle.asyncio, "sleep", no_wait)
    await make_world(products=0)
    await staff_token(settings.secret_key, email="boss@example.com", password="the real password")
    await fresh_window(900)
    for i in range(13):
        async with client_at(app, f"198.51.100.{i}") as guesser:
            body = await guesser(STAFF_LOGIN, {"e": "boss@example.com", "p": f"guess {i}"})
            assert body["data"]["staffLogin"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    assert waits == [throttle.login_delay(n) for n in (11, 12, 13)] and waits[2] > waits[0] > 0


# --- sign-up and hashing --------------------------------------------------------------------


async def test_signup_is_throttled_per_address(settings, services):
    app = app_with(settings, services, signup_limit_per_hour=2)
    await make_world(products=0)
    await fresh_window(3600)
    async with client_at(app, "198.51.100.20") as gql:
        for i in range(2):
            signup = {"email": f"bot{i}@example.com", "password": "a long enough secret"}
            assert (await gql(SIGNUP, {"i": signup}))["data"]["memberCreate"]["accepted"]
        refused = await gql.raw(SIGNUP, {"i": {"email": "bot9@example.com", "password": "x" * 20}})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    async with client_at(app, "203.0.113.20") as other:
        signup = {"email": "real@example.com", "password": "a long enough secret"}
        assert (await other(SIGNUP, {"i": signup}))["data"]["memberCreate"]["accepted"]


@pytest.mark.parametrize("mutation", ["staff", "member"])
async def test_password_hashing_does_not_block_the_event_loop(gql, services, monkeypatch, mutation):
    await make_world(products=0)

    def slow_verify(*args: Any) -> bool:
        time.sleep(0.3)  # a CPU-bound argon2 check, as the event loop would feel it
        return False

    monkeypatch.setattr(services.hasher, "verify", slow_verify)
    monkeypatch.setattr(services.hasher, "dummy_verify", lambda: slow_verify())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1

    async def login() -> int:
        if mutation == "staff":
            await gql(STAFF_LOGIN, {"e": "nobody@example.com", "p": "whatever it is"})
        else:
            await gql(MEMBER_LOGIN, {"id": "nobody@example.com", "p": "whatever it is"})
        return ticks

    ticks_when_done, _ = await asyncio.gather(login(), ticker())
    # the ticker ran alongside the 0.3 s check instead of waiting for it
    assert ticks_when_done >= 10


async def test_a_once_per_member_coupon_counts_guest_checkouts_with_the_members_email(
    gql, settings
):
    from tests.api.test_orders import CHECKOUT, CREATE
    from tests.api.test_promotions import CODES, PROMO

    world = await make_world(products=1)
    signup = {"email": "ada@example.com", "phone": "06 12 34 56 78", "password": "x" * 20}
    assert (await gql(SIGNUP, {"i": signup}))["data"]["memberCreate"]["accepted"]
    owner = await staff_token(settings.secret_key)
    coupon = {"name": "Once", "kind": "PERCENTAGE", "percent": 10, "code": "once10"}
    created = await gql(PROMO, {"i": {**coupon, "perMemberLimit": 1}}, token=owner)
    assert created["data"]["promotionCreate"]["userErrors"] == []
    codes = []
    for i, buyer in enumerate(
        [{"email": "ada@example.com"}, {"email": " ADA@example.COM"}, {"phone": "0033612345678"}]
    ):
        data = {
            "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 1}],
            "buyerIdentity": buyer,
            "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
        }
        cart = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]
        await gql(CODES, {"c": cart["id"], "codes": ["once10"]})
        placed = await gql(CHECKOUT, {"cart": cart["id"], "key": f"guest-{i}"})
        errors = placed["data"]["checkoutComplete"]["userErrors"]
        codes.append(errors[0]["code"] if errors else "PLACED")
    assert codes == ["PLACED", "CODE_USAGE_LIMIT_REACHED", "CODE_USAGE_LIMIT_REACHED"]


async def test_a_once_per_member_coupon_holds_for_a_guest_without_an_account(gql, settings):
    from tests.api.test_orders import CHECKOUT, CREATE
    from tests.api.test_promotions import CODES, PROMO

    world = await make_world(products=1)
    owner = await staff_token(settings.secret_key)
    coupon = {"name": "Once", "kind": "PERCENTAGE", "percent": 10, "code": "once10"}
    created = await gql(PROMO, {"i": {**coupon, "perMemberLimit": 1}}, token=owner)
    assert created["data"]["promotionCreate"]["userErrors"] == []
    codes = []
    for i, buyer in enumerate(
        [{"email": "bo@example.com"}, {"email": "BO@example.com "}, {"email": "cy@example.com"}]
    ):
        data = {
            "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 1}],
            "buyerIdentity": buyer,
            "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
        }
        cart = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]
        await gql(CODES, {"c": cart["id"], "codes": ["once10"]})
        placed = await gql(CHECKOUT, {"cart": cart["id"], "key": f"g-{i}"})
        errors = placed["data"]["checkoutComplete"]["userErrors"]
        codes.append(errors[0]["code"] if errors else "PLACED")
    assert codes == ["PLACED", "CODE_USAGE_LIMIT_REACHED", "PLACED"]  # one per buyer
