"""The cached storefront page against the stack's ceiling, in one run: wrk on
``products(first: 20)`` (anonymous: a response-cache hit) served by ``python app.py serve``
(PostgreSQL + Redis, one process), by a baseline checkout of the project, and by
``bench/raw_app.py`` returning the same bytes from a bare Starlette endpoint.

    git worktree add /tmp/o2o-before <commit>          # the baseline, optional
    .venv/bin/python bench/cached_page.py --baseline /tmp/o2o-before [--rounds 2]

Subjects, each measured once per round (rounds interleave them, so a busy machine weighs on all):

  raw            bare Starlette, this checkout's dependencies (the ceiling)
  raw-plain      the same without uvloop/httptools/hiredis (bench/plain_stack on PYTHONPATH)
  cached         this checkout
  cached-before  the baseline checkout, without uvloop/httptools/hiredis (as it shipped)

Each GraphQL subject gets its own database (``<postgres-url>_before`` / ``_after``, dropped,
re-created and seeded by its own code) and the Redis database, flushed before each server.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from common import (
    base_env,
    check_services,
    flush_redis,
    machine_cpu_seconds,
    recreate_database,
    results_document,
    stop_group,
    write_json,
)
from scale_out import LUA, QUERY, cpu_of, group_pids, peak_rss_mb, post, run_wrk, wait_ready

ROOT = Path(__file__).resolve().parents[1]
PLAIN = ROOT / "bench" / "plain_stack"
RESULTS = ROOT / "bench" / "results" / "cached_page.json"


def serve(
    name: str, cmd: list[str], cwd: Path, env: dict[str, str], port: int, scratch: Path, **wrk: Any
) -> dict[str, Any]:
    log = (scratch / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_ready(url, proc, path="/readyz" if "serve" in cmd else "/healthz")
        headers, body = post(f"{url}/graphql", {"query": QUERY})
        if "data" not in body:
            raise RuntimeError(f"{name}: bad answer {str(body)[:300]}")
        request = urllib.request.Request(
            f"{url}/graphql",
            json.dumps({"query": QUERY}).encode(),
            {"content-type": "application/json", "accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw_body = response.read()  # the exact bytes, for the raw subjects
        script = scratch / "cached.lua"
        script.write_text(LUA % {"tokens": "", "body": json.dumps(json.dumps({"query": QUERY}))})
        run_wrk(f"{url}/graphql", script, wrk["connections"], 3.0)  # warm-up
        pids = group_pids(proc.pid)
        s0, m0 = cpu_of(pids), machine_cpu_seconds() or 0.0
        result = run_wrk(f"{url}/graphql", script, wrk["connections"], wrk["duration"])
        s1, m1 = cpu_of(pids), machine_cpu_seconds() or 0.0
        seconds = result["seconds"]
        return {
            "subject": name,
            "requests_per_second": round(result["requests"] / seconds, 1),
            "errors": int(result["errors"]),
            "p50_ms": round(result["p50_ms"], 2),
            "p99_ms": round(result["p99_ms"], 2),
            "server_cpu_percent": round(100 * (s1 - s0) / seconds),
            "server_cpu_ms_per_request": round(1000 * (s1 - s0) / max(1, result["requests"]), 3),
            "wrk_cpu_percent": round(100 * result["wrk_cpu_s"] / seconds),
            "machine_cpu_percent": round(100 * (m1 - m0) / seconds),
            "peak_rss_mb": max(peak_rss_mb(group_pids(proc.pid)) or [0]),
            "ready_seconds": round(ready, 2),
            "x_cache": headers.get("x-cache", ""),
            "body": raw_body,
        }
    finally:
        stop_group(proc)
        log.close()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--baseline", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--rounds", default=2, show_default=True)
@click.option("--duration", default=20.0, show_default=True)
@click.option("--connections", default=32, show_default=True)
@click.option("--port", default=8050, show_default=True)
@click.option(
    "--postgres-url",
    envvar="BENCH_DATABASE_URL",
    default="postgres://postgres@127.0.0.1:5432/bench_cached",
    show_default=True,
    help="<url>_after and <url>_before are dropped and re-created.",
)
@click.option(
    "--redis-url", envvar="BENCH_REDIS_URL", default="redis://127.0.0.1:6379/1", show_default=True
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=RESULTS, show_default=True
)
def main(
    baseline: Path | None,
    rounds: int,
    duration: float,
    connections: int,
    port: int,
    postgres_url: str,
    redis_url: str,
    output: Path,
) -> None:
    """The cached page against a bare Starlette endpoint (and a baseline), in one run."""
    check_services(postgres_url + "_after", redis_url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.now(UTC)
    python = str(ROOT / ".venv" / "bin" / "python")
    wrk = {"connections": connections, "duration": duration}
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="o2o-cached-") as tmp:
        scratch = Path(tmp)
        subjects: list[tuple[str, list[str], Path, dict[str, str]]] = []
        checkouts = [("cached", ROOT, "_after", None)]
        if baseline is not None:
            checkouts.append(("cached-before", baseline.resolve(), "_before", str(PLAIN)))
        for name, cwd, suffix, pythonpath in checkouts:
            env = base_env(scratch / f"data{suffix}")
            env.pop("WORKERS", None)
            env.update(DATABASE_URL=postgres_url + suffix, REDIS_URL=redis_url)
            if pythonpath:
                env["PYTHONPATH"] = pythonpath
            asyncio.run(recreate_database(postgres_url + suffix))
            click.echo(f"· seeding {name} …", err=True)
            seed_log = scratch / f"seed{suffix}.log"
            proc_env = {**env}
            run_seed_in(cwd, proc_env, seed_log)
            subjects.append((name, [python, "app.py", "serve"], cwd, env))
        body_file = scratch / "body.json"
        raw_env = base_env(scratch / "data-raw")
        raw_env["BENCH_RAW_BODY"] = str(body_file)
        raw = [python, "raw_app.py"]
        subjects[:0] = [
            ("raw", raw, ROOT / "bench", raw_env),
            ("raw-plain", raw, ROOT / "bench", {**raw_env, "PYTHONPATH": str(PLAIN)}),
        ]
        for round_number in range(1, rounds + 1):
            for name, cmd, cwd, env in [*subjects[2:], *subjects[:2]]:  # GraphQL first: the body
                if "serve" in cmd:
                    asyncio.run(flush_redis(redis_url))
                click.echo(f"· round {round_number}: {name} …", err=True)
                result = serve(name, cmd, cwd, env, port, scratch, **wrk)
                body = result.pop("body")
                if name == "cached":
                    body_file.write_bytes(body)
                result["round"] = round_number
                results.append(result)
                click.echo(f"  {result}", err=True)
    click.echo(
        f"\ncached products(first: 20), wrk -t1 -c{connections} -d{duration:g}s, PostgreSQL + "
        f"Redis, one server process, {os.cpu_count()} cores (CPU in % of one core)"
    )
    head = (
        f"{'round':>5} {'subject':<14} {'req/s':>8} {'vs raw':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'srv cpu':>7} {'ms cpu/req':>10} {'wrk cpu':>7} {'machine':>7} "
        f"{'RSS MB':>6} {'ready s':>7}"
    )
    click.echo(head)
    click.echo("-" * len(head))
    for r in results:
        raw_rate = next(
            (
                x["requests_per_second"]
                for x in results
                if x["round"] == r["round"] and x["subject"] == "raw"
            ),
            None,
        )
        ratio = f"{r['requests_per_second'] / raw_rate:.2f}" if raw_rate else "-"
        click.echo(
            f"{r['round']:>5} {r['subject']:<14} {r['requests_per_second']:>8} {ratio:>7} "
            f"{r['p50_ms']:>8} {r['p99_ms']:>8} {r['errors']:>6} "
            f"{str(r['server_cpu_percent']) + '%':>7} {r['server_cpu_ms_per_request']:>10} "
            f"{str(r['wrk_cpu_percent']) + '%':>7} {str(r['machine_cpu_percent']) + '%':>7} "
            f"{r['peak_rss_mb']:>6} {r['ready_seconds']:>7}"
        )
    settings = {
        "duration_s": duration,
        "connections": connections,
        "rounds": rounds,
        "baseline": str(baseline) if baseline else None,
    }
    write_json(
        output,
        results_document(
            "cached_page", started=started, settings=settings, extra={}, results=results
        ),
    )
    click.echo(f"\nwrote {output}")


def run_seed_in(cwd: Path, env: dict[str, str], log_path: Path) -> None:
    """``python app.py seed`` of the checkout in ``cwd``."""
    with log_path.open("wb") as log:
        done = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), "app.py", "seed"],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=600,
        )
    if done.returncode != 0:
        raise RuntimeError(f"seed in {cwd} failed:\n{log_path.read_text()[-2000:]}")


if __name__ == "__main__":
    main()
