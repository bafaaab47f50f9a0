"""A document is validated once per schema, not once per request: the validation cache is
keyed by the rule classes, so the depth and alias rules must be the same classes every time."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema

from schema.root import build_schema


async def test_the_same_document_is_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = strawberry_schema.validate

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting)
    schema = build_schema(introspection=False)
    for _ in range(3):
        result = await schema.execute("{ __typename }")
        assert result.errors is None
    assert len(calls) == 1


async def test_the_limits_still_refuse() -> None:
    schema = build_schema(max_depth=2, max_aliases=1)
    deep = await schema.execute("{ products(first: 1) { nodes { variants { nodes { id } } } } }")
    assert deep.errors and "exceeds maximum operation depth" in deep.errors[0].message
    aliased = await schema.execute("{ a: __typename b: __typename }")
    assert aliased.errors and "aliases" in aliased.errors[0].message
    introspection = await build_schema(introspection=False).execute(
        "{ __schema { types { name } } }"
    )
    assert introspection.errors
