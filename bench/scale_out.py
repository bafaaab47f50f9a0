"""Throughput from 1 to 4 server processes on this machine: `python app.py serve --workers N`
(PostgreSQL + Redis), loaded by wrk with the storefront's ``products(first: 20)`` page.

Two pages per process count:

  staff-uncached  the page with a staff token (never cached: GraphQL execution + 6 SQL queries);
                  wrk rotates the tokens of the seed's four staff users, each limited to
                  6,000 requests a minute
  cached          the same page, anonymous: served from the response cache

For each, the CPU of the server processes (all workers), of the PostgreSQL backends serving the
bench database, of wrk, and of the whole machine, in % of one core (the machine has
``os.cpu_count()`` cores: 100 % per core is the ceiling of everything together).

    .venv/bin/python bench/scale_out.py [--processes 1,2,3,4] [--duration 15] [--seed]

Needs wrk (/usr/bin/wrk). ``--seed`` drops and re-seeds the database (default
postgres://postgres@127.0.0.1:5432/bench_scale_out) and flushes the Redis database (default
redis://127.0.0.1:6379/1; db 0 is refused); without it the database must hold the seed already.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import click
from common import (
    base_env,
    check_services,
    flush_redis,
    machine_cpu_seconds,
    process_cpu_seconds,
    recreate_database,
    results_document,
    run_seed,
    stop_group,
    write_json,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "scale_out.json"
QUERY = (
    "query StorefrontCatalog { products(first: 20) { nodes { variants { nodes { "
    "sku price { amount currencyCode } compareAtPrice { amount } "
    "quantityAvailable availableForSale } } } } }"
)
STAFF = (  # adapters/db/demo_data.py: STAFF (their default passwords)
    ("owner@demo.o2o", "demo-owner-password"),
    ("manager.partdieu@demo.o2o", "demo-manager-password"),
    ("clerk.partdieu@demo.o2o", "demo-clerk-password"),
    ("clerk.bellecour@demo.o2o", "demo-clerk-password"),
)
LOGIN = (
    "mutation Login($email: String!, $password: String!) { "
    "staffLogin(email: $email, password: $password) { accessToken } }"
)
LUA = """
local tokens = {%(tokens)s}
local body = %(body)s
local i = 0
request = function()
  local headers = {["Content-Type"] = "application/json", ["Accept"] = "application/json"}
  if #tokens > 0 then
    i = i %% #tokens + 1
    headers["Authorization"] = "Bearer " .. tokens[i]
  end
  return wrk.format("POST", "/graphql", headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.duration / 1e6))
end
"""


def post(url: str, payload: dict[str, Any], token: str | None = None) -> tuple[dict[str, str], Any]:
    headers = {"content-type": "application/json", "accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(payload).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(response.headers), json.loads(response.read())


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0, path: str = "/readyz"
) -> float:
    """Seconds from now until ``path`` answers 200 (the server was just started)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server not ready")


