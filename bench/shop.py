"""What the checkout benchmarks share: options, GraphQL calls of a shopper, seeded servers,
latency summaries. See bench/checkout.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import httpx
from common import (
    ROOT,
    Server,
    base_env,
    flush_redis,
    percentile,
    recreate_database,
    run_seed,
    serving,
    tail,
)

RESULTS_DIR = ROOT / "bench" / "results"
SCENARIOS = ("browse", "browse-paid", "flash-sale")
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
CHECKOUT_PAID = (
    "mutation Checkout($cartId: ID!, $key: String!, $pay: CheckoutPaymentInput) { "
    "checkoutComplete(cartId: $cartId, idempotencyKey: $key, payment: $pay) { "
    "order { id number } payment { state } userErrors { field code message } } }"
)
CARD = {"method": "CARD", "paymentMethodToken": "pm_card_visa"}
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
    stripe: str = "localstripe"  # browse-paid: "localstripe" (an emulator process) or "test"


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


def checkout_body(cart_id: str, key: str, *, paid: bool = False) -> bytes:
    if paid:  # a card paid at checkout: shipped goods, charged at once
        variables = {"cartId": cart_id, "key": key, "pay": CARD}
        return json.dumps({"query": CHECKOUT_PAID, "variables": variables}).encode()
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


def logged(server_log: str | None) -> list[str]:
    return ["", f"server log: {server_log}"] if server_log else []


def listing(counter: dict[str, int]) -> str:
    return ", ".join(f"{k} × {v}" for k, v in counter.items()) or "none"


# ---------------------------------------------------------------- 2. flash sale
