"""Checkout throughput and the flash-sale race, against real servers on PostgreSQL + Redis.

Two scenarios, each on a freshly seeded database and real ``python app.py serve`` processes:

  browse      1 server: virtual shoppers run products → cartCreate → checkoutComplete back to
              back; completed checkouts per second and the latency of each step
  flash-sale  N servers: one SKU with exactly --units units at the warehouse, --buyers carts
              created first, then every checkout fired at once; afterwards the database must
              show exactly min(units, buyers) units sold, reserved and in the ledger

The load generator is ``httpx.AsyncClient`` in this process. See bench/README.md.

    .venv/bin/python bench/checkout.py [--only browse,flash-sale] [--buyers 1000] [--units 100]
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx
from common import (
    CpuMeter,
    database_name,
    fmt,
    redis_db,
    round_or_none,
    write_json,
)
from flash_sale import (
    FlashResult,
    flash_sale_scenario,
    flash_table,
)
from shop import (
    BROWSE,
    BROWSE_BODY,
    CART_CREATE,
    CHECKOUT,
    RESULTS_DIR,
    SCENARIOS,
    Options,
    call,
    cart_body,
    checkout_body,
    counts,
    exited,
    latency_summary,
    listing,
    logged,
    prepare,
    server_errors,
    servers,
)


@dataclass
class Shopping:
    """What the virtual shoppers saw during one window."""

    products: list[float] = field(default_factory=list)
    cart_create: list[float] = field(default_factory=list)
    checkout: list[float] = field(default_factory=list)  # answered checkouts, placed or refused
    journey: list[float] = field(default_factory=list)  # journeys that placed an order
    journeys: int = 0  # started
    placed: int = 0
    cache_hits: int = 0  # products answers with X-Cache: HIT
    errors: Counter[str] = field(default_factory=Counter)  # transport, HTTP, GraphQL errors
    user_errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0


async def journey(
    client: httpx.AsyncClient, url: str, rng: random.Random, n: int, run: Shopping
) -> bool:
    """One shopper's visit; True when it placed an order."""
    browse = await call(client, url, BROWSE_BODY, "products")
    if browse.payload is None:
        run.errors[f"products: {browse.problem}"] += 1
        return False
    run.products.append(browse.latency)
    run.cache_hits += browse.cache_hit
    available = [
        variant
        for product in browse.payload["nodes"]
        for variant in product["variants"]["nodes"]
        if variant["quantityAvailable"] > 0
    ]
    if not available:
        run.errors["products: no variant with quantityAvailable > 0"] += 1
        return False
    variant = rng.choice(available)
    token = uuid.uuid4().hex
    email = f"shopper{n}-{token[:8]}@example.com"
    cart = await call(client, url, cart_body(variant["id"], email), "cartCreate")
    if cart.payload is None:
        run.errors[f"cartCreate: {cart.problem}"] += 1
        return False
    run.cart_create.append(cart.latency)
    if cart.user_error or not cart.payload.get("cart"):
        run.user_errors[f"cartCreate {cart.user_error}"] += 1
        return False
    body = checkout_body(cart.payload["cart"]["id"], f"bench-{token}")
    checkout = await call(client, url, body, "checkoutComplete")
    if checkout.payload is None:
        run.errors[f"checkoutComplete: {checkout.problem}"] += 1
        return False
    run.checkout.append(checkout.latency)
    if checkout.user_error or not checkout.payload.get("order"):
        run.user_errors[f"checkoutComplete {checkout.user_error}"] += 1
        return False
    run.placed += 1
    return True


