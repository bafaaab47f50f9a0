"""Counts the SQL statements a block of code sends, whatever the database engine."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from tortoise import connections

_METHODS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many")


@contextlib.contextmanager
def count_queries() -> Iterator[list[str]]:
    """Yields a list that receives every SQL statement sent inside the block."""
    seen: list[str] = []
    client_class = type(connections.get("default"))
    originals = {name: getattr(client_class, name) for name in _METHODS}

    def wrap(name: str) -> Any:
        original = originals[name]

        async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(query)
            return await original(self, query, *args, **kwargs)

        return counted

    for name in _METHODS:
        setattr(client_class, name, wrap(name))
    try:
        yield seen
    finally:
        for name, original in originals.items():
            setattr(client_class, name, original)
