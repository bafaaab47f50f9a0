"""Records the SQL statements a block sends *with their parameters*, to EXPLAIN them afterwards.

Like ``tests/api/querycount.py`` (which counts statements only), every class of the backend's
client is wrapped, so statements inside transactions are recorded too.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from tortoise import connections

from tests.api.querycount import _backend_classes

_METHODS = ("execute_query", "execute_query_dict")
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("_sqlcapture", default=False)


@contextlib.contextmanager
def capture_sql() -> Iterator[list[tuple[str, list[Any]]]]:
    """Yields a list that receives (sql, values) of every read statement sent in the block."""
    seen: list[tuple[str, list[Any]]] = []
    client = type(connections.get("default"))
    root = next(c for c in client.__mro__ if "execute_query" in c.__dict__)
    originals = [
        (cls, name, cls.__dict__[name])
        for cls in _backend_classes(root)
        for name in _METHODS
        if name in cls.__dict__
    ]

    def wrap(original: Any) -> Any:
        async def recorded(self: Any, query: str, values: Any = None, *a: Any, **k: Any) -> Any:
            if _inside.get():
                return await original(self, query, values, *a, **k)
            seen.append((query, list(values or [])))
            token = _inside.set(True)
            try:
                return await original(self, query, values, *a, **k)
            finally:
                _inside.reset(token)

        return recorded

    for cls, name, original in originals:
        setattr(cls, name, wrap(original))
    try:
        yield seen
    finally:
        for cls, name, original in originals:
            setattr(cls, name, original)


async def explain(sql: str, values: list[Any], *, seqscan: bool = True) -> str:
    """The plan PostgreSQL chooses for this statement and parameters, as text."""
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        if not seqscan:
            await conn.execute_script("SET LOCAL enable_seqscan = off")
        rows = await conn.execute_query_dict("EXPLAIN " + sql, values)
    return "\n".join(r["QUERY PLAN"] for r in rows)
