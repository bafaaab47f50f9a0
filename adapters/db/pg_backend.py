"""PostgreSQL through asyncpg as tortoise's backend, with one change: a connection going back
to the pool is not reset with asyncpg's default query (``SELECT pg_advisory_unlock_all();
CLOSE ALL; UNLISTEN *; RESET ALL;``), which cost one round trip per request and was half of
the statements PostgreSQL saw on read paths.

That reset undoes session state, and the application leaves none on pooled connections: no
advisory locks (migrations take theirs on a connection of their own,
``adapters/db/database.py``), no LISTEN, no session-level SET, no cursors WITH HOLD. What can
still be left behind is a transaction (a request cancelled inside one): it is rolled back.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def reset_session(connection: asyncpg.Connection) -> None:
    """Before a connection is reused: roll back a transaction left open, nothing else."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


class PooledAsyncpgClient(AsyncpgDBClient):
    """tortoise's asyncpg client whose pool resets connections with ``reset_session``."""

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return await asyncpg.create_pool(None, reset=reset_session, **kwargs)


client_class = PooledAsyncpgClient  # what tortoise looks up in an engine module
