"""Checkout throughput and the flash-sale race, against real servers on PostgreSQL + Redis.

Two scenarios, each on a freshly seeded database and real ``python app.py serve`` processes:

  browse      1 server: virtual shoppers run products → cartCreate → checkoutComplete back to
              back; completed checkouts per second and the latency of each step
  browse-paid the same journey, each checkout paying by card at once (the server drives the
              stripe SDK against localstripe, an emulator process; --stripe test: the in-process
              test mode, which leaves out the provider's HTTP round trips)
  flash-sale  N servers: one SKU with exactly --units units at the warehouse, --buyers carts
              created first, then every checkout fired at once; afterwards the database must
              show exactly min(units, buyers) units sold, reserved and in the ledger

The load generator runs in this process: ``httpx.AsyncClient`` for the browse scenarios and
the flash sale's preparation, one plain asyncio connection per buyer for the flash-sale burst.
See bench/README.md.

    .venv/bin/python bench/checkout.py [--only browse,flash-sale] [--buyers 1000] [--units 100]
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from browse import BrowseResult, browse_scenario, browse_table
from common import (
    check_services,
    results_document,
    write_json,
)
from flash_sale import (
    FlashResult,
    flash_sale_scenario,
    flash_table,
)
from shop import (
    BROWSE,
    CART_CREATE,
    CHECKOUT,
    RESULTS_DIR,
    SCENARIOS,
    Options,
)


def _selected(only: tuple[str, ...]) -> list[str]:
    names = [n.strip() for item in only for n in item.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}",
            param_hint="--only",
        )
    return [s for s in SCENARIOS if not names or s in names]


async def run_all(scenarios: list[str], opts: Options) -> list[BrowseResult | FlashResult]:
    scratch = Path(tempfile.mkdtemp(prefix="o2o-bench-checkout-"))
    try:
        results: list[BrowseResult | FlashResult] = []
        if "browse" in scenarios:
            results.append(await browse_scenario(opts, scratch))
        if "browse-paid" in scenarios:
            results.append(await browse_scenario(opts, scratch, paid=True))
        if "flash-sale" in scenarios:
            results.append(await flash_sale_scenario(opts, scratch))
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_counts(*, buyers: int, units: int, processes: int, concurrency: int) -> None:
    """Refuse counts that make no scenario."""
    for name, value in (
        ("--buyers", buyers),
        ("--processes", processes),
        ("--concurrency", concurrency),
    ):
        if value < 1:
            raise click.BadParameter("must be at least 1", param_hint=name)
    if units < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--units")


def _document(
    opts: Options,
    scenarios: list[str],
    *,
    started: datetime,
    results: list[BrowseResult | FlashResult],
) -> dict[str, Any]:
    """What the run writes to ``--output``."""
    settings = {
        "scenarios": scenarios,
        "buyers": opts.buyers,
        "units": opts.units,
        "processes": opts.processes,
        "duration_s": opts.duration,
        "warmup_s": opts.warmup,
        "concurrency": opts.concurrency,
        "timeout_s": opts.timeout,
        "uvicorn_workers": 1,
        "stripe": opts.stripe,
    }
    queries = {"products": BROWSE, "cartCreate": CART_CREATE, "checkout": CHECKOUT}
    return results_document(
        "checkout",
        started=started,
        settings=settings,
        extra={"queries": queries},
        results=[asdict(r) for r in results],
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--only",
    multiple=True,
    metavar="NAME[,NAME]",
    help=f"Scenarios to run (default all): {', '.join(SCENARIOS)}.",
)
@click.option(
    "--buyers", default=1000, show_default=True, help="Flash sale: buyers (one cart each)."
)
@click.option("--units", default=100, show_default=True, help="Flash sale: units of the SKU.")
@click.option("--processes", default=3, show_default=True, help="Flash sale: server processes.")
@click.option("--duration", default=20.0, show_default=True, help="Browse: seconds measured.")
@click.option("--warmup", default=2.0, show_default=True, help="Browse: seconds of warm-up.")
@click.option("--concurrency", default=16, show_default=True, help="Browse: virtual shoppers.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds allowed per request.")
@click.option(
    "--postgres-url",
    envvar="BENCH_DATABASE_URL",
    default="postgres://postgres@127.0.0.1:5432/bench",
    show_default=True,
    help="Dropped and recreated before each scenario.",
)
@click.option(
    "--redis-url",
    envvar="BENCH_REDIS_URL",
    default="redis://127.0.0.1:6379/1",
    show_default=True,
    help="Flushed before each scenario (db 0 is refused).",
)
@click.option(
    "--seed-timeout", default=300.0, show_default=True, help="Seconds allowed for `app.py seed`."
)
@click.option(
    "--stripe",
    type=click.Choice(["localstripe", "test"]),
    default="localstripe",
    show_default=True,
    help="browse-paid: the payment provider the server talks to.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=RESULTS_DIR / "checkout.json",
    show_default=True,
)
def main(
    only: tuple[str, ...],
    buyers: int,
    units: int,
    processes: int,
    duration: float,
    warmup: float,
    concurrency: int,
    timeout: float,
    postgres_url: str,
    redis_url: str,
    seed_timeout: float,
    stripe: str,
    output: Path,
) -> None:
    """Checkout throughput (browse → cart → checkout) and the flash-sale race, on PostgreSQL."""
    scenarios = _selected(only)
    _check_counts(buyers=buyers, units=units, processes=processes, concurrency=concurrency)
    check_services(postgres_url, redis_url)
    opts = Options(
        buyers=buyers,
        units=units,
        processes=processes,
        duration=duration,
        warmup=warmup,
        concurrency=concurrency,
        timeout=timeout,
        postgres_url=postgres_url,
        redis_url=redis_url,
        seed_timeout=seed_timeout,
        stripe=stripe,
    )
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = datetime.now(UTC)
    results = asyncio.run(run_all(scenarios, opts))
    for r in results:
        click.echo()
        click.echo(browse_table(r, opts) if isinstance(r, BrowseResult) else flash_table(r))
    write_json(output, _document(opts, scenarios, started=started, results=results))
    click.echo(f"\nwrote {output}")
    failed = any(r.error for r in results)
    mismatch = any(isinstance(r, FlashResult) and r.consistent is False for r in results)
    if failed or mismatch:
        sys.exit(1)


if __name__ == "__main__":
    main()
