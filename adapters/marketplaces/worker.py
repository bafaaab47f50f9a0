"""How the marketplace sync runs: where its events come from (a Redis consumer group on the
event stream, or an in-process queue on the embedded default) and its two loops (events in;
pushes, owed calls and the scheduled order import)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from adapters.events import STREAM
from adapters.marketplaces.config import parse_accounts
from adapters.marketplaces.http import Buckets, MemoryBuckets, RedisBuckets
from adapters.marketplaces.sync import Event, MarketplaceSync, build_adapter, sleep_until
from domain.ports import Clock, EventPublisher, OutboxMessage, UnitOfWorkFactory

log = logging.getLogger("o2o.marketplaces")
GROUP = "marketplaces"
DEAD_STREAM = "o2o:events:dead:marketplaces"
MAX_DELIVERIES = 5


def build_sync(
    marketplaces: str,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    queries: Any,
    redis_client: aioredis.Redis | None,
    transport: Any = None,
) -> MarketplaceSync | None:
    """The engine over the configured accounts (None when there are none)."""
    accounts = parse_accounts(marketplaces)
    if not accounts:
        return None
    buckets: Buckets = RedisBuckets(redis_client) if redis_client is not None else MemoryBuckets()
    adapters = {a.channel: build_adapter(a, buckets, transport=transport) for a in accounts}
    return MarketplaceSync(uow=uow, clock=clock, adapters=adapters, queries=queries)


class InProcessEvents:
    """The embedded default's event source: the publisher hands each event to a queue as
    well. Events of a process that stops are lost to it, so the engine re-checks every SKU at
    start (only real differences are pushed)."""

    def __init__(self, inner: EventPublisher, *, size: int = 100_000) -> None:
        self.inner = inner
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    async def publish(self, message: OutboxMessage) -> None:
        await self.inner.publish(message)
        try:
            self.queue.put_nowait(Event(str(message.id), message.topic, message.payload))
        except asyncio.QueueFull:
            self.dropped += 1  # a full re-check at the next start catches up

    async def read(self, wait_seconds: float) -> list[tuple[str, Event]]:
        try:
            first = await asyncio.wait_for(self.queue.get(), timeout=wait_seconds)
        except TimeoutError:
            return []
        batch = [first]
        while not self.queue.empty() and len(batch) < 500:
            batch.append(self.queue.get_nowait())
        return [(e.id, e) for e in batch]

    async def ack(self, ids: Sequence[str]) -> None:
        return None


class StreamEvents:
    """The event stream read through a consumer group: each event reaches one worker of the
    group; an event is acknowledged after the engine applied it, so a worker killed before
    that leaves it pending, and another worker claims it after ``idle_ms``. An event that
    fails ``MAX_DELIVERIES`` times goes to the dead-letter stream."""

    def __init__(self, client: aioredis.Redis, *, consumer: str | None = None,
                 idle_ms: int = 30_000, group: str = GROUP,
                 dead_stream: str = DEAD_STREAM) -> None:  # fmt: skip
        self.client = client
        self.group, self.dead_stream = group, dead_stream
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}"
        self.idle_ms = idle_ms
        self._ready = False

    async def _group(self) -> None:
        if self._ready:
            return
        try:
            await self.client.xgroup_create(STREAM, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._ready = True

    async def read(self, wait_seconds: float) -> list[tuple[str, Event]]:
        await self._group()
        _, claimed, *_ = await self.client.xautoclaim(
            STREAM, self.group, self.consumer, min_idle_time=self.idle_ms, start_id="0-0", count=100
        )
        entries = list(claimed or [])
        if entries:
            entries = await self._without_dead(entries)
        if not entries:
            found = await self.client.xreadgroup(
                self.group, self.consumer, {STREAM: ">"}, count=500, block=int(wait_seconds * 1000)
            )
            entries = [e for _, items in found or [] for e in items]
        return [(_text(stream_id), _event(fields)) for stream_id, fields in entries if fields]

    async def _without_dead(self, entries: list[Any]) -> list[Any]:
        ids = [e[0] for e in entries]
        info = await self.client.xpending_range(STREAM, self.group, min=ids[0], max=ids[-1],
                                                count=len(ids))  # fmt: skip
        deliveries = {_text(p["message_id"]): int(p["times_delivered"]) for p in info}
        alive = []
        for stream_id, fields in entries:
            if deliveries.get(_text(stream_id), 0) > MAX_DELIVERIES:
                await self.client.xadd(self.dead_stream, fields or {"missing": "1"}, maxlen=10_000)
                await self.client.xack(STREAM, self.group, stream_id)
                log.error("event %s failed %d times: dead-lettered", _text(stream_id),
                          MAX_DELIVERIES)  # fmt: skip
            else:
                alive.append((stream_id, fields))
        return alive

    async def ack(self, ids: Sequence[str]) -> None:
        if ids:
            await self.client.xack(STREAM, self.group, *ids)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _event(fields: dict[Any, Any]) -> Event:
    import json

    data = {_text(k): _text(v) for k, v in fields.items()}
    return Event(data.get("id", ""), data.get("topic", ""), json.loads(data.get("payload", "{}")))


async def _apply(
    sync: MarketplaceSync, events: InProcessEvents | StreamEvents, batch: list[tuple[str, Event]]
) -> None:
    """Apply a batch at once; when it fails, each event alone, so that one failing event is
    the only one left unacknowledged (delivered again, then dead-lettered) and the events
    read with it are applied."""
    try:
        await sync.handle([e for _, e in batch])
    except Exception:
        log.exception("a batch of %d marketplace events failed: one at a time", len(batch))
        done = []
        for stream_id, event in batch:
            try:
                await sync.handle([event])
            except Exception:
                log.exception("marketplace event %s (%s) failed", event.id, event.topic)
            else:
                done.append(stream_id)
        await events.ack(done)
        return
    await events.ack([i for i, _ in batch])


async def run_sync(
    sync: MarketplaceSync,
    events: InProcessEvents | StreamEvents,
    *,
    push_seconds: float,
    import_seconds: float,
    forever: bool = True,
    stop: asyncio.Event | None = None,
) -> None:
    """The marketplace worker: a full re-check at start, then events in and work out, until
    ``stop`` is set (then it ends between two steps, never inside a transaction: a task
    cancelled while it enters a transaction can leave SQLite's connection lock taken)."""
    wake = asyncio.Event()
    wait = 0.2 if stop is not None else 1.0  # how long one read waits for events
    stop = stop or asyncio.Event()
    try:
        await sync.mark(list((await sync.channels(fresh=True)).values()), None)
    except Exception:
        log.exception("marketplace start-up re-check failed")

    async def consume() -> None:
        while not stop.is_set():
            try:
                batch = await events.read(wait)
                if batch:
                    await _apply(sync, events, batch)
                    wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # unacknowledged: delivered again
                log.exception("marketplace events failed")
                await asyncio.sleep(1.0)

    async def work() -> None:
        last_import = 0.0
        while not stop.is_set():
            due = time.monotonic() - last_import >= import_seconds
            try:
                await sync.tick(import_orders=due)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("marketplace round failed")
            if due:
                last_import = time.monotonic()
            if not forever:
                return
            await sleep_until(wake, push_seconds)

    if not forever:
        await work()
        return
    await asyncio.gather(consume(), work(), _wake_on(stop, wake))


async def _wake_on(stop: asyncio.Event, wake: asyncio.Event) -> None:
    """Wake the work loop when asked to stop (it sleeps until woken or its period ends)."""
    await stop.wait()
    wake.set()