def group_pids(pgid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def cpu_of(pids: list[int]) -> float:
    return sum(process_cpu_seconds(p) or 0.0 for p in pids)


def peak_rss_mb(pids: list[int]) -> list[int]:
    sizes = []
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmHWM:\s+(\d+)", text)
        if found:
            sizes.append(int(found.group(1)) // 1024)
    return sorted(sizes)


async def backend_pids(url: str) -> list[int]:
    """PostgreSQL backends connected to the bench database (the server's pools)."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


def run_wrk(url: str, script: Path, connections: int, duration: float) -> dict[str, float]:
    before = os.times()
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration:g}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = os.times()
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    requests, socket_errors, non_2xx, p50, p99, seconds = (float(v) for v in line.split()[1:])
    return {
        "requests": requests,
        "errors": socket_errors + non_2xx,
        "p50_ms": p50,
        "p99_ms": p99,
        "seconds": seconds,
        "wrk_cpu_s": (after.children_user - before.children_user)
        + (after.children_system - before.children_system),
    }


def measure(
    page: str,
    processes: int,
    *,
    env: dict[str, str],
    port: int,
    postgres_url: str,
    duration: float,
    connections: int,
    scratch: Path,
) -> dict[str, Any]:
    import asyncio

    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "app.py", "serve", "--port", str(port), "--workers", str(processes)]
    log = (scratch / f"server-{page}-{processes}.log").open("wb")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        ready = wait_ready(url, proc)
        tokens = []
        if page == "staff-uncached":
            for email, password in STAFF:
                _, body = post(
                    f"{url}/graphql",
                    {"query": LOGIN, "variables": {"email": email, "password": password}},
                )
                tokens.append(body["data"]["staffLogin"]["accessToken"])
        headers, body = post(f"{url}/graphql", {"query": QUERY}, tokens[0] if tokens else None)
        if "data" not in body or body.get("errors"):
            raise RuntimeError(f"bad answer: {str(body)[:300]}")
        script = scratch / f"{page}.lua"
        script.write_text(
            LUA
            % {
                "tokens": ", ".join(json.dumps(t) for t in tokens),
                "body": json.dumps(json.dumps({"query": QUERY})),
            }
        )
        run_wrk(f"{url}/graphql", script, connections, min(5.0, duration))  # warm-up
        servers = group_pids(proc.pid)
        backends = asyncio.run(backend_pids(postgres_url))
        s0, p0, m0 = cpu_of(servers), cpu_of(backends), machine_cpu_seconds() or 0.0
        result = run_wrk(f"{url}/graphql", script, connections, duration)
        s1, p1, m1 = cpu_of(servers), cpu_of(backends), machine_cpu_seconds() or 0.0
        seconds = result["seconds"]
        headers, _ = post(f"{url}/graphql", {"query": QUERY}, tokens[0] if tokens else None)
        return {
            "page": page,
            "processes": processes,
            "requests_per_second": round(result["requests"] / seconds, 1),
            "errors": int(result["errors"]),
            "p50_ms": round(result["p50_ms"], 2),
            "p99_ms": round(result["p99_ms"], 2),
            "server_cpu_percent": round(100 * (s1 - s0) / seconds),
            "server_cpu_ms_per_request": round(1000 * (s1 - s0) / max(1, result["requests"]), 3),
            "postgres_cpu_ms_per_request": round(1000 * (p1 - p0) / max(1, result["requests"]), 3),
            "wrk_cpu_ms_per_request": round(
                1000 * result["wrk_cpu_s"] / max(1, result["requests"]), 3
            ),
            "postgres_cpu_percent": round(100 * (p1 - p0) / seconds),
            "wrk_cpu_percent": round(100 * result["wrk_cpu_s"] / seconds),
            "machine_cpu_percent": round(100 * (m1 - m0) / seconds),
            "peak_rss_mb": peak_rss_mb(group_pids(proc.pid)),
            "x_cache": headers.get("x-cache", headers.get("X-Cache", "")),
            "ready_seconds": round(ready, 2),
        }
    except Exception:
        log.flush()
        tail = (scratch / f"server-{page}-{processes}.log").read_text(errors="replace")[-2000:]
        click.echo(f"server log:\n{tail}", err=True)
        raise
    finally:
        stop_group(proc)
        log.close()


def per_request(r: dict[str, Any]) -> str:
    parts = (
        r["server_cpu_ms_per_request"],
        r["postgres_cpu_ms_per_request"],
        r["wrk_cpu_ms_per_request"],
    )
    return "+".join(f"{p:.2f}" for p in parts)


def ceiling(r: dict[str, Any], cores: int | None) -> str:
    spent = (
        r["server_cpu_ms_per_request"]
        + r["postgres_cpu_ms_per_request"]
        + r["wrk_cpu_ms_per_request"]
    )
    return f"{1000 * (cores or 1) / spent:.0f}" if spent > 0 else "-"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--processes", default="1,2,3,4", show_default=True)
@click.option("--pages", default="staff-uncached,cached", show_default=True)
@click.option("--duration", default=15.0, show_default=True, help="Seconds measured per point.")
@click.option("--connections", default=32, show_default=True, help="wrk connections.")
@click.option("--port", default=8040, show_default=True)
@click.option("--seed", is_flag=True, help="Drop, re-create and seed the database first.")
@click.option(
    "--postgres-url",
    envvar="BENCH_DATABASE_URL",
    default="postgres://postgres@127.0.0.1:5432/bench_scale_out",
    show_default=True,
)
@click.option(
    "--redis-url", envvar="BENCH_REDIS_URL", default="redis://127.0.0.1:6379/1", show_default=True
)
@click.option("--pool-max", default=10, show_default=True, help="PostgreSQL pool per process.")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=RESULTS, show_default=True
)
def main(
    processes: str,
    pages: str,
    duration: float,
    connections: int,
    port: int,
    seed: bool,
    postgres_url: str,
    redis_url: str,
    pool_max: int,
    output: Path,
) -> None:
    """Requests/s of the uncached staff listing and the cached page, 1 to 4 processes."""
    import asyncio

    check_services(postgres_url, redis_url)
    counts = [int(n) for n in processes.split(",")]
    chosen = [p.strip() for p in pages.split(",") if p.strip()]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="o2o-scale-") as tmp:
        scratch = Path(tmp)
        env = base_env(scratch / "data")
        env.pop("WORKERS", None)
        pooled = postgres_url + ("&" if "?" in postgres_url else "?") + f"maxsize={pool_max}"
        env.update(DATABASE_URL=pooled, REDIS_URL=redis_url)
        if seed:
            asyncio.run(recreate_database(postgres_url))
            click.echo("seeding …", err=True)
            run_seed(env, scratch / "seed.log", 600)
        results = []
        for page in chosen:
            for n in counts:
                asyncio.run(flush_redis(redis_url))  # fresh rate-limit counters and cache
                click.echo(f"· {page}, {n} process(es) …", err=True)
                results.append(
                    measure(
                        page,
                        n,
                        env=env,
                        port=port,
                        postgres_url=postgres_url,
                        duration=duration,
                        connections=connections,
                        scratch=scratch,
                    )
                )
                click.echo(f"  {results[-1]}", err=True)
    cores = os.cpu_count()
    click.echo(
        f"\nproducts(first: 20) + variants, wrk -t1 -c{connections} -d{duration:g}s, "
        f"PostgreSQL + Redis, {cores} cores (CPU in % of one core)"
    )
    head = (
        f"{'page':<15} {'procs':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
        f"{'server':>7} {'pg':>5} {'wrk':>5} {'machine':>8} {'peak RSS MB':>11} "
        f"{'cpu ms/req srv+pg+wrk':>22} {'ceiling/s':>9}"
    )
    click.echo(head)
    click.echo("-" * len(head))
    for r in results:
        click.echo(
            f"{r['page']:<15} {r['processes']:>5} {r['requests_per_second']:>8} "
            f"{r['p50_ms']:>8} {r['p99_ms']:>8} {r['errors']:>6} "
            f"{str(r['server_cpu_percent']) + '%':>7} {str(r['postgres_cpu_percent']) + '%':>5} "
            f"{str(r['wrk_cpu_percent']) + '%':>5} {str(r['machine_cpu_percent']) + '%':>8} "
            f"{max(r['peak_rss_mb'] or [0]):>11} {per_request(r):>22} {ceiling(r, cores):>9}"
        )
    click.echo(
        "\nceiling/s: what the machine's cores could answer if the server, PostgreSQL and wrk "
        "had all of them, at the CPU per request measured here (Redis and the kernel's own "
        "work are left out; other jobs on the machine shrink the measured req/s, not this)"
    )
    settings = {"duration_s": duration, "connections": connections, "pool_max": pool_max}
    write_json(
        output,
        results_document(
            "scale_out", started=started, settings=settings, extra={}, results=results
        ),
    )
    click.echo(f"\nwrote {output}")


if __name__ == "__main__":
    main()
