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
import contextlib
import json
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
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import click
import httpx
from common import (
    ROOT,
    CpuMeter,
    Server,
    base_env,
    database_name,
    flush_redis,
    fmt,
    percentile,
    recreate_database,
    redis_db,
    round_or_none,
    run_seed,
    serving,
    tail,
    write_json,
)

RESULTS_DIR = ROOT / "bench" / "results"
SCENARIOS = ("browse", "flash-sale")
HEADERS = {"content-type": "application/json", "accept": "application/json"}

BROWSE = (
    'query Browse { products(first: 20, query: "available:true") { nodes { id title '
    "variants(first: 20) { nodes { id sku price { amount currencyCode } quantityAvailable } } } } }"
)
BROWSE_BODY = json.dumps({"query": BROWSE}).encode()
CART_CREATE = (
    "mutation CartCreate($input: CartInput!) { cartCreate(input: $input) { "
    "cart { id totalQuantity cost { totalAmount { amount currencyCode } } } "
    "userErrors { field code message } } }"
)
CHECKOUT = (
    "mutation Checkout($cartId: ID!, $key: String!) { "
    "checkoutComplete(cartId: $cartId, idempotencyKey: $key) { "
    "order { id number } userErrors { field code message } } }"
)
LYON = {  # the buyers' shipping address (delivery SHIP)
    "name": "Bench Buyer",
    "line1": "10 Rue de la République",
    "city": "Lyon",
    "postalCode": "69002",
    "countryCode": "FR",
    "latitude": 45.76,
    "longitude": 4.84,
}
CART_WORKERS = 32  # concurrent cartCreate requests while preparing the flash sale (not timed)


@dataclass
class Options:
    buyers: int
    units: int
    processes: int
    duration: float
    warmup: float
    concurrency: int
    timeout: float
    postgres_url: str
    redis_url: str
    seed_timeout: float


# ---------------------------------------------------------------- requests


@dataclass
class Reply:
    """One GraphQL answer: the mutation's or query's payload, or what went wrong."""

    payload: dict[str, Any] | None
    problem: str | None  # transport failure, non-200 status, GraphQL error: not a userError
    latency: float  # seconds, as seen by the client (includes client-side queueing)
    cache_hit: bool = False
    done: float = field(default_factory=time.perf_counter)  # when the answer was read

    @property
    def user_error(self) -> str | None:
        errors = (self.payload or {}).get("userErrors") or []
        return str(errors[0].get("code")) if errors else None


async def call(client: httpx.AsyncClient, url: str, body: bytes, root: str) -> Reply:
    """POST one GraphQL document; ``root`` names the field whose payload is returned."""
    sent = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers=HEADERS)
    except httpx.HTTPError as error:
        return Reply(None, f"exception {type(error).__name__}", time.perf_counter() - sent)
    latency = time.perf_counter() - sent
    if response.status_code != 200:
        return Reply(None, f"HTTP {response.status_code}", latency)
    try:
        document = response.json()
    except ValueError:
        return Reply(None, "body is not JSON", latency)
    if document.get("errors"):
        code = (document["errors"][0].get("extensions") or {}).get("code", "GRAPHQL_ERROR")
        return Reply(None, f"GraphQL {code}", latency)
    payload = (document.get("data") or {}).get(root)
    if not isinstance(payload, dict):
        return Reply(None, "no data", latency)
    return Reply(payload, None, latency, response.headers.get("x-cache") == "HIT")


def cart_body(variant_id: str, email: str) -> bytes:
    cart = {
        "lines": [{"merchandiseId": variant_id, "quantity": 1}],
        "buyerIdentity": {"email": email},
        "delivery": {"method": "SHIP", "address": LYON},
    }
    return json.dumps({"query": CART_CREATE, "variables": {"input": cart}}).encode()


def checkout_body(cart_id: str, key: str) -> bytes:
    return json.dumps({"query": CHECKOUT, "variables": {"cartId": cart_id, "key": key}}).encode()


