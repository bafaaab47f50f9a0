"""Storefront catalog throughput: ``products(first: 20)`` with variants, against real servers.

One run measures, each against its own server process started like production
(``python app.py serve``: migrate, then uvicorn with one worker):

  sqlite-uncached    embedded default (SQLite, in-process cache), staff token: never cached
  sqlite-cached      embedded default, anonymous: served from the in-process response cache
  postgres-uncached  PostgreSQL + Redis, staff token: never cached
  postgres-cached    PostgreSQL + Redis, anonymous: served from the Redis response cache
  raw                a bare Starlette endpoint returning the same bytes (the stack's ceiling)

The load generator is an ``httpx.AsyncClient`` in this process with ``--concurrency`` workers.
See bench/README.md for what the numbers mean and their limits.

    .venv/bin/python bench/catalog.py [--duration 10] [--concurrency 32] [--only NAME,...]
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx
from common import (
    CpuMeter,
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

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "bench"
RESULTS_DIR = HERE / "results"
BODY_FILE = RESULTS_DIR / "response-body.json"  # the measured bytes, reused by `--only raw`

QUERY = (
    "query StorefrontCatalog { products(first: 20) { nodes { variants { nodes { "
    "sku price { amount currencyCode } compareAtPrice { amount } "
    "quantityAvailable availableForSale } } } } }"
)
REQUEST_BODY = json.dumps({"query": QUERY}).encode()
LOGIN = (
    "mutation Login($email: String!, $password: String!) { "
    "staffLogin(email: $email, password: $password) { accessToken userErrors { message } } }"
)
HEADERS = {"content-type": "application/json", "accept": "application/json"}

OWNER_EMAIL = "owner@demo.o2o"  # adapters/db/demo_data.py: STAFF
DEMO_OWNER_PASSWORD = "demo-owner-password"
STAFF_LIMIT_PER_MINUTE = 6000  # adapters/web/auth.py: staff callers without their own limit


@dataclass(frozen=True)
class Config:
    name: str
    backend: str  # sqlite | postgres | raw
    cached: bool
    label: str


CONFIGS = (
    Config("sqlite-uncached", "sqlite", False, "SQLite, uncached (staff token)"),
    Config("sqlite-cached", "sqlite", True, "SQLite, cached (anonymous, in-process)"),
    Config("postgres-uncached", "postgres", False, "PostgreSQL + Redis, uncached (staff)"),
    Config("postgres-cached", "postgres", True, "PostgreSQL + Redis, cached (anonymous)"),
    Config("raw", "raw", False, "raw Starlette, same bytes (ceiling)"),
)
CONFIG_NAMES = tuple(c.name for c in CONFIGS)


@dataclass
class Options:
    duration: float
    concurrency: int
    warmup: float
    staff_budget: int
    postgres_url: str
    redis_url: str
    owner_email: str
    owner_password: str
    seed_timeout: float


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


# ---------------------------------------------------------------- backends


@dataclass
class Backend:
    name: str
    env: dict[str, str]
    seed_seconds: float


async def prepare_backend(kind: str, opts: Options, scratch: Path) -> Backend:
    """A freshly seeded database for ``kind`` (sqlite | postgres)."""
    data_dir = scratch / f"data-{kind}"
    data_dir.mkdir()
    env = base_env(data_dir)
    env["DEMO_OWNER_PASSWORD"] = opts.owner_password  # the seed's owner logs in with it
    if kind == "postgres":
        await recreate_database(opts.postgres_url)
        await flush_redis(opts.redis_url)
        env.update(DATABASE_URL=opts.postgres_url, REDIS_URL=opts.redis_url)
    click.echo(f"· seeding {kind} …", err=True)
    log_path = scratch / f"seed-{kind}.log"
    seconds = await asyncio.to_thread(run_seed, env, log_path, opts.seed_timeout)
    click.echo(f"  seeded in {seconds:.1f} s", err=True)
    return Backend(kind, env, seconds)


async def staff_token(client: httpx.AsyncClient, url: str, email: str, password: str) -> str:
    response = await client.post(
        f"{url}/graphql",
        json={"query": LOGIN, "variables": {"email": email, "password": password}},
        headers={"accept": "application/json"},
    )
    payload = response.json()
    login = (payload.get("data") or {}).get("staffLogin") or {}
    token = login.get("accessToken")
    if not token:
        raise RuntimeError(f"staffLogin as {email} failed ({response.status_code}): {payload}")
    return str(token)


# ---------------------------------------------------------------- load generator


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
                latency = time.perf_counter() - sent
                run.statuses[response.status_code] += 1
                body = response.content
                if response.status_code != 200 or not body.startswith(b'{"data"'):
                    run.errors += 1
                    continue
                run.latencies.append(latency)
                if response.headers.get("x-cache") == "HIT":
                    run.cache_hits += 1
                if reference is not None and body != reference:
                    run.differing += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run


def summarize(config: Config, run: Run, result: Result) -> None:
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


# ---------------------------------------------------------------- one configuration


class Bench:
    def __init__(self, opts: Options, client: httpx.AsyncClient, scratch: Path) -> None:
        self.opts = opts
        self.client = client
        self.scratch = scratch
        self.backends: dict[str, Backend] = {}
        self.broken: dict[str, Exception] = {}  # a backend that failed once is not retried
        self.reference: bytes | None = None  # the first ok response body of the run

    async def backend(self, kind: str) -> Backend:
        if kind in self.broken:
            raise RuntimeError(f"{kind} could not be prepared (see above)") from self.broken[kind]
        if kind not in self.backends:
            try:
                self.backends[kind] = await prepare_backend(kind, self.opts, self.scratch)
            except Exception as error:
                self.broken[kind] = error
                raise
        return self.backends[kind]

    async def measure(self, config: Config) -> Result:
        result = Result(config.name, config.label, config.cached)
        click.echo(f"· {config.name}: {config.label}", err=True)
        try:
            if config.backend == "raw":
                body_path = self.scratch / "raw-body.json"
                body_path.write_bytes(await self.raw_body())
                env = base_env(self.scratch / "data-raw")
                env["BENCH_RAW_BODY"] = str(body_path)
                cmd = [sys.executable, str(HERE / "raw_app.py")]
                await self._measure(config, cmd, env, result)
            else:
                backend = await self.backend(config.backend)
                if config.backend == "postgres":
                    # Fresh counters and cache for each server: the staff budget below holds.
                    await flush_redis(self.opts.redis_url)
                cmd = [sys.executable, "app.py", "serve"]
                await self._measure(config, cmd, backend.env, result, backend)
        except Exception as error:
            result.error = f"{type(error).__name__}: {error}"
            click.echo(f"  FAILED: {result.error}", err=True)
        return result

    async def raw_body(self) -> bytes:
        """The bytes to serve raw: this run's reference, the last run's, or a fresh capture."""
        if self.reference is not None:
            return self.reference
        if BODY_FILE.exists():
            click.echo(f"  serving the body saved in {BODY_FILE.relative_to(ROOT)}", err=True)
            return BODY_FILE.read_bytes()
        backend = await self.backend("sqlite")
        log = self.scratch / "server-capture.log"
        cmd = [sys.executable, "app.py", "serve"]
        async with serving(self.client, cmd, backend.env, log) as server:
            response = await self.client.post(
                f"{server.url}/graphql", content=REQUEST_BODY, headers=HEADERS
            )
            response.raise_for_status()
            self.reference = response.content
        return self.reference

    async def _measure(
        self,
        config: Config,
        cmd: list[str],
        env: dict[str, str],
        result: Result,
        backend: Backend | None = None,
    ) -> None:
        opts = self.opts
        log = self.scratch / f"server-{config.name}.log"
        async with serving(self.client, cmd, env, log) as server:
            headers = dict(HEADERS)
            budget = None
            if backend is not None and not config.cached:
                token = await staff_token(
                    self.client, server.url, opts.owner_email, opts.owner_password
                )
                headers["authorization"] = f"Bearer {token}"
                budget = opts.staff_budget
            url = f"{server.url}/graphql"

            # One request first: checks the answer and, when cached, fills the cache.
            first = await self.client.post(url, content=REQUEST_BODY, headers=headers)
            if first.status_code != 200 or not first.content.startswith(b'{"data"'):
                raise RuntimeError(f"bad response {first.status_code}: {first.text[:500]}")
            result.response_bytes = len(first.content)
            if self.reference is None:
                self.reference = first.content
                BODY_FILE.parent.mkdir(parents=True, exist_ok=True)
                BODY_FILE.write_bytes(first.content)
            elif first.content != self.reference:
                click.echo("  note: the response differs from the first configuration's", err=True)

            warm = await drive(
                url,
                headers,
                None,
                concurrency=opts.concurrency,
                duration=opts.warmup,
                max_requests=budget,
            )
            result.warmup_requests = warm.count
            remaining = None if budget is None else max(0, budget - 1 - warm.count)

            cpu = CpuMeter(server.proc.pid)
            run = await drive(
                url,
                headers,
                self.reference,
                concurrency=opts.concurrency,
                duration=opts.duration,
                max_requests=remaining,
            )
            if run.elapsed > 0:
                client, server_cpu, rest = cpu.percents(run.elapsed)
                result.client_cpu_percent = round_or_none(client)
                result.server_cpu_percent = round_or_none(server_cpu)
                result.rest_cpu_percent = round_or_none(rest)
            summarize(config, run, result)
            if server.proc.poll() is not None:
                result.error = f"server exited with {server.proc.returncode}:\n{tail(log)}"
        click.echo(
            f"  {result.ok} ok, {result.errors} errors, {result.requests_per_second} req/s",
            err=True,
        )


# ---------------------------------------------------------------- report


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


def _selected(only: tuple[str, ...]) -> list[Config]:
    names = [n.strip() for item in only for n in item.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CONFIG_NAMES))
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(unknown)}; choose from {', '.join(CONFIG_NAMES)}",
            param_hint="--only",
        )
    return [c for c in CONFIGS if not names or c.name in names]


async def run_all(configs: list[Config], opts: Options) -> tuple[list[Result], dict[str, float]]:
    """Measure ``configs`` in order; also returns how long each backend's seed took."""
    scratch = Path(tempfile.mkdtemp(prefix="o2o-bench-"))
    try:
        async with httpx.AsyncClient(timeout=30.0) as client:  # control requests only
            bench = Bench(opts, client, scratch)
            results = [await bench.measure(config) for config in configs]
            seeds = {k: round(b.seed_seconds, 1) for k, b in bench.backends.items()}
            return results, seeds
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--duration", default=10.0, show_default=True, help="Seconds measured per config.")
@click.option("--concurrency", default=32, show_default=True, help="Concurrent workers.")
@click.option("--warmup", default=2.0, show_default=True, help="Seconds of unmeasured warm-up.")
@click.option(
    "--only",
    multiple=True,
    metavar="NAME[,NAME]",
    help=f"Configurations to run (default all): {', '.join(CONFIG_NAMES)}.",
)
@click.option(
    "--staff-budget",
    default=5500,
    show_default=True,
    help="Max authenticated requests per uncached server (warm-up included); the gateway "
    f"limits a staff user to {STAFF_LIMIT_PER_MINUTE}/min.",
)
@click.option(
    "--postgres-url",
    envvar="BENCH_DATABASE_URL",
    default="postgres://postgres@127.0.0.1:5432/bench",
    show_default=True,
    help="Dropped and recreated by every run.",
)
@click.option(
    "--redis-url",
    envvar="BENCH_REDIS_URL",
    default="redis://127.0.0.1:6379/1",
    show_default=True,
    help="Flushed by every run (db 0 is refused).",
)
@click.option("--owner-email", default=OWNER_EMAIL, show_default=True)
@click.option(
    "--owner-password",
    envvar="DEMO_OWNER_PASSWORD",
    default=DEMO_OWNER_PASSWORD,
    show_default=True,
    help="Given to the seed (DEMO_OWNER_PASSWORD), then used to log in.",
)
@click.option(
    "--seed-timeout", default=300.0, show_default=True, help="Seconds allowed for `app.py seed`."
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=RESULTS_DIR / "latest.json",
    show_default=True,
)
def main(
    duration: float,
    concurrency: int,
    warmup: float,
    only: tuple[str, ...],
    staff_budget: int,
    postgres_url: str,
    redis_url: str,
    owner_email: str,
    owner_password: str,
    seed_timeout: float,
    output: Path,
) -> None:
    """Measure the storefront catalog query on SQLite, PostgreSQL + Redis and a raw ceiling."""
    configs = _selected(only)
    opts = Options(
        duration=duration,
        concurrency=concurrency,
        warmup=warmup,
        staff_budget=staff_budget,
        postgres_url=postgres_url,
        redis_url=redis_url,
        owner_email=owner_email,
        owner_password=owner_password,
        seed_timeout=seed_timeout,
    )
    if any(c.backend == "postgres" for c in configs):
        database_name(postgres_url)
        if redis_db(redis_url) == 0:
            raise click.BadParameter("Redis db 0 is refused; use e.g. /1", param_hint="--redis-url")
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = datetime.now(UTC)
    results, seed_seconds = asyncio.run(run_all(configs, opts))
    click.echo()
    click.echo(
        f"products(first: 20) + variants, concurrency {concurrency}, "
        f"{duration:g} s per configuration (after {warmup:g} s warm-up)"
    )
    click.echo(table(results))
    write_json(
        output,
        {
            "benchmark": "catalog",
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "settings": {
                "duration_s": duration,
                "concurrency": concurrency,
                "warmup_s": warmup,
                "staff_budget": staff_budget,
                "uvicorn_workers": 1,
            },
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "query": QUERY,
            "seed_seconds": seed_seconds,
            "results": [asdict(r) for r in results],
        },
    )
    click.echo(f"\nwrote {output}")
    if any(r.error for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
