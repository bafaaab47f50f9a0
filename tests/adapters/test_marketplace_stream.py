"""The marketplace worker's event source on Redis: a consumer group on the event stream. An
event read and not acknowledged (its worker died) is delivered again to another worker once
idle; one that keeps failing goes to the dead-letter stream instead of blocking the rest."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from adapters.events import STREAM, RedisStreamPublisher
from adapters.marketplaces import worker
from adapters.marketplaces.worker import DEAD_STREAM, GROUP, StreamEvents
from domain.ports import OutboxMessage

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL): consumer groups"
)


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    url = os.environ["REDIS_URL"]
    redis = aioredis.from_url(url)
    await redis.delete(STREAM, DEAD_STREAM)
    try:
        yield redis
    finally:
        await redis.delete(STREAM, DEAD_STREAM)
        await redis.aclose()


def message(i: int) -> OutboxMessage:
    return OutboxMessage(i, "stock.changed", "stock", {"variantIds": [i]}, datetime.now(UTC))


async def test_an_event_a_dead_worker_read_goes_to_the_next(client):
    publisher = RedisStreamPublisher(client)
    first = StreamEvents(client, consumer="w1", idle_ms=50)
    second = StreamEvents(client, consumer="w2", idle_ms=50)
    await first.read(0.01)  # the group exists before the events
    for i in (1, 2):
        await publisher.publish(message(i))
    taken = await first.read(0.1)
    assert [e.payload["variantIds"] for _, e in taken] == [[1], [2]]
    # w1 dies without acknowledging: once idle_ms passed, w2 claims both
    await asyncio.sleep(0.1)
    claimed = await second.read(0.01)
    assert sorted(e.payload["variantIds"][0] for _, e in claimed) == [1, 2]
    await second.ack([i for i, _ in claimed])
    await asyncio.sleep(0.1)
    assert await first.read(0.01) == []  # acknowledged: never again
    pending = await client.xpending(STREAM, GROUP)
    assert pending["pending"] == 0


async def test_an_event_that_keeps_failing_is_dead_lettered(client, monkeypatch):
    monkeypatch.setattr(worker, "MAX_DELIVERIES", 2)
    publisher = RedisStreamPublisher(client)
    events = StreamEvents(client, consumer="w1", idle_ms=10)
    await events.read(0.01)
    await publisher.publish(message(7))
    await publisher.publish(message(8))
    seen = []
    for _ in range(6):  # read, fail (no ack), read again...
        batch = await events.read(0.01)
        seen.append(sorted(e.payload["variantIds"][0] for _, e in batch))
        ok = [i for i, e in batch if e.payload["variantIds"] == [8]]
        await events.ack(ok)  # 8 succeeds, 7 always fails
        await asyncio.sleep(0.02)
    dead = await client.xrange(DEAD_STREAM)
    assert len(dead) == 1 and b"[7]" in dead[0][1][b"payload"]
    assert (await client.xpending(STREAM, GROUP))["pending"] == 0
    assert seen[0] == [7, 8] and all(8 not in batch for batch in seen[1:])  # 8 done once
