"""A PostgreSQL URL may carry the pool's size (``?maxsize=10``): every command still works."""

from __future__ import annotations

import os

import pytest

from adapters.db.database import is_postgres, migrate_database, open_database, tortoise_config

URL = os.environ.get("DATABASE_URL", "")


def test_the_pool_size_reaches_the_pool() -> None:
    config = tortoise_config("postgres://u@h:5432/db?maxsize=7")
    assert int(config["connections"]["default"]["credentials"]["maxsize"]) == 7


@pytest.mark.skipif(not is_postgres(URL), reason="needs PostgreSQL")
async def test_migrations_accept_a_pool_size_in_the_url(database: str) -> None:
    await migrate_database(URL + ("&" if "?" in URL else "?") + "maxsize=5")  # all applied: a no-op
    await open_database(URL)  # the session's connection, as the fixture left it
