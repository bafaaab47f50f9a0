"""The availability counter (in-process, and Redis when REDIS_URL is set): a newer write is
never undone by an older one arriving late, a fill never overwrites, a write without a ledger
movement removes the entry, and an unknown row or an unreachable Redis means "ask the
database"."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from adapters.stock_counter import PREFIX, MemoryStockCounter, RedisStockCounter
from domain.inventory.ports import StockChanges, StockCounter

ROW, OTHER = (7, 1), (7, 2)


def _wrote(key: tuple[int, int], available: int, version: int | None) -> StockChanges:
    changes = StockChanges.empty()
    changes.saved[key] = available
    if version is not None:
        changes.versions[key] = version
    return changes


def _read(key: tuple[int, int], available: int) -> StockChanges:
    changes = StockChanges.empty()
    changes.seen[key] = available
    return changes


@pytest.fixture(params=["memory", "redis"])
async def counter(request: pytest.FixtureRequest) -> AsyncIterator[StockCounter]:
    if request.param == "memory":
        yield MemoryStockCounter()
        return
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    client = aioredis.Redis.from_url(url)
    keys = [k async for k in client.scan_iter(match=PREFIX + "*")]
    if keys:
        await client.delete(*keys)
    yield RedisStockCounter(client)
    await client.aclose()


async def test_unknown_rows_ask_the_database(counter):
    assert await counter.available([ROW]) is None
    await counter.publish(_read(ROW, 3), committed=False)  # a locked read fills
    assert await counter.available([ROW]) == {ROW: 3}
    assert await counter.available([ROW, OTHER]) is None  # one row unknown: no answer


async def test_a_late_older_write_never_undoes_a_newer_one(counter):
    await counter.publish(_wrote(ROW, 1, version=11), committed=True)  # a cancel, after...
    await counter.publish(_wrote(ROW, 0, version=10), committed=True)  # ...a sale, posted late
    assert await counter.available([ROW]) == {ROW: 1}
    await counter.publish(_read(ROW, 0), committed=False)  # a stale fill does not overwrite
    assert await counter.available([ROW]) == {ROW: 1}
    await counter.publish(_wrote(ROW, 0, version=12), committed=True)
    assert await counter.available([ROW]) == {ROW: 0}


async def test_a_rolled_back_write_is_not_counted_but_what_it_read_is(counter):
    changes = _read(ROW, 2)
    changes.saved[ROW] = 1  # written, then rolled back
    changes.versions[ROW] = 5
    await counter.publish(changes, committed=False)
    assert await counter.available([ROW]) == {ROW: 2}


async def test_a_write_without_a_movement_removes_the_entry(counter):
    await counter.publish(_wrote(ROW, 0, version=3), committed=True)
    await counter.publish(_wrote(ROW, 4, version=None), committed=True)  # safety stock changed
    assert await counter.available([ROW]) is None


async def test_entries_expire():
    counter = MemoryStockCounter(ttl_seconds=0.0)
    await counter.publish(_wrote(ROW, 0, version=1), committed=True)
    assert await counter.available([ROW]) is None


async def test_an_unreachable_redis_asks_the_database():
    client = aioredis.Redis.from_url(
        "redis://127.0.0.1:1/5", socket_connect_timeout=0.5, socket_timeout=0.5
    )
    counter = RedisStockCounter(client)
    assert await counter.available([ROW]) is None
    await counter.publish(_wrote(ROW, 0, version=1), committed=True)  # logged, not raised
    await client.aclose()
