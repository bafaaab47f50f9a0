"""Records the SQL statements a block sends *with their parameters*, to EXPLAIN them afterwards.

Through ``tests/api/querycount.py``'s ``recording`` (which wraps every class of the backend's
client), so statements inside transactions are recorded too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from tests.api.querycount import recording


@contextlib.contextmanager
def capture_sql() -> Iterator[list[tuple[str, list[Any]]]]:
    """Yields a list that receives (sql, values) of every read statement sent in the block."""
    seen: list[tuple[str, list[Any]]] = []
    with recording(
        lambda query, values: seen.append((query, list(values or []))),
        ("execute_query", "execute_query_dict"),
    ):
        yield seen


async def explain(sql: str, values: list[Any], *, seqscan: bool = True) -> str:
    """The plan PostgreSQL chooses for this statement and parameters, as text."""
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        if not seqscan:
            await conn.execute_script("SET LOCAL enable_seqscan = off")
        rows = await conn.execute_query_dict("EXPLAIN " + sql, values)
    return "\n".join(r["QUERY PLAN"] for r in rows)
