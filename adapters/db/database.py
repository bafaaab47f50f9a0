"""Opening, migrating and closing the database (SQLite embedded or PostgreSQL)."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as tortoise_migrate

MODELS_MODULE = "adapters.db.models"
MIGRATIONS_MODULE = "adapters.db.migrations"
READ = "read"  # the read replica's connection (DATABASE_READ_URL)


def normalize_url(url: str) -> str:
    """Accept the common spellings of a PostgreSQL URL (postgresql://, postgresql+asyncpg://)."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres+asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix) :]
    return url


def is_postgres(url: str) -> bool:
    """True when the URL names a PostgreSQL server."""
    return normalize_url(url).startswith(("postgres://", "asyncpg://", "psycopg://"))


def _connection(url: str, *, pool_max: int) -> dict[str, Any]:
    """One tortoise connection entry (PostgreSQL pools up to ``pool_max``)."""
    url = normalize_url(url)
    if is_postgres(url) and "maxsize=" not in url:
        url += ("&" if "?" in url else "?") + f"minsize=1&maxsize={pool_max}"
    if url.startswith("sqlite://") and not url.startswith("sqlite://:memory:"):
        Path(url[len("sqlite://") :]).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite://"):
        credentials = {"file_path": url[len("sqlite://") :], "journal_mode": "WAL"}
        return {"engine": "tortoise.backends.sqlite", "credentials": credentials}
    connection = expand_db_url(url)
    if connection["engine"] == "tortoise.backends.asyncpg":
        connection["engine"] = "adapters.db.pg_backend"  # no reset query on release
    return connection


def tortoise_config(url: str, *, pool_max: int = 20, read_url: str | None = None) -> dict[str, Any]:
    """The tortoise configuration for one database URL (PostgreSQL pools up to ``pool_max``),
    plus, with ``read_url``, a second connection named ``READ`` (a read replica)."""
    connections = {"default": _connection(url, pool_max=pool_max)}
    if read_url:
        connections[READ] = _connection(read_url, pool_max=pool_max)
    return {
        "connections": connections,
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


_replica = False  # whether the open configuration has a READ connection


async def open_database(url: str, *, read_url: str | None = None) -> None:
    """Connect the ORM to the database (lazily; the first query opens the pool), and to a read
    replica when ``read_url`` is given (``DATABASE_READ_URL``; see ``replica_reads``)."""
    global _replica
    await Tortoise.init(
        config=tortoise_config(url, read_url=read_url), _enable_global_fallback=True
    )
    _replica = bool(read_url)


def replica_client() -> BaseDBAsyncClient | None:
    """The replica's client for a read made here, or None: no replica is configured, or the
    read belongs to a unit of work (a transaction is open on the primary in this task)."""
    if not _replica or isinstance(connections.get("default"), TransactionalDBClient):
        return None
    return connections.get(READ)


@contextlib.contextmanager
def reading_from_replica() -> Iterator[None]:
    """Inside the block, the ORM's default connection is the replica (when ``replica_client``
    gives one): queries written for the primary read from the replica unchanged."""
    client = replica_client()
    if client is None:
        yield
        return
    token = connections.set("default", client)
    try:
        yield
    finally:
        connections.reset(token)


class ReplicaReads:
    """Wraps a read-side query object (``TortoiseCatalogQueries``): each of its coroutine
    methods runs ``reading_from_replica``, except the ones named in ``primary_only`` (the change
    marker that invalidates caches must not lag). Writes never go through it: units of work
    open their transaction on the primary, and a read inside one stays there."""

    def __init__(self, queries: Any, *, primary_only: tuple[str, ...] = ("change_marker",)):
        self._queries = queries
        self._primary_only = primary_only

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._queries, name)
        if name in self._primary_only or not inspect.iscoroutinefunction(attribute):
            return attribute

        @functools.wraps(attribute)
        async def on_replica(*args: Any, **kwargs: Any) -> Any:
            with reading_from_replica():
                return await attribute(*args, **kwargs)

        setattr(self, name, on_replica)  # wrapped once
        return on_replica

    async def ping(self) -> None:
        """The primary, then the replica."""
        await self._queries.ping()
        client = replica_client()
        if client is not None:
            await client.execute_query("SELECT 1")


MIGRATION_LOCK = 0x6F326F  # any constant shared by every process of this application


async def migrate_database(url: str) -> None:
    """Apply every migration not yet applied; existing data is kept. On PostgreSQL an advisory
    lock makes processes that start together migrate one after the other, not at once."""
    if not is_postgres(url):
        await tortoise_migrate(config=tortoise_config(url))
        return
    import asyncpg

    conn = await asyncpg.connect(_without_pool_parameters(url))
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await tortoise_migrate(config=tortoise_config(url))
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    finally:
        await conn.close()


def _without_pool_parameters(url: str) -> str:
    """The URL for one plain asyncpg connection: the pool's sizes are not server settings."""
    parts = urlsplit(normalize_url(url).replace("postgres://", "postgresql://", 1))
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("minsize", "maxsize")]
    return urlunsplit(parts._replace(query=urlencode(kept)))


async def close_database() -> None:
    """Close every pool the ORM opened."""
    global _replica
    _replica = False
    await Tortoise.close_connections()


# For `python app.py makemigrations`: the migration writer only reads the models' shape.
MIGRATIONS_CONFIG = tortoise_config("sqlite://:memory:")