def latency_summary(latencies: Iterable[float]) -> dict[str, float | int | None]:
    ordered = sorted(latencies)
    if not ordered:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
        "mean_ms": round(sum(ordered) / len(ordered) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def counts(counter: Counter[str]) -> dict[str, int]:
    return dict(counter.most_common())


# ---------------------------------------------------------------- servers


@dataclass
class Prepared:
    env: dict[str, str]
    seed_seconds: float


async def prepare(opts: Options, scratch: Path, name: str) -> Prepared:
    """A fresh ``bench`` database with the demo brand, an empty Redis db, the server env."""
    data_dir = scratch / f"data-{name}"
    data_dir.mkdir()
    await recreate_database(opts.postgres_url)
    await flush_redis(opts.redis_url)
    env = base_env(data_dir)
    env.update(
        DATABASE_URL=opts.postgres_url,
        REDIS_URL=opts.redis_url,
        RESERVATION_SWEEP_SECONDS="0",  # no sweeper: reservations stay as checkout left them
    )
    click.echo("  seeding …", err=True)
    seconds = await asyncio.to_thread(
        run_seed, env, scratch / f"seed-{name}.log", opts.seed_timeout
    )
    click.echo(f"  seeded in {seconds:.1f} s", err=True)
    return Prepared(env, seconds)


@contextlib.asynccontextmanager
async def servers(
    client: httpx.AsyncClient, count: int, env: dict[str, str], scratch: Path, name: str
) -> AsyncIterator[list[Server]]:
    """``count`` ``app.py serve`` processes; all stopped on the way out.

    The first starts alone: each ``serve`` migrates at start, and concurrent migrations of one
    database race (a pending migration would crash all but one process). The others then start
    side by side.
    """
    cmd = [sys.executable, "app.py", "serve"]

    def start(i: int) -> contextlib.AbstractAsyncContextManager[Server]:
        return serving(client, cmd, env, scratch / f"server-{name}-{i}.log")

    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(start(0))
        others = await asyncio.gather(
            *(stack.enter_async_context(start(i)) for i in range(1, count)),
            return_exceptions=True,  # let every start finish, so the stack stops them all
        )
        for outcome in others:
            if isinstance(outcome, BaseException):
                raise outcome
        yield [first, *(s for s in others if isinstance(s, Server))]


def exited(running: list[Server], scratch: Path, name: str) -> str | None:
    """A description of the servers that died during the run, if any."""
    dead = [
        f"server {i} exited with {s.proc.returncode}:\n{tail(scratch / f'server-{name}-{i}.log')}"
        for i, s in enumerate(running)
        if s.proc.poll() is not None
    ]
    return "\n".join(dead) or None


def server_errors(scratch: Path, name: str, count: int) -> str | None:
    """How many ERROR lines the servers logged, and the last traceback (the cause of a 500 or
    of an INTERNAL_SERVER_ERROR, which the API masks)."""
    errors, last = 0, ""
    for i in range(count):
        try:
            lines = (scratch / f"server-{name}-{i}.log").read_text(errors="replace").splitlines()
        except OSError:
            continue
        errors += sum(1 for line in lines if line.startswith("ERROR"))
        starts = [n for n, line in enumerate(lines) if line.startswith("Traceback")]
        if starts:
            last = "\n".join(lines[starts[-1] :][-25:])
    if not errors:
        return None
    return f"{errors} ERROR lines in the server logs; the last traceback:\n{last}"


# ---------------------------------------------------------------- 1. browse → cart → checkout


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
        return "\n".join([*lines, f"FAILED: {r.error}", *_logged(r.server_log)])
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
        f"userErrors: {_listing(r.user_errors)}",
        f"errors: {_listing(r.errors)}",
        f"products cache hits: {r.products_cache_hits} of {r.steps['products']['count']}",
        f"cpu (100 % = one core): client {fmt(r.client_cpu_percent, '.0f')} %, "
        f"server {fmt(r.server_cpu_percent, '.0f')} %, rest {fmt(r.rest_cpu_percent, '.0f')} %",
    ]
    if r.error:
        lines.append(f"error: {r.error}")
    lines += _logged(r.server_log)
    return "\n".join(lines)


