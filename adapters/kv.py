"""The key-value port's two adapters: Redis (``REDIS_URL``) and an in-process equivalent.

Used for the catalog response cache (with a shared version that any catalog, price or stock
change bumps) and for fixed-window rate limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis

from domain.ports import RateDecision

logger = logging.getLogger(__name__)

VERSION_KEY = "o2o:catalog:version"
DIRTY_KEY = "o2o:catalog:dirty"
BUMP_LOCK_KEY = "o2o:catalog:bumped"
# Stock changes (every checkout) are coalesced: the cached catalog is invalidated at most once
# per COALESCE_SECONDS, and so within that time of any change, instead of on every sale.
COALESCE_SECONDS = 1.0
CACHE_PREFIX = "o2o:gql:"


class KeyValue(Protocol):
    """Cache, version counter and rate limiter behind one port."""

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, *, ttl_seconds: int) -> None: ...
    async def version(self) -> str: ...
    async def bump_version(self) -> None: ...
    async def mark_changed(self) -> None: ...
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


def _window(window_seconds: int) -> tuple[int, int]:
    now = time.time()
    window = int(now // window_seconds)
    retry = int((window + 1) * window_seconds - now) + 1
    return window, retry


class MemoryKeyValue:
    """One process's cache and counters (the embedded default).

    ``change_marker`` (optional) reads a database-wide mark of the last committed change; it is
    polled at most every ``poll_seconds`` so that changes made by another process (an import, a
    second server) invalidate this process's cache within that time.
    """

    def __init__(
        self,
        max_entries: int = 10_000,
        *,
        change_marker: Callable[[], Awaitable[int]] | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self._data: dict[str, tuple[float, bytes]] = {}
        self._counters: dict[str, tuple[int, int]] = {}
        self._version = 0
        self._max = max_entries
        self._lock = asyncio.Lock()
        self._change_marker = change_marker
        self._poll_seconds = poll_seconds
        self._marker = (0.0, 0)
        self._dirty = False
        self._bumped_at = float("-inf")

    async def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    async def set(self, key: str, value: bytes, *, ttl_seconds: int) -> None:
        if len(self._data) >= self._max:
            self._data.clear()  # crude but bounded; the embedded default serves one process
        self._data[key] = (time.monotonic() + ttl_seconds, value)

    async def version(self) -> str:
        if self._dirty and time.monotonic() - self._bumped_at >= COALESCE_SECONDS:
            self._dirty = False
            await self.bump_version()
        if self._change_marker is None:
            return str(self._version)
        checked_at, marker = self._marker
        if time.monotonic() - checked_at >= self._poll_seconds:
            marker = await self._change_marker()
            self._marker = (time.monotonic(), marker)
        return f"{self._version}:{marker}"

    async def bump_version(self) -> None:
        self._version += 1
        self._bumped_at = time.monotonic()
        self._data.clear()

    async def mark_changed(self) -> None:
        self._dirty = True

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        window, retry = _window(window_seconds)
        async with self._lock:
            seen_window, count = self._counters.get(key, (window, 0))
            count = count + 1 if seen_window == window else 1
            self._counters[key] = (window, count)
            if len(self._counters) > 100_000:
                self._counters = {k: v for k, v in self._counters.items() if v[0] == window}
        return RateDecision(count <= limit, max(0, limit - count), retry)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisKeyValue:
    """Shared by every process: scale out by adding processes behind a load balancer."""

    def __init__(self, url: str, *, max_connections: int = 64) -> None:
        # A blocking pool: under a burst, requests wait briefly for a connection instead of
        # failing with "Too many connections".
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=5,
            socket_connect_timeout=3,
            socket_timeout=3,
        )
        self.client = aioredis.Redis(connection_pool=pool)

    async def get(self, key: str) -> bytes | None:
        value = await self.client.get(CACHE_PREFIX + key)
        return bytes(value) if value is not None else None

    async def set(self, key: str, value: bytes, *, ttl_seconds: int) -> None:
        await self.client.set(CACHE_PREFIX + key, value, ex=ttl_seconds)

    async def version(self) -> str:
        value, dirty = await self.client.mget(VERSION_KEY, DIRTY_KEY)
        lock_ms = int(COALESCE_SECONDS * 1000)
        if dirty and await self.client.set(BUMP_LOCK_KEY, 1, nx=True, px=lock_ms):
            await self.client.delete(DIRTY_KEY)
            value = str(await self.client.incr(VERSION_KEY)).encode()
        if value is None:
            # Lost (restart, eviction): start from a value never used before, so that bodies
            # cached under an old version can never be served again.
            await self.client.set(VERSION_KEY, time.time_ns(), nx=True)
            value = await self.client.get(VERSION_KEY)
        return value.decode() if value else "0"

    async def bump_version(self) -> None:
        await self.client.incr(VERSION_KEY)

    async def mark_changed(self) -> None:
        await self.client.set(DIRTY_KEY, 1)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        window, retry = _window(window_seconds)
        name = f"o2o:rl:{key}:{window}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds + 1)
            count, _ = await pipe.execute()
        return RateDecision(int(count) <= limit, max(0, limit - int(count)), retry)

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()


CHANGED_CHANNEL = "o2o:catalog:changed"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class MemoRedisKeyValue(RedisKeyValue):
    """``RedisKeyValue`` that keeps the catalog version and the cached bodies of that version
    in the process too, so that a cache hit costs no Redis round trip (it cost two: the version,
    then the body).

    Exact across processes as long as it listens: every version change (``bump_version``,
    ``mark_changed``, the coalesced bump in ``version``, a lost version) is published on
    ``CHANGED_CHANNEL``:<db> once Redis holds it, and every process forgets its copy when the
    message comes (its own process forgets at once). The copy is used only while the
    subscription is confirmed and only for ``memo_seconds``, which bounds staleness if the
    subscription's connection dies unnoticed; while a stock change waits to be coalesced
    (the dirty mark is set) nothing is kept, every request asks Redis as before.
    """

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 64,
        memo_seconds: float = 1.0,
        max_body_bytes: int = 8 << 20,
        channel: str | None = None,
    ) -> None:
        super().__init__(url, max_connections=max_connections)
        self._memo_seconds = memo_seconds
        self._max_body_bytes = max_body_bytes
        self._memo: tuple[float, str] | None = None  # (monotonic deadline, version)
        self._generation = 0  # +1 on every forget: a read in flight when it happens is dropped
        self._bodies: dict[str, tuple[float, bytes]] = {}  # key → (monotonic expiry, body)
        self._body_bytes = 0
        self._listening = False
        self._listener: asyncio.Task[None] | None = None
        # channels are server-wide: name the database, so other databases' changes are not ours
        db = self.client.connection_pool.connection_kwargs.get("db", 0)
        self._channel = channel or f"{CHANGED_CHANNEL}:{db}"

    @property
    def listening(self) -> bool:
        """True while the change subscription is confirmed (only then is anything kept)."""
        return self._listening

    def forget(self) -> None:
        """Drop the version and the bodies kept in the process."""
        self._generation += 1
        self._memo = None
        self._bodies.clear()
        self._body_bytes = 0

    async def version(self) -> str:
        memo = self._memo
        if memo is not None and time.monotonic() < memo[0]:
            return memo[1]
        self._listen()
        generation = self._generation
        value, dirty = await self.client.mget(VERSION_KEY, DIRTY_KEY)
        if dirty or value is None:
            # the coalesced bump (or a lost version): the base class decides; not kept
            version = await super().version()
            if value is None or version != _text(value):
                await self._publish()
            return version
        version = _text(value)
        if self._listening and generation == self._generation:
            if memo is not None and memo[1] != version:
                self.forget()
            self._memo = (time.monotonic() + self._memo_seconds, version)
        return version

    async def get(self, key: str) -> bytes | None:
        kept = self._bodies.get(key)
        if kept is not None and time.monotonic() < kept[0]:
            return kept[1]
        generation = self._generation
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.get(CACHE_PREFIX + key)
            pipe.pttl(CACHE_PREFIX + key)
            value, pttl = await pipe.execute()
        if value is None:
            return None
        body = bytes(value)
        if generation == self._generation and self._memo is not None and int(pttl) > 0:
            self._keep(key, body, int(pttl) / 1000)
        return body

    async def set(self, key: str, value: bytes, *, ttl_seconds: int) -> None:
        generation = self._generation
        await super().set(key, value, ttl_seconds=ttl_seconds)
        if generation == self._generation and self._memo is not None:
            self._keep(key, value, ttl_seconds)

    def _keep(self, key: str, body: bytes, ttl_seconds: float) -> None:
        if len(body) > self._max_body_bytes // 8:
            return
        if self._body_bytes + len(body) > self._max_body_bytes:
            self._bodies.clear()  # bounded; refilled from Redis on the next requests
            self._body_bytes = 0
        previous = self._bodies.get(key)
        if previous is not None:
            self._body_bytes -= len(previous[1])
        self._bodies[key] = (time.monotonic() + ttl_seconds, body)
        self._body_bytes += len(body)

    async def hit_many(
        self, key: str, count: int, *, limit: int, window_seconds: int
    ) -> RateDecision:
        """``count`` hits at once (the last one decides): a process's batch of requests."""
        window, retry = _window(window_seconds)
        name = f"o2o:rl:{key}:{window}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incrby(name, count)
            pipe.expire(name, window_seconds + 1)
            total, _ = await pipe.execute()
        return RateDecision(int(total) <= limit, max(0, limit - int(total)), retry)

    async def bump_version(self) -> None:
        self.forget()
        await super().bump_version()
        await self._publish()

    async def mark_changed(self) -> None:
        self.forget()
        await super().mark_changed()
        await self._publish()

    async def _publish(self) -> None:
        self.forget()
        await self.client.publish(self._channel, b"1")

    def _listen(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._subscription())

    async def _subscription(self) -> None:
        """Forget on every message; reconnect after a failure (nothing is kept meanwhile)."""
        while True:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    message = await pubsub.get_message(timeout=30.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self.forget()
                        self._listening = True
                    elif message["type"] == "message":
                        self.forget()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("catalog change subscription lost; retrying", exc_info=True)
            finally:
                self._listening = False
                self.forget()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(BaseException):
                await self._listener
        self._listening = False
        self.forget()
        await super().close()


def open_key_value(
    redis_url: str | None, *, change_marker: Callable[[], Awaitable[int]] | None = None
) -> KeyValue:
    """Redis when a URL is configured, else the in-process equivalent."""
    if redis_url:
        return MemoRedisKeyValue(redis_url)
    return MemoryKeyValue(change_marker=change_marker)
