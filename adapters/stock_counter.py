"""The availability counter: units available per stock row (variant, location) outside the
database, so that a sold-out checkout is answered without a transaction.

Redis when ``REDIS_URL`` is set (shared by every process), in-process otherwise. The counter is
kept by the transactions that touch stock rows, after they end (``publishing_units_of_work``):

* a committed write posts the row's new availability with a version, the id of the last ledger
  movement the transaction wrote on that row (a row's writers hold its lock, so these ids grow
  in the order they commit); an older version never overwrites a newer one, whatever order the
  posts arrive in;
* a committed write without a movement (a safety-stock change) removes the entry;
* a row read under lock fills a missing entry only (version 0): any later commit overwrites it.

Entries expire after ``TTL_SECONDS``: a change that bypassed the application (SQL by hand, an
import, a process killed between its commit and its post) is seen within that time. A missing
entry, or an unreachable Redis, means "ask the database": the counter only ever short-circuits
when it says a line cannot be served, and the database decides every sale.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from adapters.kv import KeyValue, MemoryKeyValue, RedisKeyValue
from domain.inventory.ports import Key, StockChanges, StockCounter
from domain.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("o2o.stock")

PREFIX = "o2o:stock:avail:"
TTL_SECONDS = 10

# KEYS: one per row; ARGV: TTL, then per key (mode, version, available); mode v: versioned
# write, f: fill if missing, d: delete. A value is "version:available".
_PUBLISH = """
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local mode, version, value = ARGV[3*i-1], tonumber(ARGV[3*i]), ARGV[3*i+1]
  if mode == 'd' then
    redis.call('DEL', key)
  elseif mode == 'f' then
    redis.call('SET', key, '0:' .. value, 'NX', 'EX', ttl)
  else
    local current = redis.call('GET', key)
    local seen = current and tonumber(string.match(current, '^(%d+):')) or -1
    if seen < version then
      redis.call('SET', key, version .. ':' .. value, 'EX', ttl)
    end
  end
end
return 0
"""


def _key(key: Key) -> str:
    return f"{PREFIX}{key[0]}:{key[1]}"


def _posts(changes: StockChanges, *, committed: bool) -> list[tuple[Key, str, int, int]]:
    """(row, mode, version, available) for each row the transaction wrote or read."""
    posts: list[tuple[Key, str, int, int]] = []
    written = changes.saved if committed else {}
    for key, available in written.items():
        version = changes.versions.get(key)
        posts.append((key, "d", 0, 0) if version is None else (key, "v", version, available))
    for key, available in changes.seen.items():
        if key not in written:  # the value read before this transaction's own write
            posts.append((key, "f", 0, available))
    return posts


class RedisStockCounter:
    """The counter in Redis, shared by every process."""

    def __init__(self, client: aioredis.Redis, *, ttl_seconds: int = TTL_SECONDS) -> None:
        self.client = client
        self.ttl = ttl_seconds
        self._script = client.register_script(_PUBLISH)

    async def available(self, keys: Sequence[Key]) -> dict[Key, int] | None:
        if not keys:
            return {}
        try:
            values = await self.client.mget([_key(k) for k in keys])
        except RedisError as error:
            log.warning("stock counter unreachable (%s): asking the database", error)
            return None
        found: dict[Key, int] = {}
        for key, value in zip(keys, values, strict=True):
            if value is None:
                return None
            found[key] = int(bytes(value).split(b":", 1)[1])
        return found

    async def publish(self, changes: StockChanges, *, committed: bool) -> None:
        posts = _posts(changes, committed=committed)
        if not posts:
            return
        args: list[Any] = [self.ttl]
        for _, mode, version, available in posts:
            args += [mode, version, available]
        try:
            await self._script(keys=[_key(k) for k, *_ in posts], args=args)
        except RedisError as error:
            log.warning("stock counter not updated (%s); its entries expire", error)


class MemoryStockCounter:
    """The counter in this process (the embedded default). A second process on the same
    database is not told of this one's sales: entries live ``ttl_seconds`` (2 s by default)."""

    def __init__(self, *, ttl_seconds: float = 2.0) -> None:
        self.ttl = ttl_seconds
        self._rows: dict[Key, tuple[float, int, int]] = {}  # expiry, version, available

    async def available(self, keys: Sequence[Key]) -> dict[Key, int] | None:
        now = time.monotonic()
        found: dict[Key, int] = {}
        for key in keys:
            row = self._rows.get(key)
            if row is None or row[0] <= now:
                return None
            found[key] = row[2]
        return found

    async def publish(self, changes: StockChanges, *, committed: bool) -> None:
        now = time.monotonic()
        expiry = now + self.ttl
        for key, mode, version, available in _posts(changes, committed=committed):
            row = self._rows.get(key)
            live = row is not None and row[0] > now
            if mode == "d":
                self._rows.pop(key, None)
            elif mode == "f":
                if not live:
                    self._rows[key] = (expiry, 0, available)
            elif not live or row is None or row[1] < version:
                self._rows[key] = (expiry, version, available)
        if len(self._rows) > 100_000:
            self._rows = {k: r for k, r in self._rows.items() if r[0] > now}


def stock_counter_for(kv: KeyValue) -> StockCounter | None:
    """The counter that goes with a key-value store (one per store); None for another kind."""
    found = getattr(kv, "_stock_counter", None)
    if found is None:
        if isinstance(kv, RedisKeyValue):
            found = RedisStockCounter(kv.client)
        elif isinstance(kv, MemoryKeyValue):
            found = MemoryStockCounter()
        else:
            return None
        kv._stock_counter = found  # type: ignore[union-attr]
    return found  # type: ignore[no-any-return]


class _Publishing:
    """One unit of work; once it ends, the rows it touched go to the counter."""

    def __init__(self, inner: Any, counter: StockCounter) -> None:
        self._inner = inner
        self._counter = counter
        self._uow: UnitOfWork | None = None

    async def __aenter__(self) -> UnitOfWork:
        self._uow = await self._inner.__aenter__()
        return self._uow

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        committed = exc_type is None
        try:
            await self._inner.__aexit__(exc_type, exc, tb)
        except BaseException:
            committed = False
            raise
        finally:
            changes = getattr(getattr(self._uow, "inventory", None), "changes", None)
            if changes is not None and (changes.seen or changes.saved):
                try:
                    await self._counter.publish(changes, committed=committed)
                except Exception:  # never hide the transaction's outcome; entries expire
                    log.exception("stock counter not updated")


class PublishingUnitsOfWork:
    """A unit-of-work factory whose transactions keep the availability counter."""

    def __init__(self, inner: UnitOfWorkFactory, counter: StockCounter) -> None:
        self.inner = inner
        self.counter = counter

    def __call__(self) -> Any:
        return _Publishing(self.inner(), self.counter)


def publishing_units_of_work(inner: UnitOfWorkFactory, kv: KeyValue) -> UnitOfWorkFactory:
    """``inner``'s units of work, keeping the counter of ``kv`` (unchanged if it has none)."""
    counter = stock_counter_for(kv)
    return inner if counter is None else PublishingUnitsOfWork(inner, counter)
