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
import signal
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from catalog_load import QUERY, Result, table
from catalog_servers import CONFIG_NAMES, CONFIGS, RESULTS_DIR, Config, Options, run_all
from common import check_services, results_document, write_json

OWNER_EMAIL = "owner@demo.o2o"  # adapters/db/demo_data.py: STAFF
DEMO_OWNER_PASSWORD = "demo-owner-password"
STAFF_LIMIT_PER_MINUTE = 6000  # adapters/web/auth.py: staff callers without their own limit


def _selected(only: tuple[str, ...]) -> list[Config]:
    names = [n.strip() for item in only for n in item.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CONFIG_NAMES))
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(unknown)}; choose from {', '.join(CONFIG_NAMES)}",
            param_hint="--only",
        )
    return [c for c in CONFIGS if not names or c.name in names]


def _document(
    opts: Options, *, started: datetime, results: list[Result], seed: dict[str, float]
) -> dict[str, Any]:
    """What the run writes to ``--output``."""
    settings = {
        "duration_s": opts.duration,
        "concurrency": opts.concurrency,
        "warmup_s": opts.warmup,
        "staff_budget": opts.staff_budget,
        "uvicorn_workers": 1,
    }
    return results_document(
        "catalog",
        started=started,
        settings=settings,
        extra={"query": QUERY, "seed_seconds": seed},
        results=[asdict(r) for r in results],
    )


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
        check_services(postgres_url, redis_url)
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
    write_json(output, _document(opts, started=started, results=results, seed=seed_seconds))
    click.echo(f"\nwrote {output}")
    if any(r.error for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
