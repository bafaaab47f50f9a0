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
from urllib.parse import urlsplit

import click
import httpx
from common import (
    CpuMeter,
    fmt,
    round_or_none,
)
from flash_sale_db import Sku, orders_written, stage_flash_sale, verify
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


class Connection:
    """One keep-alive HTTP/1.1 connection of a buyer, plain asyncio (no client library: the
    load generator shares the machine's cores with the servers it measures)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = (
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            parts.path,
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, body: bytes, root: str) -> Reply:
        """POST one GraphQL document; the latency runs from the send to the last byte read."""
        sent = time.perf_counter()
        try:
            if self.writer is None:
                await self.open()
            assert self.reader is not None and self.writer is not None
            head = (
                f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Content-Type: application/json\r\nAccept: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            self.writer.write(head + body)
            status_line = await self.reader.readline()
            length = 0
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            payload = await self.reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            return Reply(None, f"exception {type(error).__name__}", time.perf_counter() - sent)
        latency = time.perf_counter() - sent
        status = status_line.split(b" ", 2)[1:2]
        if status != [b"200"]:
            return Reply(None, f"HTTP {status[0].decode() if status else '?'}", latency)
        try:
            document = json.loads(payload)
        except ValueError:
            return Reply(None, "body is not JSON", latency)
        if document.get("errors"):
            code = (document["errors"][0].get("extensions") or {}).get("code", "GRAPHQL_ERROR")
            return Reply(None, f"GraphQL {code}", latency)
        found = (document.get("data") or {}).get(root)
        if not isinstance(found, dict):
            return Reply(None, "no data", latency)
        return Reply(found, None, latency)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class Burst:
    """The checkouts fired at once: their answers, when the burst began, the CPU it took."""

    carts: list[tuple[int, str]]  # (buyer, cart id)
    replies: list[Reply]
    started: float  # time.perf_counter() when the burst began
    started_wall: float  # time.time() then
    elapsed: float  # first request sent → last answer
    cpu: tuple[float | None, float | None, float | None]  # client, servers, rest


async def flash_sale_scenario(opts: Options, scratch: Path) -> FlashResult:
    """Stage the SKU, create every cart, fire every checkout at once, then check the database."""
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
        burst = await _run(opts, prepared.env, scratch, sku, result)
        # The servers are stopped (in-flight requests drained): the database is final.
        await _record(opts, sku, burst, result)
        click.echo(
            f"  {result.sold} sold, {sum(result.refused.values())} refused, "
            f"{sum(result.errors.values())} errors in {burst.elapsed:.1f} s; "
            f"database {'OK' if result.consistent else 'MISMATCH'}",
            err=True,
        )
    except Exception as error:
        result.error = f"{type(error).__name__}: {error}"
        click.echo(f"  FAILED: {result.error}", err=True)
    result.server_log = server_errors(scratch, "flash", opts.processes)
    return result


async def _run(
    opts: Options, env: dict[str, str], scratch: Path, sku: Sku, result: FlashResult
) -> Burst:
    """Start the servers, then the burst; a server that died or a missing cart is an error."""
    async with httpx.AsyncClient(timeout=30.0) as control:
        async with servers(control, opts.processes, env, scratch, "flash") as running:
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
                pids = [s.proc.pid for s in running]
                burst = await _burst(
                    clients, urls, pids, sku=sku, buyers=opts.buyers, result=result
                )
            result.error = exited(running, scratch, "flash")
            if len(burst.carts) < opts.buyers:
                failed = f"{opts.buyers - len(burst.carts)} of {opts.buyers} carts not created"
                result.error = "\n".join(filter(None, [failed, result.error]))
    return burst


async def _burst(
    clients: list[httpx.AsyncClient],
    urls: list[str],
    pids: list[int],
    *,
    sku: Sku,
    buyers: int,
    result: FlashResult,
) -> Burst:
    """One cart per buyer first (not timed), then every checkout at once."""
    gid = await variant_gid(clients[0], urls[0], sku.sku)
    began = time.perf_counter()
    carts = await create_carts(clients, urls, gid, buyers, result)
    result.carts = len(carts)
    if not carts:
        raise RuntimeError(f"no cart could be created: {result.cart_errors}")
    result.cart_seconds = round(time.perf_counter() - began, 1)
    click.echo(f"  {len(carts)} carts in {result.cart_seconds:.1f} s; firing checkouts", err=True)
    bodies = [(i % len(urls), checkout_body(cart, f"flash-{i}")) for i, cart in carts]
    # one connection per buyer, opened before the burst (not timed)
    connections = [Connection(urls[s]) for s, _ in bodies]
    for start in range(0, len(connections), 100):
        await asyncio.gather(*(c.open() for c in connections[start : start + 100]))
    cpu = CpuMeter(*pids)
    started, started_wall = time.perf_counter(), time.time()
    try:
        replies = await asyncio.gather(
            *(
                c.post(body, "checkoutComplete")
                for c, (_, body) in zip(connections, bodies, strict=True)
            )
        )
        elapsed = time.perf_counter() - started
    finally:
        for c in connections:
            c.close()
    return Burst(carts, list(replies), started, started_wall, elapsed, cpu.percents(elapsed))


async def _record(opts: Options, sku: Sku, burst: Burst, result: FlashResult) -> None:
    """Fill ``result`` from the answers, then check the database against them."""
    replies, started, elapsed = burst.replies, burst.started, burst.elapsed
    client_cpu, server_cpu, rest = burst.cpu
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
        result.orders_written_s = [round(w - burst.started_wall, 3) for w in written]
    result.errors = counts(Counter(str(r.problem) for r in replies if r.payload is None))
    result.expected_sold = min(opts.units, len(burst.carts))
    checks = await verify(
        opts.postgres_url,
        sku,
        units=opts.units,
        expected=result.expected_sold,
        answered_sold=result.sold,
    )
    result.checks = [{**asdict(c), "ok": c.ok} for c in checks]
    result.consistent = all(c.ok for c in checks)


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
