"""The response cache's key of a request without variables is made once per catalog version,
and is the same key as made from scratch."""

from __future__ import annotations

from adapters.web import http
from adapters.web.http import GraphQLEndpoint, _GraphQLParams

QUERY = "{ products(first: 2) { nodes { handle } } }"


class Versions:
    def __init__(self) -> None:
        self.current = "1"

    async def version(self) -> str:
        return self.current


async def _key(cache: Versions, params: _GraphQLParams) -> str | None:
    return await GraphQLEndpoint._cache_key(None, cache, params)  # type: ignore[arg-type]


async def test_plain_keys_are_made_once_per_version() -> None:
    cache = Versions()
    http._PLAIN_KEYS.clear()
    none = _GraphQLParams(QUERY, None, None, None)
    empty = _GraphQLParams(QUERY, {}, None, None)
    first = await _key(cache, none)
    assert len(http._PLAIN_KEYS) == 1
    assert await _key(cache, none) == first
    other = await _key(cache, empty)  # {} and None: two requests, two keys, as before
    assert other != first and len(http._PLAIN_KEYS) == 2
    cache.current = "2"
    changed = await _key(cache, none)
    assert changed != first
    http._PLAIN_KEYS.clear()
    assert await _key(cache, none) == changed  # the same key as made from scratch
    with_variables = _GraphQLParams(QUERY, {"n": 1}, None, None)
    await _key(cache, with_variables)
    assert len(http._PLAIN_KEYS) == 1  # requests with variables are not kept
