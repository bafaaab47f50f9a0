"""With Redis, each process keeps the catalog version and the cached bodies of that version:
a cache hit costs no Redis round trip, and a change made by any process (another instance)
still reaches every process (published once Redis holds it)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.kv import BUMP_LOCK_KEY, DIRTY_KEY, MemoRedisKeyValue, open_key_value

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")

KEY = "memo-test-key"


class Calls:
    """Counts connections taken from the pool: one per command or pipeline sent."""

    def __init__(self, store: Any) -> None:
        self.count = 0
        pool = store.client.connection_pool
        taken = pool.get_connection

        async def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await taken(*args, **kwargs)

        pool.get_connection = counting


async def _listening(store: MemoRedisKeyValue) -> None:
    await store.version()  # starts the subscription
    for _ in range(500):
        if store.listening:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the change subscription was never confirmed")


async def _changes(store: MemoRedisKeyValue, old: str) -> str:
    """The version once the change was heard (the memo lasts an hour: only the message helps)."""
    for _ in range(500):
        version = await store.version()
        if version != old:
            return version
        await asyncio.sleep(0.01)
    raise AssertionError("the change never reached the other process")


@pytest.fixture
async def stores() -> AsyncIterator[tuple[MemoRedisKeyValue, MemoRedisKeyValue]]:
    url = os.environ["REDIS_URL"]
    # a channel of their own: servers of other tests on this database publish their changes
    channel = f"o2o:catalog:changed:test:{uuid.uuid4().hex}"
    reader = MemoRedisKeyValue(url, memo_seconds=3600, channel=channel)
    writer = MemoRedisKeyValue(url, memo_seconds=3600, channel=channel)
    # a stock change left pending by an earlier test would keep every read going to Redis
    await reader.client.delete(DIRTY_KEY, BUMP_LOCK_KEY)
    try:
        yield reader, writer
    finally:
        await reader.client.delete("o2o:gql:" + KEY)
        await reader.close()
        await writer.close()


def test_production_wiring_keeps_the_version() -> None:
    store = open_key_value("redis://127.0.0.1:6379/15")
    assert isinstance(store, MemoRedisKeyValue)


async def test_a_hit_costs_no_round_trip(stores: tuple[MemoRedisKeyValue, MemoRedisKeyValue]):
    reader, _ = stores
    await _listening(reader)
    version = await reader.version()
    await reader.set(KEY, b"body", ttl_seconds=60)
    calls = Calls(reader)
    for _ in range(20):
        assert await reader.version() == version
        assert await reader.get(KEY) == b"body"
    assert calls.count == 0


async def test_a_change_by_another_process_reaches_the_kept_version(
    stores: tuple[MemoRedisKeyValue, MemoRedisKeyValue],
):
    reader, writer = stores
    await _listening(reader)
    before = await reader.version()
    await reader.set(KEY, b"old body", ttl_seconds=60)
    await writer.bump_version()  # a price changed in another process
    after = await _changes(reader, before)
    assert after == await writer.version()
    # a stock change, coalesced: published too, and the bump is seen once it happens
    await writer.mark_changed()
    assert await _changes(reader, after) != after


async def test_bodies_come_from_redis_after_a_change(
    stores: tuple[MemoRedisKeyValue, MemoRedisKeyValue],
):
    reader, writer = stores
    await _listening(reader)
    before = await reader.version()
    await reader.set(KEY, b"old body", ttl_seconds=60)
    await writer.set(KEY, b"new body", ttl_seconds=60)  # same key: only the version tells
    await writer.bump_version()
    await _changes(reader, before)
    assert await reader.get(KEY) == b"new body"


async def test_nothing_is_kept_without_the_subscription(
    stores: tuple[MemoRedisKeyValue, MemoRedisKeyValue],
):
    reader, _ = stores
    await _listening(reader)
    assert reader._listener is not None
    reader._listener.cancel()
    for _ in range(100):
        if not reader.listening:
            break
        await asyncio.sleep(0.01)
    assert not reader.listening
    calls = Calls(reader)
    await reader.version()
    await reader.version()
    assert calls.count >= 2  # asked Redis each time (and began to listen again)


async def test_hits_counted_in_one_round_trip(
    stores: tuple[MemoRedisKeyValue, MemoRedisKeyValue],
):
    reader, writer = stores
    key = "memo-test-limit"
    for old in [k async for k in reader.client.scan_iter(f"o2o:rl:{key}:*")]:
        await reader.client.delete(old)
    first = await reader.hit_many(key, 3, limit=5, window_seconds=60)
    assert (first.allowed, first.remaining) == (True, 2)
    second = await writer.hit_many(key, 3, limit=5, window_seconds=60)  # another process
    assert (second.allowed, second.remaining) == (False, 0)
