"""Helpers shared by the benchmarks: server processes, CPU meters, the bench database and Redis,
the seed, percentiles and the JSON results.

Imported by the bench scripts as ``common`` (they run as ``python bench/NAME.py``, which puts
``bench/`` on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import click
import httpx
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parents[1]
# The tree whose `app.py` the benches serve and seed: this one, or another checkout (e.g. a
# `git worktree` of an older commit, for a before/after in one run) named by BENCH_SERVER_ROOT.
SERVER_ROOT = Path(os.environ.get("BENCH_SERVER_ROOT") or ROOT).resolve()
SERVER_START_TIMEOUT = 120.0


# ---------------------------------------------------------------- server processes

_LIVE: set[subprocess.Popen[bytes]] = set()


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s; forget the process."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _LIVE.discard(proc)


def stop_group(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
    """SIGTERM to the process group of ``proc`` (started with ``start_new_session``), then
    SIGKILL if it is still there after ``timeout`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@atexit.register
def _stop_leftovers() -> None:
    for proc in list(_LIVE):
        stop_process(proc)


def spawn(cmd: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in the project root, output to ``log_path``; stopped at exit at the latest."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=SERVER_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    _LIVE.add(proc)
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file ("" when unreadable)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]


@contextlib.asynccontextmanager
async def serving(
    client: httpx.AsyncClient, cmd: list[str], env: dict[str, str], log_path: Path
) -> AsyncIterator[Server]:
    """Start ``cmd --host 127.0.0.1 --port N``, wait for /healthz, stop it afterwards."""
    port = free_port()
    proc = spawn([*cmd, "--host", "127.0.0.1", "--port", str(port)], env, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{tail(log_path)}")
            try:
                if (await client.get(f"{url}/healthz", timeout=1)).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not become healthy:\n{tail(log_path)}")
            await asyncio.sleep(0.2)
        yield Server(url, proc)
    finally:
        await asyncio.to_thread(stop_process, proc)


# ---------------------------------------------------------------- CPU


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float | None:
    """Busy CPU time of the whole machine, all cores (Linux /proc/stat), or None elsewhere."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by the load generator, the server(s) and the rest of the machine over a window."""

    def __init__(self, *server_pids: int) -> None:
        self.pids = server_pids
        self.start = self._sample()

    def _servers(self) -> float | None:
        used = [process_cpu_seconds(pid) for pid in self.pids]
        return None if any(u is None for u in used) else sum(u or 0.0 for u in used)

    def _sample(self) -> tuple[float, float | None, float | None]:
        return time.process_time(), self._servers(), machine_cpu_seconds()

    def percents(self, elapsed: float) -> tuple[float | None, float | None, float | None]:
        """(client, servers, rest) in percent of one core."""
        end = self._sample()
        used = [
            None if a is None or b is None else 100 * (b - a) / elapsed
            for a, b in zip(self.start, end, strict=True)
        ]
        client, server, machine = used
        rest = None
        if machine is not None and client is not None and server is not None:
            rest = max(0.0, machine - client - server)
        return client, server, rest


# ---------------------------------------------------------------- database, Redis, seed


def base_env(data_dir: Path) -> dict[str, str]:
    """The server environment: ours, minus anything pointing at other databases."""
    dropped = {"DATABASE_URL", "REDIS_URL", "DATA_DIR", "HOST", "PORT", "WORKERS"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DATA_DIR=str(data_dir),
        RATE_LIMIT_ANONYMOUS="100000000",
        WORKERS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_seed(env: dict[str, str], log_path: Path, timeout: float) -> float:
    """``python app.py seed``; returns how long it took."""
    started = time.perf_counter()
    proc = spawn([sys.executable, "app.py", "seed"], env, log_path)
    try:
        returncode = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"`app.py seed` still running after {timeout:g} s (killed):\n{tail(log_path)}"
        ) from None
    finally:
        stop_process(proc)
    if returncode != 0:
        raise RuntimeError(f"`app.py seed` failed ({returncode}):\n{tail(log_path)}")
    return time.perf_counter() - started


def database_name(url: str) -> str:
    """The database named in ``url``; refuses the test suite's and the server's own."""
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise click.UsageError(f"unsupported database name in {url!r}")
    if name in {"test", "postgres", "template0", "template1"}:
        raise click.UsageError(f"refusing to drop the database {name!r}; use e.g. /bench")
    return name


async def recreate_database(url: str) -> None:
    """DROP and CREATE the database named in ``url`` (connecting to its server's `postgres`)."""
    name = database_name(url)
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def redis_db(url: str) -> int:
    path = urlsplit(url).path.lstrip("/")
    return int(path) if path else 0


async def flush_redis(url: str) -> None:
    """Empty the bench's Redis database: response cache, catalog version, rate-limit counters."""
    if redis_db(url) == 0:
        raise click.UsageError("refusing to FLUSHDB Redis db 0; give the bench its own, e.g. /1")
    client = aioredis.Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


# ---------------------------------------------------------------- numbers and results


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[index]


def round_or_none(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def fmt(value: float | int | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(tmp, path)


def results_document(
    benchmark: str,
    *,
    started: datetime,
    settings: dict[str, Any],
    extra: dict[str, Any],
    results: list[dict[str, Any]],
) -> dict[str, Any]:
    """The JSON a benchmark writes: when, with which settings, on which machine, what it found."""
    return {
        "benchmark": benchmark,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": settings,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        **extra,
        "results": results,
    }


def check_services(postgres_url: str, redis_url: str) -> None:
    """Refuse a protected database name or Redis db 0 before anything is dropped or flushed."""
    database_name(postgres_url)
    if redis_db(redis_url) == 0:
        raise click.BadParameter("Redis db 0 is refused; use e.g. /1", param_hint="--redis-url")
