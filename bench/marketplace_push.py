"""A full push of every SKU to the fake Amazon through its bulk feed (JSON_LISTINGS_FEED):
``app.py marketplace sync marketplace-amazon-fr --full``, timed, its memory and CPU measured,
and its result checked SKU by SKU against the database.

    .venv/bin/python bench/marketplace_push.py                   # 100,000 SKUs, ~10 minutes
    .venv/bin/python bench/marketplace_push.py --skus 5000 --runs 1   # a quick look

The database (default postgres://postgres@127.0.0.1:5432/bench12) is **dropped and recreated**
and seeded (``app.py seed``, then ``app.py seed-catalog --products N``, 3 variants each, until
it holds ``--skus`` SKUs); the Redis db (default 14) is **flushed**. The fake Amazon runs as its
own process (``python -m tools.fake_marketplaces.amazon``), so its CPU and memory are measured
apart from the engine's; its listings are created for every SKU (``POST /_fake/listings``,
quantity 0, price 0), as a real marketplace has them before any price or quantity is pushed.

Each run starts ``app.py marketplace sync marketplace-amazon-fr --full`` as a child process with
``MARKETPLACES`` from ``adapters.marketplaces.demo.accounts`` (only the Amazon account) and
``rate_scale`` high enough that the documented rate limits do not decide the time (what they
alone would impose on the same push is computed from the adapter's ``DOCUMENTED_RATES`` and
printed beside it). Measured: wall time, SKUs/s, the child's peak RSS and CPU (``wait4``), the
fake's CPU and memory (``/proc``), the PostgreSQL backends' CPU (sampled), the database's
transactions and row writes (``pg_stat_database``, ``pg_stat_user_tables``). The first run
creates the ``marketplace_listing`` rows, the next ones update them.

After each run every SKU is checked: the fake's quantity and price against the quantity the
channel's allocation rule gives from the stock rows (computed here in SQL) and the channel's
price (the pricing rules through ``domain.pricing.price_for``), and ``marketplace_listing``
(pushed values recorded, nothing left dirty). Any difference fails the bench (exit 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import click
import httpx
from common import (
    ROOT,
    base_env,
    check_services,
    flush_redis,
    free_port,
    machine_cpu_seconds,
    process_cpu_seconds,
    recreate_database,
    results_document,
    run_seed,
    spawn,
    stop_process,
    tail,
    write_json,
)

sys.path.insert(0, str(ROOT))

CHANNEL = "marketplace-amazon-fr"
RESULTS = ROOT / "bench" / "results" / "marketplace_push.json"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/bench12"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"


def _pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


# ---------------------------------------------------------------- what the documents allow


def documented_floor(skus: int, *, feed_polls: int = 1) -> dict[str, Any]:
    """How long Amazon's documented usage plans alone make a full push of ``skus`` SKUs last,
    the way the engine sends it (rounds of ``FULL_BATCH`` rows, a feed per round above the
    adapter's ``bulk_threshold``, per-SKU patches below), and for comparison in rounds of 500
    above the engine's own threshold (200: how full pushes went before) or in the feed schema's
    25,000 messages. A token bucket of rate r and burst b lets n calls
    through in max(0, (n - b) / r) s; the calls of one push are sequential, so the slowest
    operation sets the floor."""
    from dataclasses import fields

    import adapters.marketplaces.sync as engine
    from adapters.marketplaces.amazon import (
        DOCUMENTED_RATES,
        FEED_MAX_MESSAGES,
        AmazonMarketplace,
    )

    defaults = {f.name: f.default for f in fields(engine.MarketplaceSync)}
    threshold = int(
        getattr(AmazonMarketplace, "bulk_threshold", None) or defaults["bulk_threshold"]
    )
    full_round = int(getattr(engine, "FULL_BATCH", None) or defaults["batch"])

    def plan(per_round: int, threshold: int = threshold) -> dict[str, Any]:
        feeds = patches = 0
        left = skus
        while left > 0:
            size = min(per_round, left)
            if size > threshold:
                feeds += math.ceil(size / FEED_MAX_MESSAGES)
            else:
                patches += size
            left -= size
        calls = {
            "createFeedDocument": feeds,
            "createFeed": feeds,
            "getFeed": feeds * (1 + feed_polls),
            "getFeedDocument": feeds,
            "patchListingsItem": patches,
        }
        waits = {}
        for op, n in calls.items():
            rate, burst = DOCUMENTED_RATES[op]
            waits[op] = round(max(0.0, (n - burst) / rate), 1)
        slowest = max(waits, key=lambda k: waits[k])
        return {
            "skus_per_round": per_round,
            "bulk_threshold": threshold,
            "messages_per_feed": min(per_round, FEED_MAX_MESSAGES),
            "feeds": feeds,
            "per_sku_patches": patches,
            "calls": calls,
            "wait_seconds_by_operation": waits,
            "floor_seconds": waits[slowest],
            "floor_hours": round(waits[slowest] / 3600, 2),
            "bound_by": slowest,
        }

    return {
        "rates": {op: {"per_second": r, "burst": b} for op, (r, b) in DOCUMENTED_RATES.items()},
        "engine_full_push_round": full_round,
        "adapter_bulk_threshold": threshold,
        "as_the_engine_sends_it": plan(full_round),
        # the engine's rounds and threshold before full pushes went in rounds of 10,000
        "in_rounds_of_500": plan(500, int(defaults["bulk_threshold"])),
        "with_25000_message_feeds": plan(FEED_MAX_MESSAGES),
    }


# ---------------------------------------------------------------- processes and meters


def _status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


async def _wait_http(url: str, proc: Any, log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"fake exited:\n{tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                # an unknown route answers 404: the server is up
                await client.get(f"{url}/_fake/orders/none", timeout=1)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"fake did not start:\n{tail(log)}")
            await asyncio.sleep(0.2)


class BackendCpu:
    """CPU of the PostgreSQL backends connected to the bench database, sampled while a child
    runs (a backend that lives less than one interval is missed: a lower bound)."""

    def __init__(self, url: str, interval: float = 0.5) -> None:
        self.url, self.interval = url, interval
        self.seen: dict[int, tuple[float, float]] = {}  # pid -> (first, last) CPU seconds
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        conn = await asyncpg.connect(_pg(self.url))
        name = self.url.rsplit("/", 1)[-1]
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE datname = $1"
                    " AND pid <> pg_backend_pid()",
                    name,
                )
                for row in rows:
                    cpu = process_cpu_seconds(int(row["pid"]))
                    if cpu is not None:
                        first = self.seen.get(row["pid"], (cpu, cpu))[0]
                        self.seen[row["pid"]] = (first, cpu)
                await asyncio.sleep(self.interval)
        finally:
            await conn.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return sum(last - first for first, last in self.seen.values())


async def _db_counters(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(_pg(url))
    try:
        name = url.rsplit("/", 1)[-1]
        db = await conn.fetchrow(
            "SELECT xact_commit, tup_inserted, tup_updated, tup_fetched, tup_returned,"
            " blks_read, blks_hit FROM pg_stat_database WHERE datname = $1",
            name,
        )
        table = await conn.fetchrow(
            "SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relname = 'marketplace_listing'"
        )
        return {**dict(db), **{f"listing_{k}": v for k, v in dict(table or {}).items()}}
    finally:
        await conn.close()


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: int(after[k]) - int(before.get(k, 0)) for k in after}


# ---------------------------------------------------------------- checking the result


async def expected_listings(url: str, handle: str) -> dict[str, tuple[int, int]]:
    """``sku -> (quantity, price)`` the channel should show: quantity from the stock rows at
    the channel's locations by its allocation rule (plain SQL here; 0 for a product that is
    not ACTIVE), price from its pricing rules (``domain.pricing.price_for``, as every channel
    prices)."""
    from adapters.db.database import close_database, open_database
    from adapters.db.queries import TortoiseCatalogQueries
    from domain.pricing.model import price_for

    conn = await asyncpg.connect(_pg(url))
    try:
        channel = await conn.fetchrow(
            "SELECT id, currency, allocation_share_percent AS share, allocation_buffer AS buffer"
            " FROM channel WHERE handle = $1",
            handle,
        )
        rows = await conn.fetch(
            "SELECT v.id, v.sku, p.status = 'ACTIVE' AS on_sale,"
            " COALESCE(SUM(GREATEST(s.on_hand - s.reserved - s.safety_stock, 0)), 0) AS total"
            " FROM variant v JOIN product p ON p.id = v.product_id"
            " LEFT JOIN stock s ON s.variant_id = v.id AND s.location_id IN"
            " (SELECT location_id FROM channel_location WHERE channel_id = $1)"
            " WHERE NOT v.archived GROUP BY v.id, v.sku, p.status",
            channel["id"],
        )
    finally:
        await conn.close()
    share, buffer = int(channel["share"]), int(channel["buffer"])
    # a variant of a product not ACTIVE is offered at 0 (nothing of it is for sale)
    quantity = {
        r["id"]: max(0, int(r["total"]) * share // 100 - buffer) if r["on_sale"] else 0
        for r in rows
    }
    sku_of = {r["id"]: r["sku"] for r in rows}
    await open_database(url)
    try:
        queries = TortoiseCatalogQueries()
        at = datetime.now(UTC)
        ids = sorted(sku_of)
        expected: dict[str, tuple[int, int]] = {}
        for start in range(0, len(ids), 5000):
            part = ids[start : start + 5000]
            rules = await queries.prices_by_variant_ids(part, channel["currency"])
            for vid in part:
                quote = price_for(
                    rules.get(vid, []), currency=channel["currency"], channel=handle, tier=None,
                    at=at,
                )  # fmt: skip
                if quote is not None:
                    expected[sku_of[vid]] = (quantity[vid], quote.price.amount)
    finally:
        await close_database()
    return expected


async def check(url: str, fake_url: str) -> dict[str, Any]:
    """Every SKU: the fake against the database, and the engine's own record."""
    expected = await expected_listings(url, CHANNEL)
    async with httpx.AsyncClient(timeout=120) as client:
        shown = (await client.get(f"{fake_url}/_fake/listings")).json()
    wrong = []
    for sku, (quantity, price) in expected.items():
        got = shown.get(sku)
        if got is None or (got["quantity"], got["price"]) != (quantity, price):
            wrong.append({"sku": sku, "expected": [quantity, price], "fake": got})
    conn = await asyncpg.connect(_pg(url))
    try:
        rows = await conn.fetch(
            "SELECT l.sku, l.pushed_quantity, l.pushed_price, l.dirty, l.state"
            " FROM marketplace_listing l JOIN channel c ON c.id = l.channel_id"
            " WHERE c.handle = $1",
            CHANNEL,
        )
    finally:
        await conn.close()
    recorded = {r["sku"]: r for r in rows}
    unrecorded = []
    for sku, (quantity, price) in expected.items():
        row = recorded.get(sku)
        if row is None or (row["pushed_quantity"], row["pushed_price"], row["dirty"]) != (
            quantity,
            price,
            False,
        ):
            unrecorded.append(
                {"sku": sku, "expected": [quantity, price],
                 "row": None if row is None else dict(row)}
            )  # fmt: skip
    states: dict[str, int] = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    nonzero = sum(1 for q, _ in expected.values() if q > 0)
    return {
        "skus_checked": len(expected),
        "skus_with_quantity": nonzero,
        "fake_listings": len(shown),
        "fake_mismatches": len(wrong),
        "record_mismatches": len(unrecorded),
        "listing_states": states,
        "examples": (wrong + unrecorded)[:5],
        "ok": not wrong and not unrecorded and len(expected) > 0,
    }


