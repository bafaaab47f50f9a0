"""The browse scenario of bench/checkout.py: virtual shoppers run products → cartCreate →
checkoutComplete back to back against one server; completed checkouts per second and the
latency of each step."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
import httpx
from common import CpuMeter, fmt, round_or_none
from shop import (
    BROWSE_BODY,
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
    client: httpx.AsyncClient,
    url: str,
    rng: random.Random,
    n: int,
    run: Shopping,
    *,
    paid: bool = False,
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
    body = checkout_body(cart.payload["cart"]["id"], f"bench-{token}", paid=paid)
    checkout = await call(client, url, body, "checkoutComplete")
    if checkout.payload is None:
        run.errors[f"checkoutComplete: {checkout.problem}"] += 1
        return False
    run.checkout.append(checkout.latency)
    if checkout.user_error or not checkout.payload.get("order"):
        run.user_errors[f"checkoutComplete {checkout.user_error}"] += 1
        return False
    if paid and (checkout.payload.get("payment") or {}).get("state") != "CAPTURED":
        run.user_errors[f"payment {(checkout.payload.get('payment') or {}).get('state')}"] += 1
        return False
    run.placed += 1
    return True


async def shop(
    url: str, *, concurrency: int, duration: float, request_timeout: float, paid: bool = False
) -> Shopping:
    """``concurrency`` shoppers run browse → cart → checkout back to back for ``duration`` s.

    Each shopper has its own client and keep-alive connection (see ``catalog_load.py``'s ``drive``);
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
                if not await journey(client, url, rng, n, run, paid=paid):
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


async def browse_scenario(opts: Options, scratch: Path, *, paid: bool = False) -> BrowseResult:
    """One server, virtual shoppers back to back: warm up, then measure a window. ``paid``:
    each checkout pays by card (Stripe's API through the SDK: localstripe, or test mode)."""
    name = "browse-paid" if paid else "browse"
    result = BrowseResult(concurrency=opts.concurrency)
    if paid:
        result.name = name
        result.label = f"browse → cart → checkout paid by card ({opts.stripe})"
    click.echo(f"· {name}: {result.label}", err=True)
    try:
        prepared = await prepare(opts, scratch, name)
        result.seed_seconds = round(prepared.seed_seconds, 1)
        async with contextlib.AsyncExitStack() as stack:
            if paid and opts.stripe == "localstripe":
                base = stack.enter_context(stripe_emulator(scratch))
                prepared.env.update(STRIPE_API_BASE=base, STRIPE_SECRET_KEY="sk_test_bench")
            elif paid:
                prepared.env.update(PAYMENTS_TEST_MODE="1", STRIPE_SECRET_KEY="")
            control = await stack.enter_async_context(httpx.AsyncClient(timeout=30.0))
            running = await stack.enter_async_context(
                servers(control, 1, prepared.env, scratch, name)
            )
            url = f"{running[0].url}/graphql"
            warm = await shop(
                url,
                concurrency=opts.concurrency,
                duration=opts.warmup,
                request_timeout=opts.timeout,
                paid=paid,
            )
            result.warmup_journeys = warm.journeys
            cpu = CpuMeter(running[0].proc.pid)
            run = await shop(
                url,
                concurrency=opts.concurrency,
                duration=opts.duration,
                request_timeout=opts.timeout,
                paid=paid,
            )
            percents = cpu.percents(run.elapsed)
            result.error = exited(running, scratch, name)
        _record(result, run, percents)
        click.echo(
            f"  {run.placed} orders in {run.elapsed:.1f} s, {sum(run.errors.values())} errors",
            err=True,
        )
    except Exception as error:
        result.error = f"{type(error).__name__}: {error}"
        click.echo(f"  FAILED: {result.error}", err=True)
    result.server_log = server_errors(scratch, name, 1)
    return result


@contextlib.contextmanager
def stripe_emulator(scratch: Path) -> Iterator[str]:
    """localstripe (GPL-3.0: a separate process, never imported) on a free port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = (scratch / "localstripe.log").open("wb")
    cmd = [sys.executable, "-m", "localstripe", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/v1/payment_intents", auth=("sk_test_bench", ""), timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not start: see localstripe.log") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _record(
    result: BrowseResult, run: Shopping, cpu: tuple[float | None, float | None, float | None]
) -> None:
    """Fill ``result`` with what the measured window saw."""
    client_cpu, server_cpu, rest = cpu
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


def browse_table(r: BrowseResult, opts: Options) -> str:
    lines = [
        f"{r.label}: 1 server, {r.concurrency} shoppers, "
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
