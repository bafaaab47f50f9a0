"""Growth: storefront latency at 1,000, 100,000 and 1,000,000 products on PostgreSQL.

One run recreates the bench database, seeds the demo brand (``app.py seed``), then for each
size grows the catalog to it with ``app.py seed-catalog`` (timed, peak memory of that process
measured) and starts one server (``app.py serve``, PostgreSQL + Redis) to measure, one request
after another (latency, not throughput), as staff (never the response cache):

  listing        products(first: 20), variants with price, compareAtPrice, quantityAvailable
  listing-deep   the same page after a cursor at a random product (keyset paging)
  product        product(handle) of a random product, with storeAvailability
  search-common  products(first: 20, query: "linen"): a word in about 1 title in 8
  search-sku     products(first: 20, query: "gen-<random id>-m"): one product
  available      products(first: 20, query: "available:true"): in stock at the web's locations

The client is a plain asyncio HTTP/1.1 client on one keep-alive connection. Its CPU and the
server's are reported per request beside the latencies.

    .venv/bin/python bench/growth.py [--sizes 1000,100000,1000000] [--requests 200]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import click
from common import (
    ROOT,
    CpuMeter,
    base_env,
    check_services,
    flush_redis,
    percentile,
    recreate_database,
    results_document,
    spawn,
    stop_process,
    tail,
    write_json,
)

RESULTS = ROOT / "bench" / "results" / "growth.json"
PAGE = """query($after: String, $q: String) { products(first: 20, after: $after, query: $q) {
  pageInfo { hasNextPage endCursor }
  nodes { handle title availableForSale priceRange { minVariantPrice { amount currencyCode } }
    variants(first: 10) { nodes { sku price { amount currencyCode } compareAtPrice { amount }
      quantityAvailable availableForSale } } } } }"""
PRODUCT = """query($handle: String!) { product(handle: $handle) {
  handle title description availableForSale
  variants(first: 10) { nodes { sku price { amount } compareAtPrice { amount } quantityAvailable
    availableForSale storeAvailability(near: {latitude: 45.7606, longitude: 4.859}, first: 5) {
      location { handle } quantityAvailable available distanceKm } } } } }"""
LOGIN = """mutation($e: String!, $p: String!) { staffLogin(email: $e, password: $p) {
  accessToken } }"""


class Http:
    """A minimal HTTP/1.1 client over one keep-alive connection (Content-Length or chunked)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"", token: str = "") -> bytes:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if body:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status = (await self.reader.readline()).split(b" ", 2)
        headers = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            data = b""
            while size := int((await self.reader.readline()).strip(), 16):
                data += await self.reader.readexactly(size + 2)
                data = data[:-2]
            await self.reader.readline()
        else:
            data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if status[1] != b"200":
            raise RuntimeError(f"HTTP {status[1].decode()}: {data[:300]!r}")
        return data

    async def graphql(self, query: str, variables: dict[str, Any], token: str = "") -> Any:
        raw = await self.request(
            "POST", "/graphql", json.dumps({"query": query, "variables": variables}).encode(), token
        )
        body = json.loads(raw)
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


def _run_tracked(cmd: list[str], env: dict[str, str], log: Path) -> tuple[float, int]:
    """Run to completion; (seconds, peak RSS in MB of that process: ru_maxrss is in KB)."""
    started = time.perf_counter()
    proc = spawn(cmd, env, log)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    stop_process(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:])} failed ({proc.returncode}):\n{tail(log)}")
    return time.perf_counter() - started, usage.ru_maxrss // 1024


async def _server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "app.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = spawn(cmd, env, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{tail(log)}")
        http = Http("127.0.0.1", port)
        try:
            await http.request("GET", "/healthz")
            return proc
        except OSError:
            await asyncio.sleep(0.3)
        finally:
            await http.close()
    raise RuntimeError(f"server not healthy:\n{tail(log)}")


async def _samples(url: str, count: int, rng: random.Random) -> list[tuple[int, str]]:
    """(id, handle) of ``count`` random ACTIVE products."""
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        low, high = await conn.fetchrow("SELECT MIN(id), MAX(id) FROM product")
        found: list[tuple[int, str]] = []
        while len(found) < count:
            ids = [rng.randint(low, high) for _ in range(count)]
            rows = await conn.fetch(
                "SELECT id, handle FROM product WHERE id = ANY($1) AND status = 'ACTIVE'", ids
            )
            found += [(r["id"], r["handle"]) for r in rows]
        return found[:count]
    finally:
        await conn.close()