def _logged(server_log: str | None) -> list[str]:
    return ["", f"server log: {server_log}"] if server_log else []


def _listing(counter: dict[str, int]) -> str:
    return ", ".join(f"{k} × {v}" for k, v in counter.items()) or "none"


# ---------------------------------------------------------------- 2. flash sale


@dataclass(frozen=True)
class Sku:
    variant_id: int
    sku: str
    warehouse_id: int
    warehouse: str


async def stage_flash_sale(url: str, units: int) -> Sku:
    """One seeded variant sold on the web: ``units`` at the warehouse, nothing anywhere else.

    Written straight into the database before the servers start (no movement is recorded, so the
    ledger's RESERVATION lines come from the checkouts alone)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            row = await conn.fetchrow(
                "SELECT v.id, v.sku FROM variant v JOIN product p ON p.id = v.product_id "
                "WHERE p.status = 'ACTIVE' AND NOT v.archived AND EXISTS ("
                "  SELECT 1 FROM price r WHERE r.variant_id = v.id AND r.kind = 'BASE') "
                "ORDER BY v.id LIMIT 1"
            )
            warehouse = await conn.fetchrow(
                "SELECT id, name FROM location WHERE kind = 'WAREHOUSE' ORDER BY id LIMIT 1"
            )
            if row is None or warehouse is None:
                raise RuntimeError("the seed has no active priced variant or no warehouse")
            variant_id, warehouse_id = row["id"], warehouse["id"]
            await conn.execute(
                "UPDATE stock SET on_hand = 0, reserved = 0, safety_stock = 0 "
                "WHERE variant_id = $1",
                variant_id,
            )
            status = await conn.execute(
                "UPDATE stock SET on_hand = $2 WHERE variant_id = $1 AND location_id = $3",
                variant_id,
                units,
                warehouse_id,
            )
            if status != "UPDATE 1":
                raise RuntimeError(f"no stock row at the warehouse for variant {variant_id}")
    finally:
        await conn.close()
    return Sku(variant_id, row["sku"], warehouse_id, warehouse["name"])


async def variant_gid(client: httpx.AsyncClient, url: str, sku: str) -> str:
    """The variant's GraphQL ID, as a storefront finds it: a product search by SKU."""
    query = (
        "query Find($q: String!) { products(first: 5, query: $q) { nodes { "
        "variants(first: 100) { nodes { id sku } } } } }"
    )
    body = json.dumps({"query": query, "variables": {"q": sku}}).encode()
    reply = await call(client, url, body, "products")
    for product in (reply.payload or {}).get("nodes", []):
        for variant in product["variants"]["nodes"]:
            if variant["sku"] == sku:
                return str(variant["id"])
    raise RuntimeError(f"the API does not find the SKU {sku}: {reply.problem or reply.payload}")


