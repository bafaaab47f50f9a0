"""GraphQL-over-HTTP transport: status codes, media types, GET rules, GraphiQL, response cache."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from strawberry.types import Info

from adapters.web.http import (
    GraphQLEndpoint,
    GraphQLHTTPConfig,
    ResponseCache,
    negotiate_media_type,
)

GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"
JSON = "application/json; charset=utf-8"


@dataclass
class Counters:
    resolved: int = 0
    bumps: int = 0


@dataclass
class Context:
    anonymous: bool
    counters: Counters


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str, info: Info[Context, None]) -> str:
        info.context.counters.resolved += 1
        return f"Hello, {name}!"

    @strawberry.field
    def boom(self, info: Info[Context, None]) -> str | None:
        info.context.counters.resolved += 1
        raise RuntimeError("kaboom")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def bump(self, info: Info[Context, None]) -> int:
        info.context.counters.bumps += 1
        return info.context.counters.bumps


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation)


@dataclass
class InMemoryResponseCache:
    """Fake ResponseCache: a dict and a version the test can move."""

    data_version: int = 1
    entries: dict[str, bytes] = field(default_factory=dict)

    async def get(self, key: str) -> bytes | None:
        return self.entries.get(key)

    async def set(self, key: str, value: bytes, *, ttl_seconds: int) -> None:
        assert ttl_seconds > 0
        self.entries[key] = value

    async def version(self) -> str:
        return str(self.data_version)


def build_app(
    counters: Counters,
    *,
    cache: ResponseCache | None = None,
    config: GraphQLHTTPConfig | None = None,
) -> Starlette:
    async def context_factory(request: Request) -> Context:
        return Context(anonymous="authorization" not in request.headers, counters=counters)

    endpoint = GraphQLEndpoint(
        SCHEMA,
        context_factory=context_factory,
        cache=cache,
        config=config,
        is_cacheable=lambda _request, ctx: ctx.anonymous,
    )
    return Starlette(routes=[Route("/graphql", endpoint=endpoint, methods=["GET", "POST"])])


def client_for(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
def counters() -> Counters:
    return Counters()


@pytest.fixture
def cache() -> InMemoryResponseCache:
    return InMemoryResponseCache()


@pytest.fixture
async def client(
    counters: Counters, cache: InMemoryResponseCache
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(build_app(counters, cache=cache)) as c:
        yield c


HELLO = "query Hello($name: String!) { hello(name: $name) }"


async def post(client: httpx.AsyncClient, payload: Any, **headers: str) -> httpx.Response:
    return await client.post("/graphql", json=payload, headers=headers)


# --- POST and GET ---------------------------------------------------------------------------


async def test_post_json_query_returns_data(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": HELLO, "variables": {"name": "Ada"}})

    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == {"data": {"hello": "Hello, Ada!"}}


async def test_post_with_graphql_response_accept_uses_that_media_type(
    client: httpx.AsyncClient,
) -> None:
    response = await post(
        client,
        {"query": HELLO, "variables": {"name": "Ada"}, "operationName": "Hello"},
        accept="application/graphql-response+json",
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {"data": {"hello": "Hello, Ada!"}}


async def test_post_accepts_explicit_utf8_charset_and_non_ascii(client: httpx.AsyncClient) -> None:
    body = json.dumps({"query": '{ hello(name: "Zoë 🏃") }'}, ensure_ascii=False).encode()

    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json; charset=UTF-8"}
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "Hello, Zoë 🏃!"}}
    assert "Zoë 🏃".encode() in response.content


async def test_get_query_with_variables_returns_data(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql", params={"query": HELLO, "variables": json.dumps({"name": "Bo"})}
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "Hello, Bo!"}}


async def test_get_mutation_is_refused_with_405_and_allow_post(
    client: httpx.AsyncClient, counters: Counters
) -> None:
    response = await client.get("/graphql", params={"query": "mutation { bump }"})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["message"]
    assert counters.bumps == 0


async def test_post_mutation_executes_and_is_not_cached(
    client: httpx.AsyncClient, counters: Counters, cache: InMemoryResponseCache
) -> None:
    response = await post(client, {"query": "mutation { bump }"})

    assert response.status_code == 200
    assert response.json() == {"data": {"bump": 1}}
    assert response.headers["cache-control"] == "no-store"
    assert "x-cache" not in response.headers
    assert cache.entries == {}


async def test_get_with_unparseable_variables_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": HELLO, "variables": "{nope"})

    assert response.status_code == 400
    assert "variables" in response.json()["errors"][0]["message"]


async def test_get_disabled_by_config_is_405(counters: Counters) -> None:
    config = GraphQLHTTPConfig(allow_get_queries=False)
    async with client_for(build_app(counters, config=config)) as c:
        response = await c.get("/graphql", params={"query": '{ hello(name: "x") }'})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


# --- malformed HTTP requests ----------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_post_non_json_content_type_is_415(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": content_type}
    )

    assert response.status_code == 415
    assert response.json()["errors"][0]["message"]


async def test_post_without_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", content=b'{"query": "{ __typename }"}')

    assert response.status_code == 415


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_malformed_json_is_400(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.post(
        "/graphql",
        content=b'{ "not a JSON',
        headers={"content-type": "application/json", "accept": accept},
    )

    assert response.status_code == 400
    assert list(response.json()) == ["errors"]


async def test_empty_body_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", headers={"content-type": "application/json"})

    assert response.status_code == 400


@pytest.mark.parametrize("payload", [{"notquery": "{ __typename }"}, {"query": None}, "query", 3])
async def test_missing_query_or_non_object_body_is_400(
    client: httpx.AsyncClient, payload: Any
) -> None:
    response = await post(client, payload)

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]


async def test_batched_request_is_400_with_clear_message(client: httpx.AsyncClient) -> None:
    response = await post(client, [{"query": "{ __typename }"}, {"query": "{ __typename }"}])

    assert response.status_code == 400
    assert "Batched" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("query", 1),
        ("query", ["{ __typename }"]),
        ("variables", "string"),
        ("variables", 0),
        ("variables", ["array"]),
        ("operationName", 0),
        ("operationName", {"o": 1}),
        ("extensions", "string"),
        ("extensions", False),
    ],
)
async def test_parameter_of_wrong_type_is_400(
    client: httpx.AsyncClient, key: str, value: Any
) -> None:
    payload = {"query": "{ __typename }", key: value}

    response = await post(client, payload)

    assert response.status_code == 400
    assert key in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("key", ["variables", "operationName", "extensions"])
async def test_null_optional_parameters_are_allowed(client: httpx.AsyncClient, key: str) -> None:
    response = await post(client, {"query": "{ __typename }", key: None})

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


# --- GraphQL request errors and status codes ------------------------------------------------


async def test_validation_error_is_200_with_application_json(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ nope }"}, accept="application/json")

    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert "data" not in body
    assert "nope" in body["errors"][0]["message"]


async def test_validation_error_is_400_with_graphql_response_json(
    client: httpx.AsyncClient,
) -> None:
    response = await post(client, {"query": "{ nope }"}, accept="application/graphql-response+json")

    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in response.json()


@pytest.mark.parametrize(
    ("accept", "status"),
    [("application/json", 200), ("application/graphql-response+json", 400)],
)
async def test_parse_error_has_no_data(client: httpx.AsyncClient, accept: str, status: int) -> None:
    response = await post(client, {"query": "{"}, accept=accept)

    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 2}]


@pytest.mark.parametrize(
    ("accept", "status"),
    [("application/json", 200), ("application/graphql-response+json", 400)],
)
async def test_variable_coercion_failure_is_a_request_error(
    client: httpx.AsyncClient, accept: str, status: int
) -> None:
    response = await post(client, {"query": HELLO, "variables": {"name": None}}, accept=accept)

    assert response.status_code == status
    assert "data" not in response.json()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"query": "query A { __typename } query B { __typename }"}, "operationName"),
        ({"query": "query A { __typename }", "operationName": "B"}, "Unknown operation"),
    ],
)
async def test_operation_selection_errors_are_request_errors(
    client: httpx.AsyncClient, payload: dict[str, Any], message: str
) -> None:
    response = await post(client, payload, accept="application/graphql-response+json")

    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]


async def test_resolver_error_keeps_data_and_200_with_graphql_response_json(
    client: httpx.AsyncClient,
) -> None:
    response = await post(client, {"query": "{ boom }"}, accept="application/graphql-response+json")

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"boom": None}
    assert body["errors"][0]["path"] == ["boom"]


# --- Accept negotiation and GraphiQL --------------------------------------------------------


async def test_accept_allowing_neither_json_type_is_406(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ __typename }"}, accept="text/xml")

    assert response.status_code == 406


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("application/json", "application/json"),
        ("application/graphql-response+json", "application/graphql-response+json"),
        (
            "application/graphql-response+json, application/json;q=0.9",
            "application/graphql-response+json",
        ),
        (
            "application/json, application/graphql-response+json",
            "application/graphql-response+json",
        ),
        ("application/graphql-response+json;q=0.5, application/json", "application/json"),
        ("application/graphql-response+json, */*", "application/graphql-response+json"),
        ("application/json;charset=latin-1", None),
        ("application/json;q=0", None),
        ("text/html", None),
    ],
)
def test_negotiate_media_type(accept: str, expected: str | None) -> None:
    assert negotiate_media_type(accept) == expected


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_browser_get_without_query_serves_graphiql(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": BROWSER_ACCEPT})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_graphiql_disabled_is_404(counters: Counters) -> None:
    async with client_for(build_app(counters, config=GraphQLHTTPConfig(graphiql=False))) as c:
        response = await c.get("/graphql", headers={"accept": BROWSER_ACCEPT})

    assert response.status_code == 404


async def test_browser_get_with_query_executes_instead_of_graphiql(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"accept": BROWSER_ACCEPT}
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


# --- response cache -------------------------------------------------------------------------


async def test_identical_anonymous_query_hits_cache_until_version_changes(
    client: httpx.AsyncClient, counters: Counters, cache: InMemoryResponseCache
) -> None:
    payload = {"query": HELLO, "variables": {"name": "Ada"}}

    first = await post(client, payload)
    second = await post(client, payload)

    assert first.headers["x-cache"] == "MISS"
    assert second.headers["x-cache"] == "HIT"
    assert second.content == first.content
    assert "cache-control" not in second.headers
    assert counters.resolved == 1
    assert len(cache.entries) == 1

    cache.data_version += 1
    third = await post(client, payload)

    assert third.headers["x-cache"] == "MISS"
    assert third.json() == {"data": {"hello": "Hello, Ada!"}}
    assert counters.resolved == 2


async def test_cache_key_depends_on_variables(
    client: httpx.AsyncClient, counters: Counters
) -> None:
    await post(client, {"query": HELLO, "variables": {"name": "Ada"}})
    response = await post(client, {"query": HELLO, "variables": {"name": "Bo"}})

    assert response.headers["x-cache"] == "MISS"
    assert response.json() == {"data": {"hello": "Hello, Bo!"}}
    assert counters.resolved == 2


async def test_get_and_post_share_the_cache(client: httpx.AsyncClient, counters: Counters) -> None:
    await post(client, {"query": HELLO, "variables": {"name": "Ada"}})
    response = await client.get(
        "/graphql", params={"query": HELLO, "variables": json.dumps({"name": "Ada"})}
    )

    assert response.headers["x-cache"] == "HIT"
    assert counters.resolved == 1


async def test_errored_results_are_not_cached(
    client: httpx.AsyncClient, counters: Counters, cache: InMemoryResponseCache
) -> None:
    first = await post(client, {"query": "{ boom }"})
    second = await post(client, {"query": "{ boom }"})

    assert first.headers["x-cache"] == second.headers["x-cache"] == "MISS"
    assert second.headers["cache-control"] == "no-store"
    assert counters.resolved == 2
    assert cache.entries == {}


async def test_validation_errors_are_not_cached(
    client: httpx.AsyncClient, cache: InMemoryResponseCache
) -> None:
    await post(client, {"query": "{ nope }"})

    assert cache.entries == {}


async def test_authenticated_callers_bypass_the_cache(
    client: httpx.AsyncClient, counters: Counters, cache: InMemoryResponseCache
) -> None:
    payload = {"query": HELLO, "variables": {"name": "Ada"}}

    await post(client, payload, authorization="Bearer t")
    response = await post(client, payload, authorization="Bearer t")

    assert response.status_code == 200
    assert "x-cache" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert counters.resolved == 2
    assert cache.entries == {}


async def test_cache_outage_degrades_to_uncached_execution(counters: Counters) -> None:
    class BrokenCache(InMemoryResponseCache):
        async def get(self, key: str) -> bytes | None:
            raise ConnectionError("redis down")

    async with client_for(build_app(counters, cache=BrokenCache())) as c:
        response = await post(c, {"query": HELLO, "variables": {"name": "Ada"}})

    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "Hello, Ada!"}}
