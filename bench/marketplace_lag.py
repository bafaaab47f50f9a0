"""How long a till sale takes to reach each marketplace's quantity, under a steady stream of
sales: the real path (the sale's commit writes a ``stock.changed`` outbox event; the relay
publishes it to the Redis stream; the marketplace consumer group marks the SKU dirty; the pusher
computes the channel's quantity and pushes it to the marketplace).

    .venv/bin/python bench/marketplace_lag.py                       # 5, 20, 50 sales/s x 30 s
    .venv/bin/python bench/marketplace_lag.py --rates 5,20 --duration 10 --products 1000  # < 2 min

Set-up: the database (default postgres://postgres@127.0.0.1:5432/bench12) is **dropped and
recreated**, seeded (``app.py seed``, then ``app.py seed-catalog --products N``), the Redis db
(default 14) **flushed**. The three fake marketplaces run in threads of this process (as
``adapters.marketplaces.demo.running_fakes`` serves them), each with a listing per SKU. Every
channel is first pushed whole (``app.py marketplace sync CHANNEL --full`` with a high
``rate_scale``), so the server starts with the marketplaces in step. Then one server process,
``app.py serve`` with ``DATABASE_URL``, ``REDIS_URL`` and ``MARKETPLACES`` (the demo accounts,
``--rate-scale`` x the documented rate limits, 20 as in the demo), runs the outbox relay and the
marketplace worker. ``--worker also`` adds an ``app.py worker`` process (a second relay and
consumer of the group); ``--worker split`` serves without ``MARKETPLACES`` (the server only
writes and relays events) and leaves the marketplace work to one ``app.py worker`` process.

Load: at each rate, open loop (sale i is sent at start + i / rate, whatever the answers), one
``posOrderCreate`` of one unit of a SKU the store has, paid ``CARD_TERMINAL``, as the demo clerks
of Part-Dieu and Bellecour (``staffLogin``), over a pool of keep-alive connections of a plain
asyncio HTTP client. Each SKU is sold once in the whole run, so each sale has one expected
marketplace quantity per channel: the channel's allocation rule applied to the stock at its
locations less that unit. The fakes' listing dicts are watched in process: every change of a
quantity is recorded with its time, and a sale's lag on a marketplace is from the sale's answer
to the first time that marketplace shows the expected quantity. A sale whose unit does not move
a channel's quantity (the rule's rounding: 80 % of 11 and of 12 both give 8 after the buffer)
has no lag there and is counted apart (``unchanged``).

At the end (after ``--drain`` s at most for the last pushes) every sold SKU is checked on every
fake against the quantity the channel's rule gives from the database's stock then, and no
``marketplace_listing`` row may be left dirty. Any difference fails the bench (exit 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import click
from common import (
    ROOT,
    base_env,
    check_services,
    flush_redis,
    free_port,
    machine_cpu_seconds,
    percentile,
    process_cpu_seconds,
    recreate_database,
    results_document,
    run_seed,
    spawn,
    stop_process,
    tail,
    write_json,
)
from marketplace_push import DEFAULT_DATABASE, DEFAULT_REDIS, BackendCpu, _commit

sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "marketplace_lag.json"
CLERKS = (  # adapters/db/demo_data.py STAFF: the clerks and their stores
    ("clerk.partdieu@demo.o2o", "part-dieu"),
    ("clerk.bellecour@demo.o2o", "bellecour"),
)
LOGIN = """mutation($e: String!, $p: String!) { staffLogin(email: $e, password: $p) {
  accessToken userErrors { code message } } }"""
SALE = """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) {
  order { id status } userErrors { field code message } } }"""


def _pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


# ---------------------------------------------------------------- a plain HTTP/1.1 client


class Http:
    """One keep-alive HTTP/1.1 connection (Content-Length or chunked answers)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, token: str = "") -> tuple[int, bytes]:
        """Send; a kept-alive connection the server closed meanwhile (uvicorn closes idle ones
        after 5 s) is opened again and the request sent once more (the sales carry an
        idempotency key: a repeat places nothing twice)."""
        reused = self.writer is not None
        try:
            return await self._post(path, body, token)
        except (ConnectionError, asyncio.IncompleteReadError):
            await self.close()
            if not reused:
                raise
            return await self._post(path, body, token)

    async def _post(self, path: str, body: bytes, token: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        )
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        first = await self.reader.readline()
        if not first:
            raise ConnectionResetError("the server closed the connection")
        status = int(first.split(b" ", 2)[1])
        headers = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            data = b""
            while size := int((await self.reader.readline()).strip(), 16):
                data += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readline()
        else:
            data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, data

    async def graphql(self, query: str, variables: dict[str, Any], token: str = "") -> Any:
        body = json.dumps({"query": query, "variables": variables}).encode()
        status, raw = await self.post("/graphql", body, token)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {raw[:300]!r}")
        answer = json.loads(raw)
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            self.writer = None