def _cursor(ident: int) -> str:
    import base64

    raw = json.dumps([ident, ident], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def _measure(
    http: Http, token: str, server_pid: int, kind: str, variables: list[dict[str, Any]]
) -> dict[str, Any]:
    query = PRODUCT if kind == "product" else PAGE
    for v in variables[:10]:  # warm-up: connections, prepared statements, loaded code
        await http.graphql(query, v, token)
    latencies = []
    meter = CpuMeter(server_pid)
    started = time.perf_counter()
    for v in variables:
        t0 = time.perf_counter()
        data = await http.graphql(query, v, token)
        latencies.append((time.perf_counter() - t0) * 1000)
        if kind == "product":
            assert data["product"], v
    elapsed = time.perf_counter() - started
    client, server, _ = meter.percents(elapsed)
    latencies.sort()
    n = len(latencies)
    per = elapsed * 10 / n  # percent of a core x elapsed / n, in ms
    return {
        "kind": kind,
        "requests": n,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "mean_ms": round(sum(latencies) / n, 1),
        "client_cpu_ms": None if client is None else round(client * per, 1),
        "server_cpu_ms": None if server is None else round(server * per, 1),
    }


async def _stage(
    size: int, url: str, env: dict[str, str], port: int, logs: Path, requests: int
) -> list[dict[str, Any]]:
    rng = random.Random(size)
    samples = await _samples(url, requests, rng)
    proc = await _server(env, port, logs / f"server-{size}.log")
    http = Http("127.0.0.1", port)
    try:
        login = {"e": "owner@demo.o2o", "p": env["DEMO_OWNER_PASSWORD"]}
        token = (await http.graphql(LOGIN, login))["staffLogin"]["accessToken"]
        plans = {
            "listing": [{} for _ in samples],
            "listing-deep": [{"after": _cursor(i)} for i, _ in samples],
            "product": [{"handle": h} for _, h in samples],
            "search-common": [{"q": "linen"} for _ in samples],
            "search-sku": [{"q": f"gen-{i}-m"} for i, _ in samples],
            "available": [{"q": "available:true"} for _ in samples],
        }
        measured = [
            {"products": size, **await _measure(http, token, proc.pid, kind, variables)}
            for kind, variables in plans.items()
        ]
    finally:
        await http.close()
        await asyncio.to_thread(stop_process, proc)
    sql = await _sql_timings(url, samples)
    return [
        {**row, "sql_p50_ms": sql[row["kind"]][0], "db_exec_p50_ms": sql[row["kind"]][1]}
        for row in measured
    ]


async def _sql_timings(url: str, samples: list[tuple[int, str]]) -> dict[str, tuple[float, float]]:
    """p50 in ms of the catalog statements each kind sends, run in this process through the
    app's own query adapter (no HTTP, no GraphQL): the database's share, and how it grows."""
    sys.path.insert(0, str(ROOT))
    from adapters.db import models as m
    from adapters.db.database import close_database, open_database
    from adapters.db.queries import TortoiseCatalogQueries
    from domain.catalog.ports import PageRequest, ProductFilter
    from tests.adapters.sqlcapture import capture_sql  # each statement with its parameters

    queries = TortoiseCatalogQueries()
    await open_database(url)

    async def page(text: str | None = None, after: int | None = None) -> None:
        request = PageRequest("ID", False, 20, after=(after, after) if after else None)
        products, _ = await queries.products_page(ProductFilter(text=text), request)
        await details([p.id for p in products])

    async def details(ids: list[int]) -> None:
        variants = await queries.variants_by_product_ids(ids)
        vids = [v.id for vs in variants.values() for v in vs]
        await queries.prices_by_variant_ids(vids, "EUR")
        await queries.stock_by_variant_ids(vids)

    async def product(handle: str) -> None:
        found = await queries.products_by_handles([handle])
        await details([p.id for p in found.values()])

    web = tuple(
        await m.ChannelLocation.filter(channel__handle="web").values_list("location_id", flat=True)
    )

    async def available() -> None:
        request = PageRequest("ID", False, 20)
        products, _ = await queries.products_page(ProductFilter(available_in=(web, 1)), request)
        await details([p.id for p in products])

    kinds = {
        "listing": lambda i, h: page(),
        "listing-deep": lambda i, h: page(after=i),
        "product": lambda i, h: product(h),
        "search-common": lambda i, h: page("linen"),
        "search-sku": lambda i, h: page(f"gen-{i}-m"),
        "available": lambda i, h: available(),
    }
    timings: dict[str, tuple[float, float]] = {}
    try:
        for kind, call in kinds.items():
            for i, h in samples[:10]:
                await call(i, h)
            spent = []
            for i, h in samples:
                t0 = time.perf_counter()
                await call(i, h)
                spent.append((time.perf_counter() - t0) * 1000)
            executed = []
            for i, h in samples[:25]:
                with capture_sql() as sent:
                    await call(i, h)
                executed.append(sum([await _executed_ms(sql, values) for sql, values in sent]))
            timings[kind] = (
                round(percentile(sorted(spent), 50), 2),
                round(percentile(sorted(executed), 50), 2),
            )
    finally:
        await close_database()
    return timings


async def _executed_ms(sql: str, values: list[Any]) -> float:
    """PostgreSQL's own execution time of one statement (EXPLAIN ANALYZE), planning excluded."""
    from tortoise import connections

    async with connections.get("default").acquire_connection() as con:
        rows = await con.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *values)
    plan = rows[0][0]
    return float((json.loads(plan) if isinstance(plan, str) else plan)[0]["Execution Time"])