async def shop(url: str, *, concurrency: int, duration: float, request_timeout: float) -> Shopping:
    """``concurrency`` shoppers run browse → cart → checkout back to back for ``duration`` s.

    Each shopper has its own client and keep-alive connection (see ``catalog.py``'s ``drive``);
    a journey started before the deadline is finished, and counted.
    """
    run = Shopping()
    started = time.perf_counter()
    deadline = started + duration

    async def shopper(n: int) -> None:
        rng = random.Random(n)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(limits=limits, timeout=request_timeout) as client:
            while time.perf_counter() < deadline:
                run.journeys += 1
                begun = time.perf_counter()
                if not await journey(client, url, rng, n, run):
                    await asyncio.sleep(0.01)  # a failing server must not spin the loop
                    continue
                run.journey.append(time.perf_counter() - begun)

    await asyncio.gather(*(shopper(n) for n in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run


@dataclass
class BrowseResult:
    name: str = "browse"
    label: str = "browse → cart → checkout"
    servers: int = 1
    concurrency: int = 0
    journeys: int = 0  # started in the window (and finished)
    orders: int = 0  # checkouts that placed an order
    elapsed_s: float = 0.0
    checkouts_per_second: float | None = None  # orders placed per second
    checkout_p50_ms: float | None = None  # checkoutComplete alone, answered (placed or refused)
    checkout_p99_ms: float | None = None
    journey_p50_ms: float | None = None  # products → cartCreate → checkoutComplete, placed
    journey_p99_ms: float | None = None
    steps: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    products_cache_hits: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    user_errors: dict[str, int] = field(default_factory=dict)
    warmup_journeys: int = 0
    client_cpu_percent: float | None = None
    server_cpu_percent: float | None = None
    rest_cpu_percent: float | None = None
    seed_seconds: float | None = None
    server_log: str | None = None  # errors logged by the server
    error: str | None = None


async def browse_scenario(opts: Options, scratch: Path) -> BrowseResult:
    result = BrowseResult(concurrency=opts.concurrency)
    click.echo(f"· browse: {result.label}", err=True)
    try:
        prepared = await prepare(opts, scratch, "browse")
        result.seed_seconds = round(prepared.seed_seconds, 1)
        async with httpx.AsyncClient(timeout=30.0) as control:
            async with servers(control, 1, prepared.env, scratch, "browse") as running:
                url = f"{running[0].url}/graphql"
                warm = await shop(
                    url,
                    concurrency=opts.concurrency,
                    duration=opts.warmup,
                    request_timeout=opts.timeout,
                )
                result.warmup_journeys = warm.journeys
                cpu = CpuMeter(running[0].proc.pid)
                run = await shop(
                    url,
                    concurrency=opts.concurrency,
                    duration=opts.duration,
                    request_timeout=opts.timeout,
                )
                client_cpu, server_cpu, rest = cpu.percents(run.elapsed)
                result.error = exited(running, scratch, "browse")
        result.client_cpu_percent = round_or_none(client_cpu)
        result.server_cpu_percent = round_or_none(server_cpu)
        result.rest_cpu_percent = round_or_none(rest)
        result.journeys = run.journeys
        result.orders = run.placed
        result.elapsed_s = round(run.elapsed, 3)
        result.checkouts_per_second = round(run.placed / run.elapsed, 1)
        result.steps = {
            "products": latency_summary(run.products),
            "cartCreate": latency_summary(run.cart_create),
            "checkoutComplete": latency_summary(run.checkout),
            "journey": latency_summary(run.journey),
        }
        result.checkout_p50_ms = result.steps["checkoutComplete"]["p50_ms"]
        result.checkout_p99_ms = result.steps["checkoutComplete"]["p99_ms"]
        result.journey_p50_ms = result.steps["journey"]["p50_ms"]
        result.journey_p99_ms = result.steps["journey"]["p99_ms"]
        result.products_cache_hits = run.cache_hits
        result.errors = counts(run.errors)
        result.user_errors = counts(run.user_errors)
        click.echo(
            f"  {run.placed} orders in {run.elapsed:.1f} s, {sum(run.errors.values())} errors",
            err=True,
        )
    except Exception as error:
        result.error = f"{type(error).__name__}: {error}"
        click.echo(f"  FAILED: {result.error}", err=True)
    result.server_log = server_errors(scratch, "browse", 1)
    return result


def browse_table(r: BrowseResult, opts: Options) -> str:
    lines = [
        f"browse → cart → checkout: 1 server, {r.concurrency} shoppers, "
        f"{opts.duration:g} s (after {opts.warmup:g} s warm-up)"
    ]
    if r.error and not r.journeys:
        return "\n".join([*lines, f"FAILED: {r.error}", *logged(r.server_log)])
    head = f"{'step':<28} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}"
    lines += [head, "-" * len(head)]
    names = {
        "products": 'products(first: 20, "available:true")',
        "cartCreate": "cartCreate",
        "checkoutComplete": "checkoutComplete",
        "journey": "whole journey (placed)",
    }
    for key, label in names.items():
        s = r.steps[key]
        lines.append(
            f"{label[:28]:<28} {s['count']:>7} {fmt(s['p50_ms'], '.2f'):>8} "
            f"{fmt(s['p99_ms'], '.2f'):>8} {fmt(s['mean_ms'], '.2f'):>8} "
            f"{fmt(s['max_ms'], '.2f'):>8}"
        )
    lines += [
        "",
        f"completed checkouts: {r.orders} of {r.journeys} journeys in {r.elapsed_s:.1f} s "
        f"= {fmt(r.checkouts_per_second)}/s",
        f"userErrors: {listing(r.user_errors)}",
        f"errors: {listing(r.errors)}",
        f"products cache hits: {r.products_cache_hits} of {r.steps['products']['count']}",
        f"cpu (100 % = one core): client {fmt(r.client_cpu_percent, '.0f')} %, "
        f"server {fmt(r.server_cpu_percent, '.0f')} %, rest {fmt(r.rest_cpu_percent, '.0f')} %",
    ]
    if r.error:
        lines.append(f"error: {r.error}")
    lines += logged(r.server_log)
    return "\n".join(lines)


def _selected(only: tuple[str, ...]) -> list[str]:
    names = [n.strip() for item in only for n in item.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}",
            param_hint="--only",
        )
    return [s for s in SCENARIOS if not names or s in names]


async def run_all(scenarios: list[str], opts: Options) -> list[BrowseResult | FlashResult]:
    scratch = Path(tempfile.mkdtemp(prefix="o2o-bench-checkout-"))
    try:
        results: list[BrowseResult | FlashResult] = []
        if "browse" in scenarios:
            results.append(await browse_scenario(opts, scratch))
        if "flash-sale" in scenarios:
            results.append(await flash_sale_scenario(opts, scratch))
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--only",
    multiple=True,
    metavar="NAME[,NAME]",
    help=f"Scenarios to run (default all): {', '.join(SCENARIOS)}.",
)
@click.option(
    "--buyers", default=1000, show_default=True, help="Flash sale: buyers (one cart each)."
)
@click.option("--units", default=100, show_default=True, help="Flash sale: units of the SKU.")
@click.option("--processes", default=3, show_default=True, help="Flash sale: server processes.")
@click.option("--duration", default=20.0, show_default=True, help="Browse: seconds measured.")
@click.option("--warmup", default=2.0, show_default=True, help="Browse: seconds of warm-up.")
@click.option("--concurrency", default=16, show_default=True, help="Browse: virtual shoppers.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds allowed per request.")
@click.option(
    "--postgres-url",
    envvar="BENCH_DATABASE_URL",
    default="postgres://postgres@127.0.0.1:5432/bench",
    show_default=True,
    help="Dropped and recreated before each scenario.",
)
@click.option(
    "--redis-url",
    envvar="BENCH_REDIS_URL",
    default="redis://127.0.0.1:6379/1",
    show_default=True,
    help="Flushed before each scenario (db 0 is refused).",
)
@click.option(
    "--seed-timeout", default=300.0, show_default=True, help="Seconds allowed for `app.py seed`."
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=RESULTS_DIR / "checkout.json",
    show_default=True,
)
def main(
    only: tuple[str, ...],
    buyers: int,
    units: int,
    processes: int,
    duration: float,
    warmup: float,
    concurrency: int,
    timeout: float,
    postgres_url: str,
    redis_url: str,
    seed_timeout: float,
    output: Path,
) -> None:
    """Checkout throughput (browse → cart → checkout) and the flash-sale race, on PostgreSQL."""
    scenarios = _selected(only)
    for name, value in (
        ("--buyers", buyers),
        ("--processes", processes),
        ("--concurrency", concurrency),
    ):
        if value < 1:
            raise click.BadParameter("must be at least 1", param_hint=name)
    if units < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--units")
    database_name(postgres_url)
    if redis_db(redis_url) == 0:
        raise click.BadParameter("Redis db 0 is refused; use e.g. /1", param_hint="--redis-url")
    opts = Options(
        buyers=buyers,
        units=units,
        processes=processes,
        duration=duration,
        warmup=warmup,
        concurrency=concurrency,
        timeout=timeout,
        postgres_url=postgres_url,
        redis_url=redis_url,
        seed_timeout=seed_timeout,
    )
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = datetime.now(UTC)
    results = asyncio.run(run_all(scenarios, opts))
    for r in results:
        click.echo()
        click.echo(browse_table(r, opts) if isinstance(r, BrowseResult) else flash_table(r))
    write_json(
        output,
        {
            "benchmark": "checkout",
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "settings": {
                "scenarios": scenarios,
                "buyers": buyers,
                "units": units,
                "processes": processes,
                "duration_s": duration,
                "warmup_s": warmup,
                "concurrency": concurrency,
                "timeout_s": timeout,
                "uvicorn_workers": 1,
            },
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "queries": {"products": BROWSE, "cartCreate": CART_CREATE, "checkout": CHECKOUT},
            "results": [asdict(r) for r in results],
        },
    )
    click.echo(f"\nwrote {output}")
    failed = any(r.error for r in results)
    mismatch = any(isinstance(r, FlashResult) and r.consistent is False for r in results)
    if failed or mismatch:
        sys.exit(1)


if __name__ == "__main__":
    main()
