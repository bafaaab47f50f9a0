"""The catalog benchmark's configurations and how one is measured: a freshly seeded backend, a
real server process, a checked first answer, a warm-up, then the measured window."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click
import httpx
from catalog_load import HEADERS, REQUEST_BODY, Result, drive, summarize
from common import (
    CpuMeter,
    Server,
    base_env,
    flush_redis,
    recreate_database,
    round_or_none,
    run_seed,
    serving,
    tail,
)

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "bench"
RESULTS_DIR = HERE / "results"
BODY_FILE = RESULTS_DIR / "response-body.json"  # the measured bytes, reused by `--only raw`
LOGIN = (
    "mutation Login($email: String!, $password: String!) { "
    "staffLogin(email: $email, password: $password) { accessToken userErrors { message } } }"
)


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
            headers, budget = await self._caller(config, server, backend)
            url = f"{server.url}/graphql"
            await self._first_answer(url, headers, result)
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
            summarize(run, result)
            if server.proc.poll() is not None:
                result.error = f"server exited with {server.proc.returncode}:\n{tail(log)}"
        click.echo(
            f"  {result.ok} ok, {result.errors} errors, {result.requests_per_second} req/s",
            err=True,
        )

    async def _caller(
        self, config: Config, server: Server, backend: Backend | None
    ) -> tuple[dict[str, str], int | None]:
        """The headers to send and the request budget: uncached runs log in as staff, whose
        rate limit caps how many requests they may send."""
        headers = dict(HEADERS)
        if backend is None or config.cached:
            return headers, None
        token = await staff_token(
            self.client, server.url, self.opts.owner_email, self.opts.owner_password
        )
        headers["authorization"] = f"Bearer {token}"
        return headers, self.opts.staff_budget

    async def _first_answer(self, url: str, headers: dict[str, str], result: Result) -> None:
        """One request first: checks the answer and, when cached, fills the cache; the run's
        first answer becomes the reference every later body is compared with."""
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