async def _count(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        count = await conn.fetchval("SELECT COUNT(*) FROM product")
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return int(count), str(size)
    finally:
        await conn.close()


async def run(
    sizes: list[int], url: str, redis_url: str, port: int, requests: int, logs: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    await recreate_database(url)
    env = base_env(logs)
    env.update(
        DATABASE_URL=url,
        REDIS_URL=redis_url,
        DEMO_OWNER_PASSWORD=os.environ.get("DEMO_OWNER_PASSWORD", "demo-owner-password"),
    )
    seeding, results = [], []
    seconds, rss = _run_tracked([sys.executable, "app.py", "seed"], env, logs / "seed.log")
    seeding.append({"step": "demo seed", "seconds": round(seconds, 1), "peak_rss_mb": rss})
    for size in sizes:
        have, _ = await _count(url)
        if size > have:
            cmd = [sys.executable, "app.py", "seed-catalog", "--products", str(size - have)]
            seconds, rss = _run_tracked(cmd, env, logs / f"seed-{size}.log")
            total, db_size = await _count(url)
            seeding.append(
                {
                    "step": f"seed-catalog +{size - have:,}",
                    "products": total,
                    "seconds": round(seconds, 1),
                    "products_per_s": round((size - have) / seconds),
                    "peak_rss_mb": rss,
                    "database": db_size,
                }
            )
            click.echo(f"seeded to {total:,} products in {seconds:.0f} s ({db_size}), {rss} MB")
        await flush_redis(redis_url)
        for row in await _stage(size, url, env, port, logs, requests):
            results.append(row)
            click.echo(
                f"{size:>9,} {row['kind']:<14} p50 {row['p50_ms']:>6} ms  p95 {row['p95_ms']:>6}"
                f" ms  server cpu {row['server_cpu_ms']} ms/req  client {row['client_cpu_ms']}"
                f"  sql p50 {row['sql_p50_ms']} ms  db exec p50 {row['db_exec_p50_ms']} ms"
            )
    return seeding, results


def _table(sizes: list[int], results: list[dict[str, Any]]) -> str:
    kinds = list(dict.fromkeys(r["kind"] for r in results))
    head = "| p50 ms (p95) | " + " | ".join(f"{s:,}" for s in sizes) + " | last / first |"
    lines = [head, "|---" * (len(sizes) + 2) + "|"]
    for kind in kinds:
        rows = {r["products"]: r for r in results if r["kind"] == kind}
        cells = [f"{rows[s]['p50_ms']} ({rows[s]['p95_ms']})" if s in rows else "-" for s in sizes]
        first, last = rows.get(sizes[0]), rows.get(sizes[-1])
        ratio = f"{last['p50_ms'] / first['p50_ms']:.2f}" if first and last else "-"
        lines.append(f"| {kind} | " + " | ".join(cells) + f" | {ratio} |")
    for title, key in (
        ("SQL through the app's adapter, p50 ms", "sql_p50_ms"),
        ("PostgreSQL execution of those statements, p50 ms", "db_exec_p50_ms"),
        ("server CPU per request, ms", "server_cpu_ms"),
    ):
        lines += ["", f"| {title} | " + " | ".join(f"{s:,}" for s in sizes) + " |"]
        lines.append("|---" * (len(sizes) + 1) + "|")
        for kind in kinds:
            rows = {r["products"]: r for r in results if r["kind"] == kind}
            cells = [str(rows[s][key]) if s in rows else "-" for s in sizes]
            lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--sizes", default="1000,100000,1000000", show_default=True)
@click.option("--requests", default=200, show_default=True, help="Measured requests per kind.")
@click.option(
    "--postgres-url",
    envvar="BENCH_DATABASE_URL",
    default="postgres://postgres@127.0.0.1:5432/bench_growth",
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
@click.option("--port", default=18950, show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=RESULTS, show_default=True
)
def main(
    sizes: str, requests: int, postgres_url: str, redis_url: str, port: int, output: Path
) -> None:
    """Seed to each size and measure the storefront's latency there."""
    check_services(postgres_url, redis_url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wanted = sorted(int(s.replace("_", "")) for s in sizes.split(","))
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="growth-") as tmp:
        seeding, results = asyncio.run(
            run(wanted, postgres_url, redis_url, port, requests, Path(tmp))
        )
    click.echo()
    for step in seeding:
        click.echo("seeding: " + ", ".join(f"{k} {v}" for k, v in step.items()))
    click.echo(f"\none request at a time, {requests} per kind, {os.cpu_count()} cores")
    click.echo(_table(wanted, results))
    settings = {"sizes": wanted, "requests": requests, "concurrency": 1, "uvicorn_workers": 1}
    extra = {"seeding": seeding, "queries": {"page": PAGE, "product": PRODUCT}}
    write_json(output, results_document("growth", started=started, settings=settings,
                                        extra=extra, results=results))  # fmt: skip
    click.echo(f"\nwrote {output}")


if __name__ == "__main__":
    main()