# ---------------------------------------------------------------- watching the fakes


class Watched(dict):  # type: ignore[type-arg]
    """A fake's listing whose quantity changes are recorded with their (monotonic) time, in
    whichever thread makes them."""

    def __init__(self, value: dict[str, Any], log: list[tuple[float, int]]) -> None:
        super().__init__(value)
        self.log = log

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if key == "quantity":
            self.log.append((time.monotonic(), int(value)))

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().update(*args, **kwargs)
        if "quantity" in kwargs or (args and "quantity" in args[0]):
            self.log.append((time.monotonic(), int(self["quantity"])))


def _thread_cpu(native_ids: list[int]) -> float:
    """CPU seconds of some threads of this process (Linux /proc)."""
    total = 0.0
    for tid in native_ids:
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# ---------------------------------------------------------------- the database's view


@dataclass
class ChannelRule:
    handle: str
    fake: str  # amazon, walmart, ebay
    currency: str
    share: int
    buffer: int
    locations: set[int]

    def sellable(self, total: int) -> int:
        return max(0, total * self.share // 100 - self.buffer)


async def _rules(url: str) -> list[ChannelRule]:
    from adapters.marketplaces.demo import KINDS

    conn = await asyncpg.connect(_pg(url))
    try:
        rows = await conn.fetch(
            "SELECT c.handle, c.currency, c.allocation_share_percent AS share,"
            " c.allocation_buffer AS buffer, array_agg(cl.location_id) AS locations"
            " FROM channel c JOIN channel_location cl ON cl.channel_id = c.id"
            " WHERE c.kind = 'MARKETPLACE' GROUP BY c.handle, c.currency,"
            " c.allocation_share_percent, c.allocation_buffer"
        )
    finally:
        await conn.close()
    found = []
    for r in rows:
        fake = next(name for name in KINDS if name in r["handle"])
        found.append(
            ChannelRule(
                r["handle"], fake, r["currency"], r["share"], r["buffer"], set(r["locations"])
            )
        )
    return sorted(found, key=lambda c: c.fake)


async def _available(url: str, variant_ids: list[int]) -> dict[int, dict[int, int]]:
    """variant -> location -> what the location can promise (on hand - reserved - safety)."""
    conn = await asyncpg.connect(_pg(url))
    try:
        rows = await conn.fetch(
            "SELECT variant_id, location_id, GREATEST(on_hand - reserved - safety_stock, 0) AS a"
            " FROM stock WHERE variant_id = ANY($1)",
            variant_ids,
        )
    finally:
        await conn.close()
    found: dict[int, dict[int, int]] = {}
    for r in rows:
        found.setdefault(r["variant_id"], {})[r["location_id"]] = int(r["a"])
    return found


async def _priced(
    url: str, rules: list[ChannelRule], variant_ids: list[int]
) -> dict[str, set[int]]:
    """fake -> the variants its channel lists: those with a price for it in its currency
    (``domain.pricing.price_for``, as every channel prices); the others are never pushed."""
    from adapters.db.database import close_database, open_database
    from adapters.db.queries import TortoiseCatalogQueries
    from domain.pricing.model import price_for

    await open_database(url)
    try:
        queries = TortoiseCatalogQueries()
        at = datetime.now(UTC)
        found: dict[str, set[int]] = {}
        for rule in rules:
            prices = await queries.prices_by_variant_ids(variant_ids, rule.currency)
            found[rule.fake] = {
                v
                for v in variant_ids
                if price_for(prices.get(v, []), currency=rule.currency, channel=rule.handle,
                             tier=None, at=at) is not None
            }  # fmt: skip
        return found
    finally:
        await close_database()


def _spread(candidates: list[tuple[int, str, int]], listed_everywhere: set[int], needed: int
            ) -> list[tuple[int, str, int]]:  # fmt: skip
    """``needed`` candidates with the SKUs every marketplace lists spread evenly through them
    (up to half), so that every rate measures every marketplace."""
    every = [c for c in candidates if c[0] in listed_everywhere]
    others = [c for c in candidates if c[0] not in listed_everywhere]
    share = min(0.5, len(every) / needed) if needed else 0.0
    chosen = []
    for i in range(needed):
        take_every = math.floor((i + 1) * share) > math.floor(i * share)
        source = every if (take_every and every) or not others else others
        chosen.append(source.pop(0))
    return chosen


@dataclass
class Sale:
    variant_id: int
    sku: str
    clerk: int  # index in CLERKS
    before: dict[str, int] = field(default_factory=dict)  # fake -> quantity expected before
    after: dict[str, int] = field(default_factory=dict)  # fake -> quantity expected after
    scheduled: float = 0.0
    sent: float = 0.0
    answered: float = 0.0
    ok: bool = False
    error: str = ""


async def _candidates(url: str, stores: dict[str, int]) -> list[tuple[int, str, int]]:
    """(variant id, SKU, clerk index) of every variant of an ACTIVE product that a clerk's store
    can sell one unit of, shuffled (the same order for the same seed)."""
    conn = await asyncpg.connect(_pg(url))
    try:
        rows = await conn.fetch(
            "SELECT v.id, v.sku, s.location_id FROM variant v JOIN product p ON p.id = v.product_id"
            " JOIN stock s ON s.variant_id = v.id WHERE NOT v.archived AND p.status = 'ACTIVE'"
            " AND s.location_id = ANY($1) AND s.on_hand - s.reserved - s.safety_stock >= 1"
            " ORDER BY v.id, s.location_id",
            list(stores.values()),
        )
    finally:
        await conn.close()
    clerk_of = {stores[handle]: i for i, (_, handle) in enumerate(CLERKS)}
    seen: set[int] = set()
    found = []
    for r in rows:
        if r["id"] not in seen:
            seen.add(r["id"])
            found.append((int(r["id"]), str(r["sku"]), clerk_of[r["location_id"]]))
    random.Random(12).shuffle(found)
    return found


# ---------------------------------------------------------------- the run


async def _wait_healthy(port: int, proc: Any, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{tail(log)}")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            if b" 200 " in await reader.readline():
                writer.close()
                return
            writer.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not healthy:\n{tail(log)}")
        await asyncio.sleep(0.3)


async def _dirty(url: str) -> int:
    return (await _listing_counts(url))[0]


async def _listing_counts(url: str) -> tuple[int, int, int]:
    """(dirty rows, rows, sum of the rows' versions): a mark bumps every version."""
    conn = await asyncpg.connect(_pg(url))
    try:
        row = await conn.fetchrow(
            "SELECT COUNT(*) FILTER (WHERE dirty), COUNT(*), COALESCE(SUM(version), 0)"
            " FROM marketplace_listing"
        )
        return int(row[0]), int(row[1]), int(row[2])
    finally:
        await conn.close()


async def _wait_clean(url: str, seconds: float, *, after_version: int, rows: int) -> float:
    """Until the start-up re-check of the process running the sync has marked every row (the
    versions grew by at least the number of rows) and pushed what differed (nothing dirty)."""
    started = time.monotonic()
    while True:
        dirty, _, versions = await _listing_counts(url)
        if (versions >= after_version + rows and not dirty) or time.monotonic() - started > seconds:
            return time.monotonic() - started
        await asyncio.sleep(0.5)


def _run(cmd: list[str], env: dict[str, str], log: Path) -> float:
    started = time.perf_counter()
    proc = spawn(cmd, env, log)
    code = proc.wait()
    stop_process(proc)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd[1:])} failed ({code}):\n{tail(log)}")
    return time.perf_counter() - started


