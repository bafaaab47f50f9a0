"""Pooled PostgreSQL connections go back to the pool without asyncpg's reset query (one round
trip per request); a transaction left open is still rolled back before the connection is
reused."""

from __future__ import annotations

import os

import pytest
from tortoise import connections

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only: SQLite has no connection pool",
)


async def test_a_released_connection_is_not_reset_with_a_query(db) -> None:
    pool = connections.get("default")._pool
    sent: list[str] = []
    async with pool.acquire() as connection:
        connection.add_query_logger(lambda record: sent.append(record.query))
        await connection.fetchval("SELECT 1")
    assert sent == ["SELECT 1"]  # nothing after the work: no reset round trip


async def test_a_transaction_left_open_is_rolled_back_on_release(db) -> None:
    pool = connections.get("default")._pool
    async with pool.acquire() as connection:
        await connection.execute("BEGIN")
        await connection.execute("CREATE TEMP TABLE left_open (x int)")
    async with pool.acquire() as connection:
        assert not connection.is_in_transaction()
        found = await connection.fetchval("SELECT to_regclass('pg_temp.left_open')")
        assert found is None  # the open transaction's work was rolled back