# ---------------------------------------------------------------- the bench


async def _skus(url: str) -> list[str]:
    conn = await asyncpg.connect(_pg(url))
    try:
        rows = await conn.fetch("SELECT sku FROM variant WHERE NOT archived ORDER BY id")
        return [r["sku"] for r in rows]
    finally:
        await conn.close()


def _report(text: str) -> dict[str, int]:
    """What the command says it did: ``this run pushed N, found N unchanged, had N refused and
    N failed`` (or an older ``PushReport(claimed=N, ...)``)."""
    found: dict[str, int] = {}
    for key, pattern in (
        ("pushed", r"pushed (\d+)"),
        ("unchanged", r"(\d+) unchanged"),
        ("rejected", r"(\d+) refused"),
        ("failed", r"(\d+) failed"),
    ):
        if match := re.search(pattern, text):
            found[key] = int(match.group(1))
    if not found and (match := re.search(r"PushReport\(([^)]*)\)", text)):
        found = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}
    return found


def _run_child(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` to its end: wall time, exit status, peak RSS and CPU of that process."""
    started = time.perf_counter()
    proc = spawn(cmd, env, log)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stop_process(proc)
    return {
        "returncode": proc.returncode,
        "wall_seconds": wall,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "cpu_user_seconds": round(usage.ru_utime, 2),
        "cpu_system_seconds": round(usage.ru_stime, 2),
    }


async def bench(
    skus: int, url: str, redis_url: str, rate_scale: float, feed_poll: float, runs: int,
    logs: Path,
) -> dict[str, Any]:  # fmt: skip
    from adapters.marketplaces.demo import Fake, accounts, channel_of

    check_services(url, redis_url)
    await recreate_database(url)
    await flush_redis(redis_url)
    env = base_env(logs / "data")
    env.update(DATABASE_URL=url, REDIS_URL=redis_url)
    seeding: dict[str, Any] = {"seed_seconds": round(run_seed(env, logs / "seed.log", 600), 1)}
    have = len(await _skus(url))
    products = max(0, math.ceil((skus - have) / 3))
    if products:
        cmd = [sys.executable, "app.py", "seed-catalog", "--products", str(products)]
        grown = _run_child(cmd, env, logs / "seed-catalog.log")
        if grown["returncode"] != 0:
            raise RuntimeError(f"seed-catalog failed:\n{tail(logs / 'seed-catalog.log')}")
        seeding["seed_catalog_seconds"] = round(grown["wall_seconds"], 1)
    seeding["generated_products"] = products
    all_skus = await _skus(url)
    seeding["skus"] = len(all_skus)
    print(f"seeded: {len(all_skus)} SKUs ({seeding})", flush=True)

    port = free_port()
    fake_log = logs / "fake-amazon.log"
    fake = spawn(
        [sys.executable, "-m", "tools.fake_marketplaces.amazon", "--port", str(port)],
        env, fake_log,
    )  # fmt: skip
    fake_url = f"http://127.0.0.1:{port}"
    results = []
    try:
        await _wait_http(fake_url, fake, fake_log)
        handle, currency = channel_of("amazon")
        listings = {s: {"quantity": 0, "price": 0, "currency": currency} for s in all_skus}
        async with httpx.AsyncClient(timeout=300) as client:
            (await client.post(f"{fake_url}/_fake/listings", json=listings)).raise_for_status()
        fake_rss_seeded = _status_kb(fake.pid, "VmRSS")
        marketplaces = json.loads(
            accounts(
                [Fake("amazon", handle, currency, fake_url, None)], rate_scale=f"{rate_scale:g}"
            )
        )
        marketplaces[0]["options"]["feed_poll"] = f"{feed_poll:g}"
        env["MARKETPLACES"] = json.dumps(marketplaces)
        for number in range(1, runs + 1):
            before = await _db_counters(url)
            fake_cpu0, machine0 = process_cpu_seconds(fake.pid), machine_cpu_seconds()
            backends = BackendCpu(url)
            backends.start()
            log = logs / f"sync-{number}.log"
            cmd = [sys.executable, "app.py", "marketplace", "sync", CHANNEL, "--full"]
            child = await asyncio.to_thread(_run_child, cmd, env, log)
            postgres_cpu = await backends.stop()
            fake_cpu1, machine1 = process_cpu_seconds(fake.pid), machine_cpu_seconds()
            after = await _db_counters(url)
            if child["returncode"] != 0:
                raise RuntimeError(f"sync failed ({child['returncode']}):\n{tail(log)}")
            report = _report(log.read_text())
            verified = await check(url, fake_url)
            wall = child["wall_seconds"]
            fake_cpu = (fake_cpu1 or 0.0) - (fake_cpu0 or 0.0)
            machine = (machine1 or 0.0) - (machine0 or 0.0)
            row = {
                "run": number,
                "load_average_1min_after": round(os.getloadavg()[0], 1),
                "listing_rows": "created" if number == 1 else "updated",
                **child,
                "wall_seconds": round(wall, 1),
                "skus_per_second": round(len(all_skus) / wall, 1),
                "report": report,
                "feed_poll_sleep_floor_seconds": round(
                    math.ceil(len(all_skus) / 500) * feed_poll, 1
                ),
                "fake_cpu_seconds": round(fake_cpu, 2),
                "fake_rss_mb": round((_status_kb(fake.pid, "VmRSS") or 0) / 1024, 1),
                "fake_peak_rss_mb": round((_status_kb(fake.pid, "VmHWM") or 0) / 1024, 1),
                "postgres_backends_cpu_seconds": round(postgres_cpu, 2),
                "machine_cpu_seconds": round(machine, 1),
                "rest_cpu_seconds": round(
                    max(0.0, machine - child["cpu_seconds"] - fake_cpu - postgres_cpu), 1
                ),
                "database": _diff(after, before),
                "check": verified,
            }
            results.append(row)
            print(
                f"run {number}: {len(all_skus)} SKUs in {wall:.1f} s ({row['skus_per_second']}"
                f" SKUs/s), sync peak RSS {child['peak_rss_mb']} MB, CPU sync"
                f" {child['cpu_seconds']} s, fake {fake_cpu:.1f} s, PostgreSQL {postgres_cpu:.1f}"
                f" s, rest of machine {row['rest_cpu_seconds']} s; check:"
                f" {'OK' if verified['ok'] else 'MISMATCH'} ({verified['fake_mismatches']} fake,"
                f" {verified['record_mismatches']} record differences of"
                f" {verified['skus_checked']})",
                flush=True,
            )
    finally:
        await asyncio.to_thread(stop_process, fake)
    return {
        "seeding": {
            **seeding,
            "fake_rss_after_listings_mb": round((fake_rss_seeded or 0) / 1024, 1),
        },
        "results": results,
    }


def _commit() -> str:
    """The commit measured (with ``+changes`` when the engine's files differ from it)."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    head = git("rev-parse", "--short", "HEAD").strip()
    changed = git("status", "--porcelain", "--", "adapters/marketplaces", "app.py").strip()
    return head + ("+changes" if changed else "")


@click.command()
@click.option("--skus", default=100_000, show_default=True, help="SKUs in the catalog (at least).")
@click.option("--database-url", default=DEFAULT_DATABASE, show_default=True,
              help="Dropped and recreated.")  # fmt: skip
@click.option("--redis-url", default=DEFAULT_REDIS, show_default=True, help="Flushed.")
@click.option("--rate-scale", default=100_000.0, show_default=True,
              help="Multiplies the documented rate limits (the fake answers at once).")  # fmt: skip
@click.option("--feed-poll", default=0.25, show_default=True,
              help="Seconds between getFeed polls (adapter option; the demo's: 1).")  # fmt: skip
@click.option("--runs", default=2, show_default=True,
              help="Full pushes (the first creates the listing rows).")  # fmt: skip
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=RESULTS,
              show_default=True)  # fmt: skip
def main(
    skus: int, database_url: str, redis_url: str, rate_scale: float, feed_poll: float,
    runs: int, output: Path,
) -> None:  # fmt: skip
    """A timed, measured and checked full push of every SKU to the fake Amazon."""
    started = datetime.now(UTC)
    floor = documented_floor(skus)  # what the catalog would need at exactly --skus
    with tempfile.TemporaryDirectory(prefix="bench-marketplace-push-") as tmp:
        logs = Path(tmp)
        try:
            found = asyncio.run(
                bench(skus, database_url, redis_url, rate_scale, feed_poll, runs, logs)
            )
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None
    for name, plan in (
        ("as the engine sends them", floor["as_the_engine_sends_it"]),
        ("in rounds of 500", floor["in_rounds_of_500"]),
        ("in 25,000-message feeds", floor["with_25000_message_feeds"]),
    ):
        print(
            f"documented limits alone, {skus} SKUs {name}: {plan['feeds']} feeds of"
            f" {plan['messages_per_feed']} + {plan['per_sku_patches']} patches ->"
            f" >= {plan['floor_seconds']:.0f} s ({plan['floor_hours']} h, bound by"
            f" {plan['bound_by']})"
        )
    document = results_document(
        "marketplace_push",
        started=started,
        settings={
            "skus": skus,
            "channel": CHANNEL,
            "rate_scale": rate_scale,
            "feed_poll": feed_poll,
            "runs": runs,
            "database_url": database_url,
            "redis_url": redis_url,
            "command": f"app.py marketplace sync {CHANNEL} --full",
            "commit": _commit(),
        },
        extra={"seeding": found["seeding"], "documented_limits": floor},
        results=found["results"],
    )
    write_json(output, document)
    print(f"wrote {output}")
    if not all(r["check"]["ok"] for r in found["results"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