async def orders_written(url: str) -> tuple[float, float] | None:
    """When the first and the last order were written (``created_at``, epoch seconds)."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            'SELECT min(created_at) AS first, max(created_at) AS last FROM "order"'
        )
    finally:
        await conn.close()
    if row is None or row["first"] is None:
        return None
    return row["first"].timestamp(), row["last"].timestamp()


@dataclass
class Check:
    what: str
    expected: int
    found: int

    @property
    def ok(self) -> bool:
        return self.expected == self.found


async def verify(
    url: str, sku: Sku, *, units: int, expected: int, answered_sold: int
) -> list[Check]:
    """What the database says after the burst, against what must be true."""
    conn = await asyncpg.connect(url)
    try:
        orders = await conn.fetchval('SELECT count(*) FROM "order"')
        lines = await conn.fetchrow(
            "SELECT count(DISTINCT order_id) AS orders, coalesce(sum(quantity), 0) AS units "
            "FROM order_line WHERE variant_id = $1",
            sku.variant_id,
        )
        stock = await conn.fetchrow(
            "SELECT on_hand, reserved FROM stock WHERE variant_id = $1 AND location_id = $2",
            sku.variant_id,
            sku.warehouse_id,
        )
        elsewhere = await conn.fetchval(
            "SELECT coalesce(sum(reserved), 0) FROM stock "
            "WHERE variant_id = $1 AND location_id <> $2",
            sku.variant_id,
            sku.warehouse_id,
        )
        movements = await conn.fetchval(
            "SELECT coalesce(sum(delta), 0) FROM stock_movement "
            "WHERE variant_id = $1 AND kind = 'RESERVATION'",
            sku.variant_id,
        )
        held = await conn.fetchval(
            "SELECT coalesce(sum(quantity), 0) FROM reservation "
            "WHERE variant_id = $1 AND status = 'ACTIVE'",
            sku.variant_id,
        )
    finally:
        await conn.close()
    return [
        Check("orders placed (answers)", expected, answered_sold),
        Check("orders in the database", expected, int(orders)),
        Check("units sold (order lines)", expected, int(lines["units"])),
        Check("reserved, warehouse row", expected, int(stock["reserved"])),
        Check("RESERVATION movements (sum)", expected, int(movements)),
        Check("active reservations (sum)", expected, int(held)),
        Check("reserved at other locations", 0, int(elsewhere)),
        Check("on hand, warehouse row", units, int(stock["on_hand"])),
    ]


@dataclass
class FlashResult:
    name: str = "flash-sale"
    label: str = "flash sale: every checkout at once"
    servers: int = 0
    buyers: int = 0
    units: int = 0
    variant_id: int | None = None
    sku: str | None = None
    warehouse: str | None = None
    carts: int = 0  # carts created (not timed)
    cart_seconds: float | None = None
    cart_errors: dict[str, int] = field(default_factory=dict)
    checkouts: int = 0  # checkouts fired in the burst
    answered: int = 0  # answered with a payload (placed or refused)
    elapsed_s: float = 0.0  # first request sent → last answer
    checkouts_per_second: float | None = None  # answered per second over the burst
    p50_ms: float | None = None  # every answered checkout, from its own send
    p99_ms: float | None = None
    mean_ms: float | None = None
    max_ms: float | None = None
    sold_p50_ms: float | None = None  # the checkouts that placed an order
    refused_p50_ms: float | None = None  # the checkouts refused with a userError
    first_answer_s: float | None = None  # burst start → first answer
    sold_out_s: float | None = None  # burst start → the last sale's answer
    orders_written_s: list[float] | None = None  # burst start → first, last order's created_at
    sold: int = 0  # answers with an order
    refused: dict[str, int] = field(default_factory=dict)  # userErrors by code
    errors: dict[str, int] = field(default_factory=dict)  # transport, HTTP, GraphQL errors
    expected_sold: int = 0
    checks: list[dict[str, Any]] = field(default_factory=list)
    consistent: bool | None = None
    client_cpu_percent: float | None = None
    server_cpu_percent: float | None = None  # all server processes together
    rest_cpu_percent: float | None = None
    seed_seconds: float | None = None
    server_log: str | None = None  # errors logged by the servers
    error: str | None = None


async def create_carts(
    clients: list[httpx.AsyncClient], urls: list[str], gid: str, buyers: int, result: FlashResult
) -> list[tuple[int, str]]:
    """One cart per buyer (buyer i on server i mod N), a few at a time; (buyer, cart id)."""
    carts: list[tuple[int, str]] = []
    errors: Counter[str] = Counter()
    pending = iter(range(buyers))

    async def worker() -> None:
        for i in pending:
            server = i % len(urls)
            body = cart_body(gid, f"buyer{i}@example.com")
            reply = await call(clients[server], urls[server], body, "cartCreate")
            if reply.payload is None:
                errors[str(reply.problem)] += 1
            elif reply.user_error or not reply.payload.get("cart"):
                errors[f"userError {reply.user_error}"] += 1
            else:
                carts.append((i, reply.payload["cart"]["id"]))

    await asyncio.gather(*(worker() for _ in range(min(CART_WORKERS, buyers))))
    result.cart_errors = counts(errors)
    return sorted(carts)


async def flash_sale_scenario(opts: Options, scratch: Path) -> FlashResult:
    result = FlashResult(servers=opts.processes, buyers=opts.buyers, units=opts.units)
    click.echo(
        f"· flash-sale: {opts.units} units, {opts.buyers} buyers, {opts.processes} servers",
        err=True,
    )
    try:
        prepared = await prepare(opts, scratch, "flash")
        result.seed_seconds = round(prepared.seed_seconds, 1)
        sku = await stage_flash_sale(opts.postgres_url, opts.units)
        result.variant_id, result.sku, result.warehouse = sku.variant_id, sku.sku, sku.warehouse
        replies: list[Reply] = []
        async with httpx.AsyncClient(timeout=30.0) as control:
            async with servers(control, opts.processes, prepared.env, scratch, "flash") as running:
                urls = [f"{s.url}/graphql" for s in running]
                limits = httpx.Limits(
                    max_connections=opts.buyers, max_keepalive_connections=opts.buyers
                )
                async with contextlib.AsyncExitStack() as stack:
                    clients = [
                        await stack.enter_async_context(
                            httpx.AsyncClient(limits=limits, timeout=opts.timeout)
                        )
                        for _ in running
                    ]
                    gid = await variant_gid(clients[0], urls[0], sku.sku)
                    began = time.perf_counter()
                    carts = await create_carts(clients, urls, gid, opts.buyers, result)
                    result.carts = len(carts)
                    if not carts:
                        raise RuntimeError(f"no cart could be created: {result.cart_errors}")
                    result.cart_seconds = round(time.perf_counter() - began, 1)
                    click.echo(
                        f"  {len(carts)} carts in {result.cart_seconds:.1f} s; firing checkouts",
                        err=True,
                    )
                    bodies = [
                        (i % len(urls), checkout_body(cart, f"flash-{i}")) for i, cart in carts
                    ]
                    cpu = CpuMeter(*(s.proc.pid for s in running))
                    started, started_wall = time.perf_counter(), time.time()
                    replies = await asyncio.gather(
                        *(call(clients[s], urls[s], body, "checkoutComplete") for s, body in bodies)
                    )
                    elapsed = time.perf_counter() - started
                    client_cpu, server_cpu, rest = cpu.percents(elapsed)
                result.error = exited(running, scratch, "flash")
                if len(carts) < opts.buyers:
                    failed = f"{opts.buyers - len(carts)} of {opts.buyers} carts not created"
                    result.error = "\n".join(filter(None, [failed, result.error]))
        # The servers are stopped (in-flight requests drained): the database is final.
        result.client_cpu_percent = round_or_none(client_cpu)
        result.server_cpu_percent = round_or_none(server_cpu)
        result.rest_cpu_percent = round_or_none(rest)
        result.checkouts = len(replies)
        answered = [r for r in replies if r.payload is not None]
        result.answered = len(answered)
        result.elapsed_s = round(elapsed, 3)
        result.checkouts_per_second = round(len(answered) / elapsed, 1) if elapsed else None
        summary = latency_summary(r.latency for r in answered)
        result.p50_ms, result.p99_ms = summary["p50_ms"], summary["p99_ms"]
        result.mean_ms, result.max_ms = summary["mean_ms"], summary["max_ms"]
        sold = [r for r in answered if r.payload and r.payload.get("order")]
        refused = [r for r in answered if r.user_error]
        result.sold = len(sold)
        result.sold_p50_ms = latency_summary(r.latency for r in sold)["p50_ms"]
        result.refused_p50_ms = latency_summary(r.latency for r in refused)["p50_ms"]
        if answered:
            result.first_answer_s = round(min(r.done for r in answered) - started, 3)
        if sold:
            result.sold_out_s = round(max(r.done for r in sold) - started, 3)
        result.refused = counts(Counter(str(r.user_error) for r in refused))
        written = await orders_written(opts.postgres_url)
        if written:
            result.orders_written_s = [round(w - started_wall, 3) for w in written]
        result.errors = counts(Counter(str(r.problem) for r in replies if r.payload is None))
        result.expected_sold = min(opts.units, len(carts))
        checks = await verify(
            opts.postgres_url,
            sku,
            units=opts.units,
            expected=result.expected_sold,
            answered_sold=result.sold,
        )
        result.checks = [{**asdict(c), "ok": c.ok} for c in checks]
        result.consistent = all(c.ok for c in checks)
        click.echo(
            f"  {result.sold} sold, {sum(result.refused.values())} refused, "
            f"{sum(result.errors.values())} errors in {elapsed:.1f} s; "
            f"database {'OK' if result.consistent else 'MISMATCH'}",
            err=True,
        )
    except Exception as error:
        result.error = f"{type(error).__name__}: {error}"
        click.echo(f"  FAILED: {result.error}", err=True)
    result.server_log = server_errors(scratch, "flash", opts.processes)
    return result


def flash_table(r: FlashResult) -> str:
    lines = [
        f"flash sale: {r.units} units of {r.sku or '?'} at {r.warehouse or 'the warehouse'}, "
        f"{r.buyers} buyers over {r.servers} servers, all checkouts at once"
    ]
    if r.error and not r.checkouts:
        return "\n".join([*lines, f"FAILED: {r.error}", *_logged(r.server_log)])
    lines.append(
        f"carts created first (not timed): {r.carts} of {r.buyers} in {fmt(r.cart_seconds)} s"
        + (f"; failures: {_listing(r.cart_errors)}" if r.cart_errors else "")
    )
    written = "-"
    if r.orders_written_s:
        written = f"{r.orders_written_s[0]:.2f} s to {r.orders_written_s[1]:.2f} s"
    head = (
        f"{'checkouts':>9} {'answered':>8} {'burst s':>8} {'ckout/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'sold':>5} {'refused':>7} {'errors':>6}"
    )
    lines += [
        "",
        head,
        "-" * len(head),
        f"{r.checkouts:>9} {r.answered:>8} {r.elapsed_s:>8.2f} {fmt(r.checkouts_per_second):>8} "
        f"{fmt(r.p50_ms, '.0f'):>8} {fmt(r.p99_ms, '.0f'):>8} {fmt(r.max_ms, '.0f'):>8} "
        f"{r.sold:>5} {sum(r.refused.values()):>7} {sum(r.errors.values()):>6}",
        "",
        f"p50 of the sales {fmt(r.sold_p50_ms, '.0f')} ms, of the refusals "
        f"{fmt(r.refused_p50_ms, '.0f')} ms",
        f"after the burst began: orders written (created_at) {written}, "
        f"first answer {fmt(r.first_answer_s, '.2f')} s, "
        f"last sale answered {fmt(r.sold_out_s, '.2f')} s",
        f"refused (userErrors): {_listing(r.refused)}",
        f"errors: {_listing(r.errors)}",
        f"cpu (100 % = one core): client {fmt(r.client_cpu_percent, '.0f')} %, "
        f"servers {fmt(r.server_cpu_percent, '.0f')} %, rest {fmt(r.rest_cpu_percent, '.0f')} %",
    ]
    if r.checks:
        head = f"{'database check':<30} {'expected':>8} {'found':>8}"
        lines += ["", head, "-" * len(head)]
        for c in r.checks:
            mark = "" if c["ok"] else "  MISMATCH"
            lines.append(f"{c['what']:<30} {c['expected']:>8} {c['found']:>8}{mark}")
        verdict = "OK" if r.consistent else "MISMATCH"
        lines.append(f"verdict: {verdict} (expected sold = min(units, carts) = {r.expected_sold})")
    if r.error:
        lines.append(f"error: {r.error}")
    lines += _logged(r.server_log)
    return "\n".join(lines)


# ---------------------------------------------------------------- command line


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
