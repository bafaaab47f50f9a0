"""The flash-sale scenario of bench/checkout.py: one SKU, N servers, every checkout at once,
and a database check that units sold, reserved and in the ledger agree."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import click
import httpx
from common import (
    CpuMeter,
    fmt,
    round_or_none,
)
from shop import (
    CART_WORKERS,
    Options,
    Reply,
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
        return "\n".join([*lines, f"FAILED: {r.error}", *logged(r.server_log)])
    lines.append(
        f"carts created first (not timed): {r.carts} of {r.buyers} in {fmt(r.cart_seconds)} s"
        + (f"; failures: {listing(r.cart_errors)}" if r.cart_errors else "")
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
        f"refused (userErrors): {listing(r.refused)}",
        f"errors: {listing(r.errors)}",
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
    lines += logged(r.server_log)
    return "\n".join(lines)


# ---------------------------------------------------------------- command line
