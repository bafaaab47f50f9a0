"""Before and after, in one run: the same requests against a baseline commit and the working tree.

    .venv/bin/python bench/before_after.py                  # baseline 211c0a7, 10 s per scenario
    .venv/bin/python bench/before_after.py --baseline HEAD~5 --only page-staff,cart-add

The baseline is checked out as a git worktree under /tmp (sharing this .venv, so both trees run on
the same installed packages); each tree gets its own PostgreSQL database (``bench_before`` /
``bench_after``, dropped and recreated) and Redis database (2 / 3, flushed), is seeded with the
demo brand (``app.py seed``) and served by one ``app.py serve`` process. The scenarios run one
after the other, the baseline first, each with wrk (``-t1 -c<connections>``): the load generator
is C and its CPU is reported beside the server's, so it is not the bottleneck. Per scenario:
requests/s, p50/p99, non-2xx, server CPU per request (from /proc, robust to a busy machine) and
the ratio after/before; per tree: start-up time to /readyz and peak RSS. The machine's core
count heads the table. Results: ``bench/results/before_after.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from common import stop_group  # noqa: E402

from adapters.security import JwtTokenSigner  # noqa: E402

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
OWNER_PASSWORD = "demo-owner-password"
PAGE = (
    "{ products(first: 20) { nodes { id title handle variants(first: 5) { nodes { id sku"
    " price { amount currencyCode } compareAtPrice { amount } quantityAvailable"
    " availableForSale } } } } }"
)
PRODUCT = (
    "query($h: String!) { product(handle: $h) { id title handle description variants(first: 5)"
    " { nodes { id sku price { amount } quantityAvailable } } } }"
)
SEARCH = (
    "query($q: String!) { products(first: 20, query: $q) { nodes { id title handle"
    " availableForSale priceRange { minVariantPrice { amount } maxVariantPrice { amount } } } } }"
)
CART_FIELDS = "cart { id totalQuantity cost { totalAmount { amount currencyCode } } }"
CART_READ = (
    "query($c: ID!) { cart(id: $c) { id totalQuantity lines { quantity merchandise { sku } }"
    " cost { totalAmount { amount } } } }"
)
CART_ADD = (
    "mutation($c: ID!, $v: ID!) { cartLinesAdd(cartId: $c, lines: [{merchandiseId: $v,"
    f" quantity: 1}}]) {{ {CART_FIELDS} userErrors {{ code }} }} }}"
)
CART_CREATE = (
    "mutation($v: ID!) { cartCreate(input: {lines: [{merchandiseId: $v, quantity: 1}]})"
    f" {{ {CART_FIELDS} userErrors {{ code }} }} }}"
)

# name -> (caller, body or a lua generator tag, what it measures)
SCENARIOS: dict[str, tuple[str, str, str]] = {
    "page-staff": ("staff", PAGE, "products(first: 20) with variants, price, stock: staff"),
    "page-member": ("member", PAGE, "the same page as a GOLD member (tier prices)"),
    "page-cached": ("anonymous", PAGE, "the same page, anonymous: response cache hits"),
    "product-staff": ("staff", "product", "product(handle:), rotating handles: staff"),
    "search-staff": ("staff", "search", 'products(first: 20, query: "<word>"): staff'),
    "cart-read": ("anonymous", "cart-read", "cart(id:) of 64 carts, round robin"),
    "cart-add": ("anonymous", "cart-add", "cartLinesAdd into 64 existing carts"),
    "cart-create": ("anonymous", "cart-create", "cartCreate with one line (a new cart)"),
    "trivial": ("staff", "{ channels { handle } }", "{ channels { handle } }: fixed cost"),
}

LUA = r"""
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do table.insert(bodies, line) end
local i = 0
local headers = {["Content-Type"] = "application/json"}
local token = os.getenv("TOKEN")
if token and #token > 0 then headers["Authorization"] = "Bearer " .. token end
function request()
  i = i + 1
  return wrk.format("POST", "/graphql", headers, bodies[(i % #bodies) + 1])
end
bad = 0
function response(status, hdrs, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d p50_ms=%.2f p99_ms=%.2f non2xx=%d\n",
    summary.requests, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status))
end
"""


@dataclass
class Tree:
    name: str
    path: Path
    port: int
    database: str
    redis: str
    process: subprocess.Popen[bytes] | None = None
    startup_s: float = 0.0
    peak_rss_mb: float = 0.0
    tokens: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Figure:
    scenario: str
    tree: str
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    server_cpu_ms_per_request: float
    client_cpu_ms_per_request: float
    requests: int


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _post(port: int, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def _env(tree: Tree, postgres: str, redis: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{postgres}/{tree.database}",
        "REDIS_URL": f"{redis}/{tree.redis}",
        "SECRET_KEY": SECRET,
        "DEMO_OWNER_PASSWORD": OWNER_PASSWORD,
        "RATE_LIMIT_ANONYMOUS": "1000000000",
        "PYTHONPATH": str(tree.path),
    }


def _prepare(tree: Tree, postgres: str, redis: str) -> None:
    subprocess.run(
        ["psql", f"{postgres}/postgres", "-qAt", "-c", f"DROP DATABASE IF EXISTS {tree.database}"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["psql", f"{postgres}/postgres", "-qAt", "-c", f"CREATE DATABASE {tree.database}"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["redis-cli", "-u", f"{redis}/{tree.redis}", "FLUSHDB"], check=True)
    python = str(ROOT / ".venv/bin/python")
    env = _env(tree, postgres, redis)
    subprocess.run(
        [python, "app.py", "seed"], cwd=tree.path, env=env, check=True, stdout=subprocess.DEVNULL
    )
    subprocess.run(["redis-cli", "-u", f"{redis}/{tree.redis}", "FLUSHDB"], check=True)
    started = time.monotonic()
    tree.process = subprocess.Popen(
        [python, "app.py", "serve", "--host", "127.0.0.1", "--port", str(tree.port)],
        cwd=tree.path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(600):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{tree.port}/readyz", timeout=1).close()
            break
        time.sleep(0.05)
    else:
        raise click.ClickException(f"{tree.name}: server not ready")
    tree.startup_s = time.monotonic() - started
    login = _post(
        tree.port,
        {
            "query": "mutation($e: String!, $p: String!) { staffLogin(email: $e, password: $p)"
            " { accessToken } }",
            "variables": {"e": "owner@demo.o2o", "p": OWNER_PASSWORD},
        },
    )
    signer = JwtTokenSigner(SECRET)
    tree.tokens = {
        "staff": login["data"]["staffLogin"]["accessToken"],
        "member": signer.issue(
            subject="member:1", claims={"kind": "member", "tier": "GOLD"}, ttl_seconds=3600
        ),
        "anonymous": "",
    }
    listing = _post(
        tree.port,
        {
            "query": "{ products(first: 100) { nodes { handle"
            " variants(first: 3) { nodes { id } } } } }"
        },
    )
    nodes = listing["data"]["products"]["nodes"]
    handles = [n["handle"] for n in nodes]
    variants = [v["id"] for n in nodes for v in n["variants"]["nodes"]]
    carts = []
    for i in range(64):
        created = _post(tree.port, {"query": CART_CREATE, "variables": {"v": variants[i]}})
        carts.append(created["data"]["cartCreate"]["cart"]["id"])

    def body(query: str, variables: dict[str, Any]) -> str:
        return json.dumps({"query": query, "variables": variables})

    words = ["linen", "dress", "cotton", "shirt", "wool"]
    tree.bodies = {
        "product": [body(PRODUCT, {"h": h}) for h in handles],
        "search": [body(SEARCH, {"q": w}) for w in words],
        "cart-read": [body(CART_READ, {"c": c}) for c in carts],
        "cart-add": [
            body(CART_ADD, {"c": c, "v": variants[(i + k) % len(variants)]})
            for k in range(3)
            for i, c in enumerate(carts)
        ],
        "cart-create": [body(CART_CREATE, {"v": v}) for v in variants],
    }


def _measure(
    tree: Tree, scenario: str, work: Path, redis: str, duration: float, connections: int
) -> Figure:
    caller, what, _ = SCENARIOS[scenario]
    lines = tree.bodies.get(what) or [json.dumps({"query": what})]
    bodies = work / f"{tree.name}-{scenario}.txt"
    bodies.write_text("\n".join(lines) + "\n")
    script = work / "bench.lua"
    script.write_text(LUA)
    # fresh per-user rate-limit counters: a staff user may send 6000 requests a minute
    keys = subprocess.run(
        ["redis-cli", "-u", f"{redis}/{tree.redis}", "--scan", "--pattern", "o2o:rl:*"],
        capture_output=True,
        text=True,
    ).stdout.split()
    if keys:
        subprocess.run(
            ["redis-cli", "-u", f"{redis}/{tree.redis}", "DEL", *keys], capture_output=True
        )
    env = {**os.environ, "BODIES": str(bodies), "TOKEN": tree.tokens[caller]}
    url = f"http://127.0.0.1:{tree.port}/graphql"
    wrk = ["wrk", "-t1", f"-c{connections}", "--timeout", "10s", "-s", str(script), url]
    subprocess.run([*wrk[:3], "-d2s", *wrk[3:]], env=env, capture_output=True)  # warm-up
    time.sleep(0.5)
    assert tree.process is not None
    before = _cpu_seconds(tree.process.pid)
    children = os.times()
    out = subprocess.run(
        [*wrk[:3], f"-d{max(1, round(duration))}s", *wrk[3:]],
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    client = (os.times().children_user + os.times().children_system) - (
        children.children_user + children.children_system
    )
    server = _cpu_seconds(tree.process.pid) - before
    found = re.search(r"RESULT requests=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+) non2xx=(\d+)", out)
    seconds = re.search(r"requests in ([\d.]+)(m?s)", out)
    if not found or not seconds:
        raise click.ClickException(f"{tree.name} {scenario}: no result from wrk:\n{out}")
    elapsed = float(seconds.group(1)) / (1000 if seconds.group(2) == "ms" else 1)
    n = max(1, int(found.group(1)))
    return Figure(
        scenario,
        tree.name,
        round(n / elapsed, 1),
        float(found.group(2)),
        float(found.group(3)),
        int(found.group(4)),
        round(server * 1000 / n, 2),
        round(client * 1000 / n, 2),
        n,
    )


def _stop(tree: Tree) -> None:
    if tree.process is not None and tree.process.poll() is None:
        tree.peak_rss_mb = _peak_rss_mb(tree.process.pid)
        stop_group(tree.process)


@click.command()
@click.option("--baseline", default="211c0a7", show_default=True, help="Commit to compare with.")
@click.option("--duration", default=10.0, show_default=True, help="Seconds measured per scenario.")
@click.option("--connections", default=32, show_default=True)
@click.option("--only", default="", help=f"Scenarios, comma-separated: {', '.join(SCENARIOS)}.")
@click.option("--postgres", default="postgres://postgres@127.0.0.1:5432", show_default=True)
@click.option("--redis", default="redis://127.0.0.1:6379", show_default=True)
@click.option("--output", default=str(ROOT / "bench/results/before_after.json"), show_default=True)
def main(
    baseline: str,
    duration: float,
    connections: int,
    only: str,
    postgres: str,
    redis: str,
    output: str,
) -> None:
    """Measure the baseline commit and the working tree with the same requests, in one run."""
    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is needed (Debian: apt-get install -y wrk)")
    chosen = [s for s in only.split(",") if s] or list(SCENARIOS)
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        raise click.ClickException(f"unknown scenarios: {', '.join(sorted(unknown))}")
    work = Path(tempfile.mkdtemp(prefix="o2o-before-after-"))
    base_path = work / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(base_path), baseline],
        check=True,
        capture_output=True,
    )
    (base_path / ".venv").symlink_to(ROOT / ".venv")
    trees = [
        Tree("before", base_path, 18611, "bench_before", "2"),
        Tree("after", ROOT, 18612, "bench_after", "3"),
    ]
    figures: list[Figure] = []
    try:
        for tree in trees:
            click.echo(f"preparing {tree.name} ({tree.path})", err=True)
            _prepare(tree, postgres, redis)
        for scenario in chosen:
            for tree in trees:
                figures.append(_measure(tree, scenario, work, redis, duration, connections))
                click.echo(f"  {scenario} {tree.name}: {figures[-1].rps} req/s", err=True)
    finally:
        for tree in trees:
            _stop(tree)
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_path)],
            capture_output=True,
        )
        shutil.rmtree(work, ignore_errors=True)
    _report(figures, trees, baseline, duration, connections, Path(output))


def _report(
    figures: list[Figure],
    trees: list[Tree],
    baseline: str,
    duration: float,
    connections: int,
    output: Path,
) -> None:
    click.echo(
        f"\n{os.cpu_count()} cores; wrk -t1 -c{connections}, {duration:g} s per scenario;"
        f" before = {baseline}, after = working tree;"
        " one server process each (PostgreSQL + Redis)\n"
    )
    click.echo(
        "| scenario | before req/s | after req/s | × | before CPU ms/req | after CPU ms/req | ×"
        " | after p50 / p99 ms | client CPU ms/req (after) | non-2xx |"
    )
    click.echo("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by = {(f.scenario, f.tree): f for f in figures}
    for scenario in dict.fromkeys(f.scenario for f in figures):
        b, a = by[(scenario, "before")], by[(scenario, "after")]
        click.echo(
            f"| {scenario} | {b.rps} | {a.rps} | {a.rps / max(b.rps, 0.1):.1f} |"
            f" {b.server_cpu_ms_per_request} | {a.server_cpu_ms_per_request} |"
            f" {b.server_cpu_ms_per_request / max(a.server_cpu_ms_per_request, 0.01):.1f} |"
            f" {a.p50_ms:.0f} / {a.p99_ms:.0f} | {a.client_cpu_ms_per_request} |"
            f" {b.non2xx + a.non2xx} |"
        )
    for tree in trees:
        click.echo(
            f"{tree.name}: start-up {tree.startup_s:.1f} s, peak RSS {tree.peak_rss_mb:.0f} MB"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "cores": os.cpu_count(),
                "baseline": baseline,
                "duration_s": duration,
                "connections": connections,
                "figures": [asdict(f) for f in figures],
                "trees": {
                    t.name: {
                        "startup_s": round(t.startup_s, 2),
                        "peak_rss_mb": round(t.peak_rss_mb),
                    }
                    for t in trees
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
