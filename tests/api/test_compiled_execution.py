"""Compiled execution (adapters/web/compiled.py) answers byte for byte what the standard
executor answers: over generated catalog queries (random fields, aliases, fragments, arguments,
variables), as an anonymous shopper, a member with a tier price and staff.

Each query is sent to the app with compiled execution off, and twice to the app with it on (the
first run compiles the plan, the second runs it); the bodies must be identical and the plan must
have been used. Documents the plan does not cover (directives, abstract types, introspection)
and requests it cannot answer (a null in a non-null field, bad variables) must fall back and
still answer exactly as the standard executor does.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import httpx
import pytest

from adapters.db import models as m
from adapters.web.compiled import Plan
from app import create_app
from tests.api.trust_world import member_token
from tests.factories import add_sale, make_world, staff_token

MONEY = ["amount", "currencyCode"]
VARIANT = [
    "id",
    "sku",
    "title",
    "barcode",
    "weightGrams",
    "selectedOptions { name value }",
    "price { %s }",
    "compareAtPrice { %s }",
    "saleEndsAt",
    "quantityAvailable",
    "availableForSale",
    "product { id handle availableForSale }",
    "storeAvailability(first: 2) { quantityAvailable available pickUpEnabled location { id } }",
    "__typename",
]
PRODUCT = [
    "id",
    "title",
    "handle",
    "description",
    "status",
    "vendor",
    "tags",
    "createdAt",
    "updatedAt",
    "availableForSale",
    "priceRange { minVariantPrice { %s } maxVariantPrice { %s } }",
    "images { url altText }",
    "options { name values }",
    "category { id name handle }",
    "variants(first: %d) { %s }",
    "__typename",
]
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


def _pick(rng: random.Random, options: list[str], fill: Any) -> str:
    chosen = rng.sample(options, rng.randint(1, min(6, len(options))))
    parts = []
    for n, text in enumerate(chosen):
        if "%" in text:
            text = fill(text)
        if rng.random() < 0.2:
            text = f"a{n}: {text}"  # an alias
        parts.append(text)
    return " ".join(parts)


def _money(rng: random.Random) -> str:
    return " ".join(rng.sample(MONEY, rng.randint(1, 2)))


def _variant(rng: random.Random) -> str:
    return _pick(rng, VARIANT, lambda t: t % _money(rng))


def _connection(rng: random.Random, node: str) -> str:
    shape = rng.choice(["nodes", "edges", "both", "page"])
    parts = []
    if shape in ("nodes", "both"):
        parts.append(f"nodes {{ {node} }}")
    if shape in ("edges", "both"):
        parts.append(f"edges {{ cursor node {{ {node} }} }}")
    if shape == "page" or rng.random() < 0.3:
        parts.append(PAGE_INFO)
    if rng.random() < 0.2:
        parts.append("__typename")
    return " ".join(parts)


def _product(rng: random.Random) -> str:
    def fill(text: str) -> str:
        if text.startswith("variants"):
            return text % (rng.choice([1, 2, 5]), _connection(rng, _variant(rng)))
        return text % (_money(rng), _money(rng))

    fields = _pick(rng, PRODUCT, fill)
    wrap = rng.random()
    if wrap < 0.15:
        return f"... on Product {{ {fields} }}"
    if wrap < 0.3:
        return "...P"  # the named fragment below
    return fields


def generated_query(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """One query over the catalog, with its variables."""
    product = _product(rng)
    fragment = ""
    if product == "...P":
        fragment = f" fragment P on Product {{ {_pick(rng, PRODUCT[:10], str)} }}"
    variables: dict[str, Any] = {}
    if rng.random() < 0.6:
        args = [f"first: {rng.choice([1, 3, 20])}"]
        if rng.random() < 0.3:
            args.append(f"sortKey: {rng.choice(['ID', 'TITLE', 'CREATED_AT'])}")
        if rng.random() < 0.3:
            args.append("reverse: true")
        if rng.random() < 0.3:
            args.append('query: "shirt 00"')
        if rng.random() < 0.3:
            args.append(f'channel: "{rng.choice(["web", "marketplace"])}"')
        root = f"products({', '.join(args)}) {{ {_connection(rng, product)} }}"
        return f"{{ {root} }}{fragment if '...P' in root else ''}", variables
    variables = {"h": f"linen-shirt-00{rng.randint(0, 3)}"}  # 003 does not exist: null
    return f"query($h: String) {{ product(handle: $h) {{ {product} }} }}{fragment}", variables


@pytest.fixture
async def apps(services: Any, settings: Any) -> Any:
    compiled = create_app(settings, services=services, manage_database=False)
    standard = create_app(
        replace(settings, compiled_execution=False), services=services, manage_database=False
    )
    clients = []
    for app in (compiled, standard):
        _endpoint(app)._cache = None  # every request executes: no response cache hits here
        transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 5000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
    yield compiled, clients[0], clients[1]
    for client in clients:
        await client.aclose()


def _endpoint(app: Any) -> Any:
    route = next(r for r in app.routes if getattr(r, "path", "") == "/graphql")
    return route.app


def _plans(app: Any) -> Any:
    return _endpoint(app)._plans


async def _post(client: httpx.AsyncClient, body: dict[str, Any], token: str | None) -> bytes:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json=body, headers=headers)
    return response.content


async def _world(settings: Any) -> dict[str, str | None]:
    world = await make_world(products=3, variants_per_product=3)
    await add_sale(world.variants[1], 1990)
    await m.Price.create(
        variant=world.variants[0], kind="TIER", tier="GOLD", currency="EUR", amount=2500
    )
    await m.Price.create(
        variant=world.variants[3],
        kind="CHANNEL",
        channel="marketplace",
        currency="EUR",
        amount=3100,
    )
    gold = await m.Member.create(
        email="gold@example.com", password_hash="x", member_code="M-GOLD-1", tier="GOLD"
    )
    return {
        "anonymous": None,
        "member": member_token(settings.secret_key, gold),
        "staff": await staff_token(settings.secret_key),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_generated_queries_answer_the_same_bytes(apps: Any, settings: Any, seed: int) -> None:
    app, compiled, standard = apps
    callers = await _world(settings)
    rng = random.Random(seed)
    compiled_runs = 0
    for n in range(40):
        query, variables = generated_query(rng)
        body = {"query": query, "variables": variables}
        token = callers[rng.choice(list(callers))]
        expected = await _post(standard, body, token)
        first = await _post(compiled, body, token)
        second = await _post(compiled, body, token)
        assert first == expected, (n, query)
        assert second == expected, (n, query, variables)
        known, plan = _plans(app).get((query, None))
        assert known and isinstance(plan, Plan), (n, query)
        compiled_runs += 1
    assert compiled_runs == 40


async def test_tier_prices_differ_by_caller_and_stay_exact(apps: Any, settings: Any) -> None:
    _, compiled, standard = apps
    callers = await _world(settings)
    query = "{ products(first: 1) { nodes { variants { nodes { sku price { amount } } } } } }"
    seen = {}
    for who, token in callers.items():
        runs = [await _post(compiled, {"query": query}, token) for _ in range(2)]
        assert runs[0] == runs[1] == await _post(standard, {"query": query}, token)
        seen[who] = runs[1]
    assert b'"25.00"' in seen["member"] and b'"25.00"' not in seen["anonymous"]


@pytest.mark.parametrize(
    "query",
    [
        "{ products(first: 1) { nodes { id @include(if: true) } } }",  # a directive
        '{ node(id: "Z2lkOi8vbzJvL1Byb2R1Y3QvMQ") { id } }',  # an abstract type
        "{ __schema { queryType { name } } }",  # introspection
    ],
)
async def test_documents_not_compiled_run_the_standard_way(apps: Any, query: str) -> None:
    app, compiled, standard = apps
    await make_world(products=1, variants_per_product=1)
    expected = await _post(standard, {"query": query}, None)
    assert await _post(compiled, {"query": query}, None) == expected
    assert await _post(compiled, {"query": query}, None) == expected
    assert _plans(app).get((query, None)) == (True, None)


async def test_requests_the_plan_cannot_answer_fall_back(apps: Any, settings: Any) -> None:
    app, compiled, standard = apps
    await make_world(products=2, variants_per_product=1)
    query = "query($f: Int) { products(first: $f) { nodes { handle } } }"
    await _post(compiled, {"query": query, "variables": {"f": 1}}, None)
    assert isinstance(_plans(app).get((query, None))[1], Plan)
    for variables in ({"f": "many"}, {"f": 0}, {"f": 2}):  # bad variable, refused page, fine
        body = {"query": query, "variables": variables}
        assert await _post(compiled, body, None) == await _post(standard, body, None)


async def test_staff_only_fields_stay_refused(apps: Any, settings: Any) -> None:
    """The policy runs in the plan as in the standard executor: a root field refused to an
    anonymous caller is refused again on the compiled run."""
    _, compiled, standard = apps
    await make_world(products=1, variants_per_product=1)
    query = "{ stockMovements(first: 1) { delta } }"
    expected = await _post(standard, {"query": query}, None)
    assert b"UNAUTHENTICATED" in expected
    assert await _post(compiled, {"query": query}, None) == expected
    assert await _post(compiled, {"query": query}, None) == expected
