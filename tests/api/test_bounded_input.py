"""Bounded input: search terms capped, variables counted in the token budget, IDs and cursors
range-checked, all answered with clear codes instead of internal errors or a blocked loop."""

from __future__ import annotations

import base64
import json
import time

from adapters.web.limits import token_count
from schema.relay import to_global_id
from tests.api.test_client_address import app_with, client_at
from tests.api.test_orders import CREATE
from tests.factories import make_world

SEARCH = "query($q: String) { products(first: 5, query: $q) { nodes { handle } } }"


def _codes(body: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def _raw_gid(type_name: str, ident: str) -> str:
    return base64.urlsafe_b64encode(f"gid://o2o/{type_name}/{ident}".encode()).decode()


async def test_a_search_of_many_words_is_refused_quickly(gql, settings):
    await make_world(products=2)
    started = time.monotonic()
    body = (await gql.raw(SEARCH, {"q": " ".join(["linen"] * 20_000)})).json()
    assert _codes(body) in (["TOO_MANY_TOKENS"], ["SEARCH_TOO_LONG"])
    assert time.monotonic() - started < 1.0
    body = (await gql.raw(SEARCH, {"q": "linen " * settings.max_variable_tokens})).json()
    assert _codes(body) == ["TOO_MANY_TOKENS"] and "data" not in body
    body = await gql(SEARCH, {"q": " ".join(["linen"] * 3_000)})
    assert _codes(body) == ["SEARCH_TOO_LONG"] and body["data"] is None


async def test_search_terms_are_capped_in_count_and_length(gql):
    await make_world(products=2)
    ok = await gql(SEARCH, {"q": "linen shirt tag:summer"})
    assert "errors" not in ok and len(ok["data"]["products"]["nodes"]) == 2
    for query in (" ".join(["linen"] * 13), "x" * 65, "linen " + "y" * 300):
        body = await gql(SEARCH, {"q": query})
        assert _codes(body) == ["SEARCH_TOO_LONG"], query
        assert body["errors"][0]["extensions"]["field"] == "query"


async def test_variables_count_in_the_token_budget(gql, settings):
    await make_world(products=1)
    many = {"q": "linen", "unused": list(range(settings.max_variable_tokens))}
    body = (await gql.raw(SEARCH, many)).json()
    assert _codes(body) == ["TOO_MANY_TOKENS"]
    # the largest legitimate input, a 1,000-price bulk update with every field, fits
    price = {
        "variantId": "x",
        "kind": "SALE",
        "amount": "19.99",
        "currencyCode": "EUR",
        "channel": "web",
        "tier": "gold",
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": None,
    }
    assert token_count({"prices": [price] * 1000}) < settings.max_variable_tokens


async def test_ids_beyond_the_key_range_are_invalid_ids(gql):
    world = await make_world(products=1)
    node = "query($id: ID!) { node(id: $id) { id } }"
    product = "query($id: ID!) { product(id: $id) { id } }"
    for ident in (str(2**31), str(2**63), str(2**64), "9" * 40, "0", "-1", "1e3", "١٢"):
        gid = _raw_gid("Product", ident)
        for query in (node, product):
            body = await gql(query, {"id": gid})
            assert _codes(body) == ["INVALID_ID"], (ident, body)
    largest = await gql(node, {"id": to_global_id("Product", 2**31 - 1)})
    assert largest == {"data": {"node": None}}
    data = {"lines": [{"merchandiseId": _raw_gid("ProductVariant", str(2**63)), "quantity": 1}]}
    created = (await gql(CREATE, {"input": data}))["data"]["cartCreate"]
    assert [e["code"] for e in created["userErrors"]] == ["INVALID_ID"]
    assert world.products


async def test_cursors_beyond_range_are_invalid_cursors(gql):
    await make_world(products=2)
    page = "query($a: String) { products(first: 1, after: $a) { nodes { handle } } }"
    for raw in (
        [1, 2**31],
        [1, 2**63],
        [1, -5],
        [[1, 2], 3],
        [{"x": 1}, 3],
        [2**40, 1],
        ["abc", 1],
    ):
        cursor = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()
        body = await gql(page, {"a": cursor})
        assert _codes(body) == ["INVALID_CURSOR"], raw


async def test_a_get_request_beyond_the_size_limit_is_refused(settings, services):
    app = app_with(settings, services, max_body_bytes=2_000)
    async with client_at(app, "203.0.113.1") as gql:
        query = "{ channels { handle } }"
        assert (await gql.http.get("/graphql", params={"query": query})).status_code == 200
        padded = {"query": query, "variables": json.dumps({"pad": "x" * 2_000})}
        assert (await gql.http.get("/graphql", params=padded)).status_code == 414
