"""The catalog benchmark's load generator and its numbers: workers that send one query back to
back (``drive``), and what one configuration measured (``Result``, ``table``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from common import fmt, percentile

QUERY = (
    "query StorefrontCatalog { products(first: 20) { nodes { variants { nodes { "
    "sku price { amount currencyCode } compareAtPrice { amount } "
    "quantityAvailable availableForSale } } } } }"
)
REQUEST_BODY = json.dumps({"query": QUERY}).encode()
HEADERS = {"content-type": "application/json", "accept": "application/json"}


@dataclass
class Result:
    """One configuration's numbers (``error`` set when it could not be measured at all)."""

    name: str
    label: str
    cached: bool
    requests: int = 0  # completed (any status) + transport failures
    ok: int = 0
    errors: int = 0  # non-200, a GraphQL error body, or a transport failure
    rate_limited: int = 0  # HTTP 429, included in errors
    requests_per_second: float | None = None  # ok responses per second
    p50_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    max_ms: float | None = None
    elapsed_s: float = 0.0
    cache_hits: int = 0  # X-Cache: HIT responses
    differing_bodies: int = 0  # ok responses whose bytes differ from the reference response
    capped: bool = False  # stopped before --duration to stay under the staff rate limit
    warmup_requests: int = 0
    # CPU during the measured window, 100 = one core: this process (the load generator), the
    # server process, and everything else on the machine (PostgreSQL, Redis, other jobs).
    client_cpu_percent: float | None = None
    server_cpu_percent: float | None = None
    rest_cpu_percent: float | None = None
    response_bytes: int | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    exceptions: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)  # seconds, ok responses only
    statuses: Counter[int] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    cache_hits: int = 0
    differing: int = 0
    elapsed: float = 0.0
    capped: bool = False

    @property
    def count(self) -> int:
        return sum(self.statuses.values()) + sum(self.exceptions.values())


def _tally(run: Run, response: httpx.Response, latency: float, reference: bytes | None) -> None:
    """Count one answer: an error unless it is a 200 with data; hits and differing bodies."""
    run.statuses[response.status_code] += 1
    body = response.content
    if response.status_code != 200 or not body.startswith(b'{"data"'):
        run.errors += 1
        return
    run.latencies.append(latency)
    if response.headers.get("x-cache") == "HIT":
        run.cache_hits += 1
    if reference is not None and body != reference:
        run.differing += 1


async def drive(
    url: str,
    headers: dict[str, str],
    reference: bytes | None,
    *,
    concurrency: int,
    duration: float,
    max_requests: int | None = None,
) -> Run:
    """``concurrency`` workers send the query back to back for ``duration`` seconds.

    Each worker owns an ``httpx.AsyncClient`` with one keep-alive connection and re-sends one
    pre-built request: a shared 32-connection pool costs the load generator about 2.5x more CPU
    per request (httpcore scans its pool on every request), and on this machine the load
    generator, not the server, is the first thing to saturate its core.
    """
    run = Run()
    issued = 0
    started = time.perf_counter()
    deadline = started + duration

    async def worker() -> None:
        nonlocal issued
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
            request = client.build_request("POST", url, content=REQUEST_BODY, headers=headers)
            while time.perf_counter() < deadline:
                if max_requests is not None and issued >= max_requests:
                    run.capped = True
                    return
                issued += 1
                sent = time.perf_counter()
                try:
                    response = await client.send(request)
                except httpx.HTTPError as error:
                    run.exceptions[type(error).__name__] += 1
                    run.errors += 1
                    await asyncio.sleep(0.01)  # a dead server must not spin the loop
                    continue
                _tally(run, response, time.perf_counter() - sent, reference)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run


def summarize(run: Run, result: Result) -> None:
    """Fill ``result`` with what ``run`` measured."""
    result.requests = run.count
    result.ok = len(run.latencies)
    result.errors = run.errors
    result.rate_limited = run.statuses.get(429, 0)
    result.elapsed_s = round(run.elapsed, 3)
    result.cache_hits = run.cache_hits
    result.differing_bodies = run.differing
    result.capped = run.capped
    result.statuses = {str(k): v for k, v in sorted(run.statuses.items())}
    result.exceptions = dict(run.exceptions)
    if run.elapsed > 0:
        result.requests_per_second = round(result.ok / run.elapsed, 1)
    if run.latencies:
        ordered = sorted(run.latencies)
        result.p50_ms = round(percentile(ordered, 50) * 1000, 2)
        result.p99_ms = round(percentile(ordered, 99) * 1000, 2)
        result.mean_ms = round(sum(ordered) / len(ordered) * 1000, 2)
        result.max_ms = round(ordered[-1] * 1000, 2)


def table(results: list[Result]) -> str:
    head = (
        f"{'configuration':<18} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'429s':>5} {'hits':>6} {'cli cpu':>7} {'srv cpu':>7} {'rest cpu':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        if r.error and not r.requests:
            lines.append(f"{r.name:<18} FAILED: {r.error.splitlines()[0][:80]}")
            continue
        lines.append(
            f"{r.name:<18} {r.requests:>8} {fmt(r.requests_per_second):>8} "
            f"{fmt(r.p50_ms, '.2f'):>8} {fmt(r.p99_ms, '.2f'):>8} {r.errors:>6} "
            f"{r.rate_limited:>5} {r.cache_hits:>6} "
            f"{fmt(r.client_cpu_percent, '.0f') + '%':>7} "
            f"{fmt(r.server_cpu_percent, '.0f') + '%':>7} "
            f"{fmt(r.rest_cpu_percent, '.0f') + '%':>8}"
        )
    notes = []
    for r in results:
        if r.capped:
            notes.append(
                f"{r.name}: stopped after {r.elapsed_s:.1f} s at the staff budget "
                "(rate limit 6000/min per staff user)"
            )
        if r.cached and r.ok and r.cache_hits != r.ok:
            notes.append(f"{r.name}: only {r.cache_hits} of {r.ok} responses were cache hits")
        if not r.cached and r.cache_hits:
            notes.append(f"{r.name}: {r.cache_hits} responses came from the cache")
        if r.differing_bodies:
            notes.append(f"{r.name}: {r.differing_bodies} responses differ from the reference")
        if r.errors:
            notes.append(f"{r.name}: statuses {r.statuses}, exceptions {r.exceptions}")
        if r.error and r.requests:
            notes.append(f"{r.name}: {r.error.splitlines()[0]}")
    if notes:
        lines += ["", *(f"note: {n}" for n in notes)]
    return "\n".join(lines)
