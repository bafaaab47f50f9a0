"""Shared fixtures: one database for the session (SQLite by default, PostgreSQL when
DATABASE_URL is set), the key-value store (in-process, or Redis when REDIS_URL is set), the ASGI
app, and a GraphQL client.

With CI=true, a configured service that cannot be reached fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import connections

from adapters.db import models as m
from adapters.db.database import close_database, is_postgres, migrate_database, open_database
from adapters.kv import MemoryKeyValue, RedisKeyValue
from adapters.settings import Settings
from app import build_services, create_app

TABLES = [
    "stock_movement", "stock", "price", "collection_product", "variant", "product", "collection",
    "category", "channel_location", "channel", "location", "member_tier", "idempotency_record",
    "api_key", "partner", "staff_user", "change_log", "cart_line", "cart", "order_line",
    "fulfilment", "reservation", "order_event", "order_return", "outbox_event", '"order"',
    "member", "member_session", "verification", "points_lot", "points_entry", "tier_change",
    "promotion", "promotion_use", "voucher", "loyalty_program",
    "audit_log", "value_grant", "member_message", "member_presence",
    "payment", "payment_refund", "till_session", "provider_event", "webhook_refusal",
    "marketplace_listing", "marketplace_order", "marketplace_action", "marketplace_account",
    "attribution_code", "attribution_scan", "binding_policy", "member_binding", "franchisee",
    "franchise_location", "wholesale_price", "commission_entry", "statement", "statement_line",
    "order_attribution", "commission_rule", "clienteling_task",
    "report_member_month", "report_order", "report_rollup_state",
]  # fmt: skip


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = os.environ.get("DATABASE_URL") or "sqlite (embedded default)"
    kv = os.environ.get("REDIS_URL") or "in-process (embedded default)"
    return [f"database: {db}", f"key-value: {kv}"]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    env = {
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
        "APP_ENV": "test",
        "RATE_LIMIT_ANONYMOUS": "100000",
    }
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return Settings.from_env(env)


async def _reset_postgres(url: str) -> None:
    import asyncpg

    from adapters.db.database import normalize_url

    conn = await asyncpg.connect(normalize_url(url).replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[str]:
    url = settings.database_url
    try:
        if is_postgres(url):
            await asyncio.wait_for(_reset_postgres(url), 10)
        await migrate_database(url)
        await close_database()
        await open_database(url)
    except (TimeoutError, OSError) as error:
        message = f"DATABASE_URL is set but the database is unreachable: {error!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.exit(message, returncode=3)
    yield url
    await close_database()


@pytest.fixture(scope="session")
async def kv_store(settings: Settings) -> AsyncIterator[Any]:
    if not settings.redis_url:
        yield MemoryKeyValue()
        return
    store = RedisKeyValue(settings.redis_url)
    try:
        await store.ping()
    except Exception as error:
        message = f"REDIS_URL is set but Redis is unreachable: {error!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.exit(message, returncode=3)
    keys = [k async for k in store.client.scan_iter(match="o2o:*")]
    if keys:
        await store.client.delete(*keys)
    yield store
    await store.close()


async def truncate_all() -> None:
    """Empty every table between tests (identities restart, so ids are predictable)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    else:
        deletes = "; ".join(f"DELETE FROM {table}" for table in TABLES)
        await conn.execute_script(
            f"PRAGMA foreign_keys=OFF; {deletes}; DELETE FROM sqlite_sequence; "
            "PRAGMA foreign_keys=ON;"
        )


@pytest.fixture
async def db(database: str) -> str:
    await truncate_all()
    return database


@pytest.fixture
async def services(db: str, settings: Settings, kv_store: Any) -> Any:
    if isinstance(kv_store, RedisKeyValue):
        keys = [k async for k in kv_store.client.scan_iter(match="o2o:*")]
        if keys:
            await kv_store.client.delete(*keys)
        return build_services(settings, kv=kv_store)
    return build_services(settings, kv=MemoryKeyValue())  # fresh counters for every test


@pytest.fixture
async def app(services: Any, settings: Settings) -> Any:
    return create_app(settings, services=services, manage_database=False)


class GraphQLClient:
    """Posts GraphQL over HTTP to the in-process app, as a frontend would."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token: str | None = None

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        headers = {"Accept": "application/graphql-response+json, application/json"}
        bearer = token if token is not None else self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.raw(query, variables, token=token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def gql(app: Any) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield GraphQLClient(http)


__all__ = ["GraphQLClient", "m"]


def pytest_unconfigure(config: pytest.Config) -> None:
    """aiosqlite runs each connection in a thread that is not a daemon: a pool left open (one
    reopened after the session closed the database) would keep the interpreter alive after the
    last test, and CI would wait for its timeout instead of finishing. Stop any, and say so."""
    import gc
    import sys

    import aiosqlite

    left = [o for o in gc.get_objects() if isinstance(o, aiosqlite.Connection) and o._running]
    for connection in left:
        connection.stop()
    if left:
        print(f"\nconftest: stopped {len(left)} SQLite connection(s) left open", file=sys.stderr)
