"""Opening, migrating and closing the database (SQLite embedded or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as tortoise_migrate

MODELS_MODULE = "adapters.db.models"
MIGRATIONS_MODULE = "adapters.db.migrations"


def normalize_url(url: str) -> str:
    """Accept the common spellings of a PostgreSQL URL (postgresql://, postgresql+asyncpg://)."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres+asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix) :]
    return url


def is_postgres(url: str) -> bool:
    """True when the URL names a PostgreSQL server."""
    return normalize_url(url).startswith(("postgres://", "asyncpg://", "psycopg://"))


def tortoise_config(url: str, *, pool_max: int = 20) -> dict[str, Any]:
    """The tortoise configuration for one database URL (PostgreSQL pools up to ``pool_max``)."""
    url = normalize_url(url)
    if is_postgres(url) and "maxsize=" not in url:
        url += ("&" if "?" in url else "?") + f"minsize=1&maxsize={pool_max}"
    if url.startswith("sqlite://") and not url.startswith("sqlite://:memory:"):
        Path(url[len("sqlite://") :]).parent.mkdir(parents=True, exist_ok=True)
    credentials: dict[str, Any] = {}
    if url.startswith("sqlite://"):
        credentials = {"file_path": url[len("sqlite://") :], "journal_mode": "WAL"}
        connection: Any = {"engine": "tortoise.backends.sqlite", "credentials": credentials}
    else:
        connection = expand_db_url(url)
        if connection["engine"] == "tortoise.backends.asyncpg":
            connection["engine"] = "adapters.db.pg_backend"  # no reset query on release
    return {
        "connections": {"default": connection},
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


async def open_database(url: str) -> None:
    """Connect the ORM to the database (lazily; the first query opens the pool)."""
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)


MIGRATION_LOCK = 0x6F326F  # any constant shared by every process of this application


async def migrate_database(url: str) -> None:
    """Apply every migration not yet applied; existing data is kept. On PostgreSQL an advisory
    lock makes processes that start together migrate one after the other, not at once."""
    if not is_postgres(url):
        await tortoise_migrate(config=tortoise_config(url))
        return
    import asyncpg

    conn = await asyncpg.connect(normalize_url(url).replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await tortoise_migrate(config=tortoise_config(url))
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    finally:
        await conn.close()


async def close_database() -> None:
    """Close every pool the ORM opened."""
    await Tortoise.close_connections()


# For `python app.py makemigrations`: the migration writer only reads the models' shape.
MIGRATIONS_CONFIG = tortoise_config("sqlite://:memory:")