async def _drive(
    rate: float, duration: float, sales: list[Sale], tokens: list[str], stores: list[str],
    port: int, connections: int,
) -> float:  # fmt: skip
    """Send ``sales`` at ``rate`` per second (open loop); returns the measured seconds."""
    from schema.relay import to_global_id

    pool: asyncio.LifoQueue[Http] = asyncio.LifoQueue()
    for _ in range(connections):
        pool.put_nowait(Http("127.0.0.1", port))

    async def one(sale: Sale) -> None:
        http = await pool.get()
        sale.sent = time.monotonic()
        try:
            payload = {
                "i": {
                    "locationId": stores[sale.clerk],
                    "tender": "CARD_TERMINAL",
                    "idempotencyKey": f"lag-{uuid.uuid4().hex}",
                    "lines": [{"variantId": to_global_id("ProductVariant", sale.variant_id),
                               "quantity": 1}],
                }
            }  # fmt: skip
            data = await http.graphql(SALE, payload, tokens[sale.clerk])
            answer = data["posOrderCreate"]
            sale.answered = time.monotonic()
            if answer["userErrors"]:
                sale.error = ",".join(e["code"] for e in answer["userErrors"])
            else:
                sale.ok = True
        except (OSError, RuntimeError, asyncio.IncompleteReadError, ValueError) as error:
            sale.answered = time.monotonic()
            sale.error = f"{type(error).__name__}: {str(error)[:120]}"
            await http.close()
        finally:
            pool.put_nowait(http)

    started = time.monotonic()
    tasks = []
    for i, sale in enumerate(sales):
        sale.scheduled = started + i / rate
        delay = sale.scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(sale)))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    while not pool.empty():
        await pool.get_nowait().close()
    return max(elapsed, duration)


def _lags(
    sales: list[Sale], logs: dict[str, dict[str, list[tuple[float, int]]]], fakes: list[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for fake in fakes:
        lags, from_sent, unchanged, missing, unlisted = [], [], 0, 0, 0
        series = []  # (ms after the rate's first sale, lag ms): when the slow ones happen
        for sale in sales:
            if not sale.ok:
                continue
            if fake not in sale.after:
                unlisted += 1
                continue
            if sale.after[fake] == sale.before[fake]:
                unchanged += 1
                continue
            seen = next(
                (t for t, q in logs[fake][sale.sku] if t >= sale.sent and q == sale.after[fake]),
                None,
            )
            if seen is None:
                missing += 1
            else:
                lags.append((seen - sale.answered) * 1000)
                from_sent.append((seen - sale.sent) * 1000)
                series.append([round((sale.answered - sales[0].scheduled) * 1000), round(lags[-1])])
        lags.sort()
        from_sent.sort()
        row: dict[str, Any] = {
            "measured": len(lags),
            "unchanged": unchanged,
            "never": missing,
            "not_listed": unlisted,
        }
        if lags:
            row |= {
                "p50_ms": round(percentile(lags, 50)),
                "p95_ms": round(percentile(lags, 95)),
                "p99_ms": round(percentile(lags, 99)),
                "max_ms": round(lags[-1]),
                "mean_ms": round(sum(lags) / len(lags)),
                # from the request's send: the commit is between send and answer
                "from_sent_p50_ms": round(percentile(from_sent, 50)),
                "from_sent_p99_ms": round(percentile(from_sent, 99)),
                "series": series,
            }
        found[fake] = row
    return found


async def bench(
    url: str, redis_url: str, rates: list[float], duration: float, products: int,
    rate_scale: str, drain: float, connections: int, worker: str, idle: float, logs: Path,
) -> dict[str, Any]:  # fmt: skip
    from adapters.marketplaces.demo import accounts, running_fakes
    from schema.relay import to_global_id

    check_services(url, redis_url)
    await recreate_database(url)
    await flush_redis(redis_url)
    env = base_env(logs / "data")
    env.update(DATABASE_URL=url, REDIS_URL=redis_url)
    setup: dict[str, Any] = {"seed_seconds": round(run_seed(env, logs / "seed.log", 600), 1)}
    if products:
        cmd = [sys.executable, "app.py", "seed-catalog", "--products", str(products)]
        setup["seed_catalog_seconds"] = round(_run(cmd, env, logs / "seed-catalog.log"), 1)
    conn = await asyncpg.connect(_pg(url))
    try:
        skus = [r["sku"] for r in await conn.fetch("SELECT sku FROM variant WHERE NOT archived")]
        stores = {
            r["handle"]: int(r["id"])
            for r in await conn.fetch(
                "SELECT id, handle FROM location WHERE handle = ANY($1)", [h for _, h in CLERKS]
            )
        }
    finally:
        await conn.close()
    setup["skus"] = len(skus)
    needed = sum(math.ceil(rate * duration) for rate in rates)
    candidates = await _candidates(url, stores)
    if len(candidates) < needed:
        raise RuntimeError(
            f"{needed} sales need as many SKUs in stock at the clerks' stores; the catalog has "
            f"{len(candidates)}: raise --products"
        )
    rules = await _rules(url)
    names = [r.fake for r in rules]
    listed = await _priced(url, rules, [v for v, _, _ in candidates])
    everywhere = set.intersection(*listed.values())
    chosen = _spread(candidates, everywhere, needed)
    setup["sold_skus_listed_by"] = {n: sum(1 for v, _, _ in chosen if v in listed[n])
                                    for n in names}  # fmt: skip
    with contextlib.ExitStack() as stack:
        before_threads = {t.ident for t in threading.enumerate()}
        fakes = stack.enter_context(running_fakes(skus, server_url=None, names=names))
        fake_tids = [
            t.native_id
            for t in threading.enumerate()
            if t.ident not in before_threads and t.native_id is not None
        ]
        by_name = {f.name: f for f in fakes}
        # every channel in step first, at a rate that does not count here
        env["MARKETPLACES"] = accounts(fakes, rate_scale="100000")
        presync = {}
        for rule in rules:
            cmd = [sys.executable, "app.py", "marketplace", "sync", rule.handle, "--full"]
            presync[rule.handle] = round(_run(cmd, env, logs / f"presync-{rule.fake}.log"), 1)
        setup["full_push_seconds"] = presync
        print(f"set up: {setup}", flush=True)
        # watch the listings of the SKUs to be sold
        watch: dict[str, dict[str, list[tuple[float, int]]]] = {n: {} for n in names}
        for name in names:
            listings = by_name[name].state.listings
            for _, sku, _ in chosen:
                log: list[tuple[float, int]] = []
                watch[name][sku] = log
                listings[sku] = Watched(listings[sku], log)
        env["MARKETPLACES"] = accounts(fakes, rate_scale=rate_scale)
        _, listing_rows, versions = await _listing_counts(url)
        port = free_port()
        server_log = logs / "server.log"
        serve_env = dict(env)
        if worker == "split":
            del serve_env["MARKETPLACES"]
        server = spawn(
            [sys.executable, "app.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
            serve_env, server_log,
        )  # fmt: skip
        procs = [server]
        if worker != "none":
            procs.append(spawn([sys.executable, "app.py", "worker"], env, logs / "worker.log"))
        results = []
        try:
            await _wait_healthy(port, server, server_log)
            waited = await _wait_clean(url, 180, after_version=versions, rows=listing_rows)
            setup["start_recheck_seconds"] = round(waited, 1)
            login = Http("127.0.0.1", port)
            tokens = []
            password = env.get("DEMO_CLERK_PASSWORD", "demo-clerk-password")
            for email, _ in CLERKS:
                data = await login.graphql(LOGIN, {"e": email, "p": password})
                tokens.append(data["staffLogin"]["accessToken"])
            await login.close()
            store_ids = [to_global_id("Location", stores[h]) for _, h in CLERKS]
            # what the processes spend with no sale at all (relay, sweeps, the worker's rounds)
            idle0 = [process_cpu_seconds(p.pid) or 0.0 for p in procs]
            await asyncio.sleep(idle)
            setup["idle_cpu_percent"] = {
                name: round(100 * ((process_cpu_seconds(p.pid) or 0.0) - c) / idle, 1)
                for name, p, c in zip(("server", "worker"), procs, idle0, strict=False)
            }
            setup["idle_seconds"] = idle
            print(f"idle: {setup['idle_cpu_percent']} % of a core", flush=True)
            offset = 0
            for rate in rates:
                count = math.ceil(rate * duration)
                part = chosen[offset : offset + count]
                offset += count
                available = await _available(url, [v for v, _, _ in part])
                sales = []
                for vid, sku, clerk in part:
                    sale = Sale(vid, sku, clerk)
                    store = stores[CLERKS[clerk][1]]
                    for rule in rules:
                        if vid not in listed[rule.fake]:
                            continue
                        total = sum(a for loc, a in available.get(vid, {}).items()
                                    if loc in rule.locations)  # fmt: skip
                        sale.before[rule.fake] = rule.sellable(total)
                        less = 1 if store in rule.locations else 0
                        sale.after[rule.fake] = rule.sellable(total - less)
                    sales.append(sale)
                in_step = sum(
                    1
                    for s in sales
                    for n in s.before
                    if by_name[n].state.listings[s.sku]["quantity"] == s.before[n]
                )
                expected_count = sum(len(s.before) for s in sales)
                cpu0 = (
                    time.process_time(),
                    _thread_cpu(fake_tids),
                    [process_cpu_seconds(p.pid) or 0.0 for p in procs],
                    machine_cpu_seconds() or 0.0,
                )
                backends = BackendCpu(url)
                backends.start()
                elapsed = await _drive(rate, duration, sales, tokens, store_ids, port, connections)
                drained = await _wait_until_shown(sales, by_name, drain)
                pg_cpu = await backends.stop()
                window = time.monotonic() - sales[0].scheduled
                fake_cpu = _thread_cpu(fake_tids) - cpu0[1]
                client_cpu = time.process_time() - cpu0[0] - fake_cpu
                server_cpu = [
                    (process_cpu_seconds(p.pid) or 0.0) - c
                    for p, c in zip(procs, cpu0[2], strict=True)
                ]
                machine_cpu = (machine_cpu_seconds() or 0.0) - cpu0[3]
                ok = [s for s in sales if s.ok]
                answer_ms = sorted((s.answered - s.sent) * 1000 for s in ok)
                errors: dict[str, int] = {}
                for s in sales:
                    if not s.ok:
                        errors[s.error] = errors.get(s.error, 0) + 1
                row = {
                    "rate": rate,
                    "load_average_1min_after": round(os.getloadavg()[0], 1),
                    "sent": len(sales),
                    "sold": len(ok),
                    "errors": errors,
                    "send_seconds": round(elapsed, 1),
                    "achieved_sales_per_second": round(len(ok) / elapsed, 1),
                    "sale_p50_ms": round(percentile(answer_ms, 50)) if ok else None,
                    "sale_p99_ms": round(percentile(answer_ms, 99)) if ok else None,
                    "late_start_p99_ms": round(
                        percentile(sorted((s.sent - s.scheduled) * 1000 for s in sales), 99)
                    ),
                    "in_step_before": f"{in_step}/{expected_count}",
                    "drain_seconds": round(drained, 1),
                    "lag": _lags(sales, watch, names),
                    "cpu_seconds": {
                        "window_seconds": round(window, 1),
                        "client": round(client_cpu, 2),
                        "fakes": round(fake_cpu, 2),
                        "server": round(server_cpu[0], 2),
                        "worker": round(server_cpu[1], 2) if worker != "none" else None,
                        "postgres_backends": round(pg_cpu, 2),
                        "machine": round(machine_cpu, 1),
                    },
                }
                results.append(row)
                lag = "; ".join(
                    f"{n} p50 {v.get('p50_ms')} p95 {v.get('p95_ms')} p99 {v.get('p99_ms')} max"
                    f" {v.get('max_ms')} ms ({v['measured']} measured, {v['unchanged']}"
                    f" unchanged, {v['never']} never)"
                    for n, v in row["lag"].items()
                )
                print(
                    f"{rate:g}/s: {len(ok)}/{len(sales)} sold at {row['achieved_sales_per_second']}"
                    f"/s (sale p50 {row['sale_p50_ms']} ms); lag {lag}; cpu {row['cpu_seconds']}",
                    flush=True,
                )
            final = await _final_check(url, rules, by_name, chosen[:offset], listed)
        finally:
            for proc in procs:
                await asyncio.to_thread(stop_process, proc)
        for name in ("server", "worker"):
            path = logs / f"{name}.log"
            if path.exists():
                errors = path.read_text(errors="replace").count("Traceback")
                setup[f"{name}_log_tracebacks"] = errors
                if errors:
                    setup[f"{name}_log_tail"] = tail(path, 40)
    return {"setup": setup, "results": results, "final": final}


async def _wait_until_shown(sales: list[Sale], by_name: dict[str, Any], seconds: float) -> float:
    """Wait until every sale's expected quantity is on every fake (``seconds`` at most)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if all(
            by_name[n].state.listings[s.sku]["quantity"] == s.after[n]
            for s in sales
            if s.ok
            for n in s.after
        ):
            break
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def _final_check(
    url: str,
    rules: list[ChannelRule],
    by_name: dict[str, Any],
    chosen: list[tuple[int, str, int]],
    listed: dict[str, set[int]],
) -> dict[str, Any]:
    """Every SKU offered for sale: each fake's quantity against the channel's rule applied to
    the database's stock now; no listing row left dirty."""
    available = await _available(url, [v for v, _, _ in chosen])
    wrong = []
    checked = 0
    for vid, sku, _ in chosen:
        for rule in rules:
            if vid not in listed[rule.fake]:
                continue
            checked += 1
            total = sum(a for loc, a in available.get(vid, {}).items() if loc in rule.locations)
            expected = rule.sellable(total)
            shown = by_name[rule.fake].state.listings[sku]["quantity"]
            if shown != expected:
                wrong.append({"sku": sku, "marketplace": rule.fake, "expected": expected,
                              "shown": shown})  # fmt: skip
    dirty = await _dirty(url)
    return {
        "skus": len(chosen),
        "checked": checked,
        "mismatches": len(wrong),
        "examples": wrong[:5],
        "dirty_rows": dirty,
        "ok": not wrong and dirty == 0,
    }


@click.command()
@click.option("--rates", default="5,20,50", show_default=True, help="Sales per second, in turn.")
@click.option("--duration", default=30.0, show_default=True, help="Seconds of sales per rate.")
@click.option("--products", default=5000, show_default=True,
              help="Generated products (3 SKUs each) beside the demo's.")  # fmt: skip
@click.option("--rate-scale", default="20", show_default=True,
              help="x the documented rate limits (the demo's 20).")  # fmt: skip
@click.option("--drain", default=60.0, show_default=True,
              help="Seconds at most to wait for the last pushes after each rate.")  # fmt: skip
@click.option("--idle", default=10.0, show_default=True,
              help="Seconds of no sales first: the processes' idle CPU.")  # fmt: skip
@click.option("--connections", default=32, show_default=True, help="Client connections.")
@click.option("--worker", type=click.Choice(["none", "also", "split"]), default="none",
              show_default=True,
              help="also: an `app.py worker` beside the server; split: the marketplace work "
              "in the worker only.")  # fmt: skip
@click.option("--database-url", default=DEFAULT_DATABASE, show_default=True,
              help="Dropped and recreated.")  # fmt: skip
@click.option("--redis-url", default=DEFAULT_REDIS, show_default=True, help="Flushed.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=RESULTS,
              show_default=True)  # fmt: skip
def main(
    rates: str, duration: float, products: int, rate_scale: str, drain: float, connections: int,
    worker: str, idle: float, database_url: str, redis_url: str, output: Path,
) -> None:  # fmt: skip
    """Lag from a till sale to each marketplace's quantity, at steady sales rates."""
    started = datetime.now(UTC)
    wanted = [float(r) for r in rates.split(",") if r.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-marketplace-lag-") as tmp:
        try:
            found = asyncio.run(
                bench(database_url, redis_url, wanted, duration, products, rate_scale, drain,
                      connections, worker, idle, Path(tmp))
            )  # fmt: skip
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None
    final = found["final"]
    print(
        f"final: {final['checked'] - final['mismatches']}/{final['checked']} quantities right,"
        f" {final['dirty_rows']} dirty rows: {'OK' if final['ok'] else 'MISMATCH'}"
    )
    document = results_document(
        "marketplace_lag",
        started=started,
        settings={
            "rates": wanted,
            "duration": duration,
            "products": products,
            "rate_scale": rate_scale,
            "drain": drain,
            "connections": connections,
            "worker": worker,
            "outbox_relay_seconds": float(os.environ.get("OUTBOX_RELAY_SECONDS", "1")),
            "marketplace_push_seconds": float(os.environ.get("MARKETPLACE_PUSH_SECONDS", "1")),
            "database_url": database_url,
            "redis_url": redis_url,
            "commit": _commit(),
        },
        extra={"setup": found["setup"], "final": final},
        results=found["results"],
    )
    write_json(output, document)
    print(f"wrote {output}")
    if not final["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
