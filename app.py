"""Composition root: settings, wiring of adapters, the Starlette app and the command line.

python app.py serve      # migrate, (seed on first start with --seed-if-empty), serve
python app.py migrate    # apply database migrations
python app.py seed       # demo brand: catalog, stores, stock, prices, staff
python app.py seed-catalog --products N   # N generated products more (growth benchmarks)
python app.py import-catalog FILE.csv|FILE.json
python app.py create-owner EMAIL
python app.py export-schema [PATH]
python app.py reconcile --date YYYY-MM-DD [--channel web] [--location ID] [--out FILE]
python app.py worker     # background work only: relay, sweeps, payments, marketplace sync
python app.py marketplace sync CHANNEL [--full]   # push now (every SKU with --full)
python app.py marketplace import CHANNEL          # pull the marketplace's new orders now
python app.py marketplace demo    # the fake marketplaces + the server, wired
python app.py settlement close YYYY-MM [--csv DIR]   # the month's statements (DRAFT refreshed)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from adapters.db.database import (
    ReplicaReads,
    close_database,
    migrate_database,
    open_database,
)
from adapters.db.order_queries import TortoiseOrderQueries
from adapters.db.queries import TortoiseCatalogQueries
from adapters.db.unit_of_work import invalidating_units_of_work
from adapters.events import LogPublisher, RedisStreamPublisher
from adapters.kv import KeyValue, RedisKeyValue, open_key_value
from adapters.payments.setup import payment_gateway
from adapters.payments.terminal_fake import FakeCardTerminal
from adapters.security import Argon2PasswordHasher, JwtTokenSigner, SystemClock
from adapters.settings import Settings, public_base_url
from adapters.stock_counter import publishing_units_of_work
from adapters.web.auth import AuthMiddleware
from adapters.web.cache_policy import cacheable_operation
from adapters.web.http import GraphQLEndpoint, GraphQLHTTPConfig
from adapters.web.limits import BodySizeLimit
from adapters.web.marketplace_notifications import marketplace_notifications
from adapters.web.stripe_webhook import stripe_webhook
from adapters.web.test_payments import wallet_page_routes
from adapters.web.throttle import address_limits
from domain.contact import set_default_region
from domain.identity.model import ANONYMOUS
from domain.loyalty.services import expire_due
from domain.orders.services import release_expired
from domain.outbox import relay
from domain.payments.jobs import Round, run_due
from domain.payments.reconciliation import Report, daily_report, scheduled_day
from domain.ports import EventPublisher
from resolvers.context import Context, Loaders, Services
from schema.relay import parse_global_id
from schema.root import build_schema

log = logging.getLogger("o2o")
SCHEMA_FILE = Path(__file__).parent / "schema.graphql"
T = TypeVar("T")


def build_services(settings: Settings, kv: KeyValue | None = None) -> Services:
    """Wire the adapters behind the ports, once per process."""
    set_default_region(settings.phone_default_region)  # how national phone numbers read
    queries = TortoiseCatalogQueries()
    store = kv or open_key_value(settings.redis_url, change_marker=queries.change_marker)
    if settings.database_read_url:  # catalog reads outside transactions from the replica
        queries = cast(TortoiseCatalogQueries, ReplicaReads(queries))
    publisher: EventPublisher
    if isinstance(store, RedisKeyValue):
        publisher = RedisStreamPublisher(store.client)
    else:
        publisher = LogPublisher(show_notifications=not settings.production)
    gateway, provider = payment_gateway(settings)
    uow = publishing_units_of_work(
        invalidating_units_of_work(store, timezone=settings.reconcile_timezone), store
    )
    sync, events = None, None
    if settings.marketplaces:
        from adapters.marketplaces.worker import InProcessEvents, StreamEvents, build_sync

        client = store.client if isinstance(store, RedisKeyValue) else None
        sync = build_sync(
            settings.marketplaces,
            uow=uow,
            clock=SystemClock(),
            queries=queries,
            redis_client=client,
        )
        if sync is not None and client is not None:
            events = StreamEvents(client)
        elif sync is not None:
            publisher = events = InProcessEvents(publisher)
    return Services(
        settings=settings,
        uow=uow,
        publisher=publisher,
        queries=queries,
        orders=TortoiseOrderQueries(),
        kv=store,
        hasher=Argon2PasswordHasher(),
        signer=JwtTokenSigner(settings.secret_key),
        clock=SystemClock(),
        payments=gateway,
        payment_provider=provider,
        # the TEST card terminal outside production; in production cards are taken on the
        # stores' standalone terminals until a real terminal adapter is wired here
        terminal=None if settings.production else FakeCardTerminal(),
        marketplaces=sync,
        marketplace_events=events,
    )


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    manage_database: bool = True,
) -> Starlette:
    """The ASGI app: /graphql (GraphiQL in a browser), /healthz, /readyz."""
    settings = settings or Settings.from_env()
    services = services or build_services(settings)
    schema = build_schema(
        introspection=settings.introspection,
        field_suggestions=settings.field_suggestions,
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
    )
    endpoint = GraphQLEndpoint(
        schema,
        context_factory=_context_factory(services),
        cache=services.kv,
        config=GraphQLHTTPConfig(
            graphiql=settings.graphiql,
            cache_ttl_seconds=settings.cache_ttl_seconds,
            max_tokens=settings.max_tokens,
            max_variable_tokens=settings.max_variable_tokens,
            max_query_string_bytes=settings.max_body_bytes,
            compiled_execution=settings.compiled_execution,
        ),
        # shared answers only for anonymous callers, and only of the public catalog
        is_cacheable=lambda request, ctx: ctx.principal.is_anonymous,
        cache_policy=lambda document, operation, variables: cacheable_operation(
            document, operation, variables, type_of=lambda gid: parse_global_id(gid)[0]
        ),
        guard=address_limits(
            services.kv,
            {
                "memberCreate": ("signup", settings.signup_limit_per_hour, 3600),
                "attributionScan": ("scan", settings.scan_limit_per_minute, 60),
            },
        ),
    )
    app = Starlette(
        routes=[
            Route("/", _to_graphql),
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            Route("/healthz", _healthz),
            Route("/readyz", _readiness(services)),
            Route("/webhooks/stripe", _stripe_webhook(settings, services), methods=["POST"]),
            Route(
                "/marketplaces/{channel}/notifications",
                marketplace_notifications(services.marketplaces, services.uow),
                methods=["POST"],
            ),
            *_wallet_pages(settings, services),  # TEST MODE only: /test-payments/{intent_id}
        ],
        middleware=[
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
            Middleware(AuthMiddleware, services=lambda: services, paths=("/graphql",)),
        ],
        lifespan=_lifespan(settings, services, manage_database=manage_database),
    )
    app.state.services = services
    app.state.schema = schema
    return app


def _stripe_webhook(
    settings: Settings, services: Services
) -> Callable[[Request], Awaitable[Response]]:
    return stripe_webhook(
        uow=services.uow,
        clock=services.clock,
        secret=str(settings.stripe_webhook_secret),
        gateway=services.payments,
    )


def _wallet_pages(settings: Settings, services: Services) -> list[Route]:
    return wallet_page_routes(
        uow=services.uow,
        clock=services.clock,
        gateway=services.payments,
        provider=services.payment_provider,
        production=settings.production,
    )


def _context_factory(services: Services) -> Callable[[Request], Awaitable[Context]]:
    """Each request's context: who calls (set by the auth middleware) and fresh DataLoaders."""

    async def context_factory(request: Request) -> Context:
        return Context(
            services=services,
            principal=request.scope.get("state", {}).get("principal", ANONYMOUS),
            loaders=Loaders(services.queries),
            client=request.scope.get("state", {}).get("client", "unknown"),
        )

    return context_factory


async def _to_graphql(request: Request) -> Response:
    """The root sends browsers to GraphiQL."""
    return RedirectResponse("/graphql")


async def _healthz(request: Request) -> Response:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


def _readiness(services: Services) -> Callable[[Request], Awaitable[Response]]:
    """Readiness: the database and the key-value store answer (503 with the error's name if not)."""

    async def readyz(request: Request) -> Response:
        try:
            await services.queries.ping()
            await services.kv.ping()
        except Exception as error:  # readiness reports, it does not crash
            return JSONResponse({"status": "unavailable", "error": type(error).__name__}, 503)
        return JSONResponse({"status": "ready"})

    return readyz


def _lifespan(
    settings: Settings, services: Services, *, manage_database: bool
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """Open (and check) the database on start, run the background loops, close all on stop."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            await open_database(settings.database_url, read_url=settings.database_read_url)
            await services.queries.ping()  # fail at start, not at the first request
            await services.kv.ping()
        background = []
        if manage_database and settings.reservation_sweep_seconds > 0:
            background.append(asyncio.create_task(sweep_reservations(services)))
        if manage_database and settings.outbox_relay_seconds > 0:
            background.append(asyncio.create_task(relay_outbox(services)))
        if manage_database and settings.payment_sweep_seconds > 0:
            background.append(asyncio.create_task(sweep_payments(services)))
            background.append(asyncio.create_task(reconcile_daily(services)))
            background.append(asyncio.create_task(build_clienteling_daily(services)))
        if manage_database and services.marketplaces is not None:
            background.append(asyncio.create_task(sync_marketplaces(services)))
        if manage_database and isinstance(services.kv, RedisKeyValue):
            background.append(asyncio.create_task(report_rollup(services)))
        settle_heap()
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            if services.marketplaces is not None:
                await services.marketplaces.aclose()
            await services.kv.close()
            if manage_database:
                await close_database()

    return lifespan


def settle_heap() -> None:
    """Put what start-up made (modules, the schema, ORM metadata: ~140,000 objects) out of the
    garbage collector's reach. Otherwise every full collection walks all of it again, ~150 ms
    on a loaded 2-core machine, about once a second under load: every request in flight
    stalls (the cached page's p99 was 10x its p50). Objects made later are collected as usual."""
    gc.collect()
    gc.freeze()


async def sweep_reservations(services: Services, *, forever: bool = True) -> None:
    """Release reservations of unpaid orders that expired (every few seconds, in every process:
    the order row lock makes two sweepers harmless)."""
    while True:
        try:
            released = await release_expired(services.uow, clock=services.clock)
            if released:
                log.info("released the reservations of %d expired orders", released)
            expired = await expire_due(services.uow, clock=services.clock)
            if expired:
                log.info("recorded expired points of %d members", expired)
        except Exception:  # a sweep failure must not kill the server; the next one retries
            log.exception("reservation sweep failed")
        if not forever:
            return
        await asyncio.sleep(services.settings.reservation_sweep_seconds)


async def relay_outbox(services: Services, *, forever: bool = True) -> None:
    """Publish committed outbox events (every second, in every process: rows are taken with
    SKIP LOCKED, so relays never publish one event twice)."""
    while True:
        try:
            while await relay(services.uow, services.publisher, clock=services.clock) > 0:
                pass
        except Exception:  # the next round retries; events stay in the outbox until published
            log.exception("outbox relay failed")
        if not forever:
            return
        await asyncio.sleep(services.settings.outbox_relay_seconds)


async def sync_marketplaces(services: Services, *, forever: bool = True) -> None:
    """The marketplace worker: stock and prices out, orders in, calls owed (see
    adapters/marketplaces/sync.py); every process may run it (rows are leased and locked)."""
    from adapters.marketplaces.worker import run_sync

    settings = services.settings
    await run_sync(
        services.marketplaces,
        services.marketplace_events,
        push_seconds=settings.marketplace_push_seconds,
        import_seconds=settings.marketplace_import_seconds,
        forever=forever,
    )


async def sweep_payments(services: Services, *, forever: bool = True) -> None:
    """The payment worker: lost provider answers recovered, refunds sent, holds released
    (every few seconds, in every process: rows are locked, keys derived from the order)."""
    while True:
        try:
            done = await run_due(services.uow, services.payments, clock=services.clock)
            if done != Round():
                log.info("payments: %s", done)
        except Exception:  # the next round retries; the rows stay due until done
            log.exception("payment sweep failed")
        if not forever:
            return
        await asyncio.sleep(services.settings.payment_sweep_seconds)


RECONCILE_CHECK_SECONDS = 300.0


async def reconciliation_report(
    services: Services, *, day: date, channel: str | None = None, location_id: int | None = None
) -> Report:
    """The day's payment reconciliation, brand-wide or for one channel / store."""
    from adapters.db.reconciliation_queries import TortoiseReconciliationQueries

    return await daily_report(
        services.uow,
        services.payments,
        queries=TortoiseReconciliationQueries(),
        day=day,
        tz=services.settings.reconcile_timezone,
        channel=channel,
        location_id=location_id,
    )


async def reconcile_daily(services: Services, *, forever: bool = True) -> None:
    """Write yesterday's reconciliation CSV to {DATA_DIR}/reconciliation/ once the brand's
    clock passed RECONCILE_HOUR (every few minutes, in every process: a lock file and a
    no-replace link write each day's file once)."""
    from adapters.reconciliation_csv import daily_path, to_csv, write_once

    settings = services.settings
    while True:
        try:
            day = scheduled_day(
                services.clock.now(), tz=settings.reconcile_timezone, hour=settings.reconcile_hour
            )
            path = daily_path(settings.data_dir, day.isoformat())

            async def render(day: date = day) -> str:
                return to_csv(await reconciliation_report(services, day=day))

            if await write_once(path, render):
                log.info("wrote the reconciliation of %s to %s", day, path)
        except Exception:  # the next check retries; the file is written whole or not at all
            log.exception("scheduled reconciliation failed")
        if not forever:
            return
        await asyncio.sleep(RECONCILE_CHECK_SECONDS)


async def build_clienteling_daily(services: Services, *, forever: bool = True) -> None:
    """Build each clerk's clienteling tasks for the brand's day (checked every few minutes, in
    every process: a day's tasks are unique per clerk, member and kind, a rerun adds nothing)."""
    from zoneinfo import ZoneInfo

    from domain.clienteling.services import build_tasks

    tz = services.settings.reconcile_timezone
    built: date | None = None
    while True:
        try:
            day = services.clock.now().astimezone(ZoneInfo(tz)).date()
            if day != built:
                added = await build_tasks(services.uow, day=day, tz=tz)
                built = day
                log.info("clienteling: %s tasks for %s", added, day)
        except Exception:  # the next check retries
            log.exception("clienteling tasks failed")
        if not forever:
            return
        await asyncio.sleep(RECONCILE_CHECK_SECONDS)


def export_schema() -> str:
    """The SDL of the schema, as kept in schema.graphql."""
    return build_schema().as_str() + "\n"


# ---------------------------------------------------------------- command line


@click.group()
def cli() -> None:
    """O2O commerce gateway."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # every marketplace call otherwise


def run_with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Migrate, run ``work``, and always close the pools: a failure exits instead of hanging
    on the database driver's threads."""

    async def run() -> T:
        try:
            await migrate_database(settings.database_url)
            await close_database()
            await open_database(settings.database_url)
            return await work()
        finally:
            await close_database()

    return asyncio.run(run())


@cli.command()
def migrate() -> None:
    """Apply every pending database migration (existing data is kept)."""

    async def nothing() -> None:
        return None

    run_with_database(Settings.from_env(), nothing)
    click.echo("migrations applied")


@cli.command()
@click.option("--name", default=None, help="A name for the migration file.")
def makemigrations(name: str | None) -> None:
    """Write a migration for model changes (developers; commit the new file)."""
    from tortoise.cli.cli import main as tortoise_main

    sys.argv = ["tortoise", "-c", "adapters.db.database.MIGRATIONS_CONFIG", "makemigrations"]
    sys.argv += ["--name", name] if name else []
    tortoise_main()


@cli.command()
@click.option("--host", envvar="HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PORT", default=8000, type=int, show_default=True)
@click.option("--workers", envvar="WORKERS", default=1, type=int, show_default=True)
@click.option("--seed-if-empty", is_flag=True, help="Seed the demo brand into an empty database.")
def serve(host: str, port: int, workers: int, seed_if_empty: bool) -> None:
    """Migrate, optionally seed, then serve the API with uvicorn."""
    import uvicorn

    # TEST MODE wallet pages link to the server itself (uvicorn's processes read the env)
    os.environ.setdefault("PUBLIC_BASE_URL", public_base_url(host, port))
    settings = Settings.from_env()
    check_workers(settings, workers)

    async def prepare() -> None:
        if seed_if_empty:
            from adapters.db.seed import seed_if_database_empty

            await seed_if_database_empty(settings)

    run_with_database(settings, prepare)
    click.echo(f"GraphQL API on http://{host}:{port}/graphql (GraphiQL in a browser)")
    uvicorn.run(
        "app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse several serving processes on the embedded SQLite file (one writer at a time:
    they would answer "database is locked"); PostgreSQL serves any number."""
    if workers < 1:
        raise click.UsageError("--workers is at least 1")
    if workers > 1 and settings.embedded_database:
        raise click.UsageError(
            f"--workers {workers} needs PostgreSQL: the embedded SQLite database takes one "
            "writer at a time. Serve with --workers 1, or set DATABASE_URL to a PostgreSQL "
            "database (and REDIS_URL, so the processes share cache and rate limits)."
        )


@cli.command()
def seed() -> None:
    """Create the demo brand (refuses to run twice on the same database)."""
    from adapters.db.seed import seed_demo

    settings = Settings.from_env()
    run_with_database(settings, lambda: seed_demo(settings))


@cli.command("seed-catalog")
@click.option("--products", type=int, required=True, help="How many products to add.")
@click.option("--batch", type=int, default=5000, show_default=True, help="Products per batch.")
@click.option(
    "--jobs", type=int, default=2, show_default=True, help="Batches at once (PostgreSQL)."
)
def seed_catalog(products: int, batch: int, jobs: int) -> None:
    """Add N generated products (3 variants, prices, stock) to the demo: growth benchmarks."""
    from tqdm import tqdm

    from adapters.db.bulk_seed import seed_catalog as run

    with tqdm(total=products, desc="products", unit="product", unit_scale=True) as bar:
        run_with_database(
            Settings.from_env(), lambda: run(products, batch=batch, jobs=jobs, progress=bar.update)
        )


@cli.command()
def audit() -> None:
    """Check every ledger against what it explains; exit 1 on any difference."""
    from tqdm import tqdm

    from adapters.db.audit import CHECKS
    from adapters.db.audit import audit as run_audit

    settings = Settings.from_env()
    with tqdm(total=len(CHECKS), desc="audit", unit="ledger") as bar:
        found = run_with_database(settings, lambda: run_audit(lambda _name: bar.update()))
    for d in found:
        click.echo(f"{d.ledger}: {d.subject}: {d.detail}")
    click.echo(f"{len(found)} differences")
    sys.exit(1 if found else 0)


@cli.command()
def worker() -> None:
    """Background work without serving: reservation sweeper, outbox relay, payment jobs."""
    settings = Settings.from_env()

    async def work() -> None:
        services = build_services(settings)
        await asyncio.gather(
            sweep_reservations(services),
            relay_outbox(services),
            sweep_payments(services),
            reconcile_daily(services),
            build_clienteling_daily(services),
            *([sync_marketplaces(services)] if services.marketplaces is not None else []),
            *([report_rollup(services)] if isinstance(services.kv, RedisKeyValue) else []),
        )

    run_with_database(settings, work)


async def report_rollup(services: Services) -> None:
    """The reports' rollup kept current from the order events (adapters/report_events.py)."""
    from adapters.report_events import run_rollup

    assert isinstance(services.kv, RedisKeyValue)
    await run_rollup(services.kv.client, tz=services.settings.reconcile_timezone)


@cli.group()
def reports() -> None:
    """The performance reports' rollup."""


@reports.command("rebuild")
@click.option("--from", "first", default=None, help="The first month to rebuild (YYYY-MM).")
def reports_rebuild(first: str | None) -> None:
    """Compute the reports' rollup from the orders (all months, or from --from on); the
    worker keeps it current from the order events afterwards (needs REDIS_URL)."""
    from tqdm import tqdm

    from adapters.db.report_rollup import rebuild
    from adapters.report_events import report_events

    settings = Settings.from_env()
    if first is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", first):
        raise click.UsageError("--from is YYYY-MM")

    async def work() -> int:
        services = build_services(settings)
        try:
            if not isinstance(services.kv, RedisKeyValue):
                raise click.UsageError(
                    "the rollup is kept current by the worker from the event stream: set REDIS_URL"
                )
            await report_events(services.kv.client)._group()  # events from now on are kept
            with tqdm(desc="months", unit="month") as bar:
                return await rebuild(
                    tz=settings.reconcile_timezone, first_month=first, progress=bar.update
                )
        finally:
            await services.kv.close()

    done = run_with_database(settings, work)
    click.echo(f"{done} orders read; reports read whole months from the rollup")


@cli.command()
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--channel", default=None, help="A channel handle (default: every channel).")
@click.option("--location", "location_id", type=int, default=None, help="A location id.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="CSV file."
)
def reconcile(
    day: datetime, channel: str | None, location_id: int | None, out: Path | None
) -> None:
    """The day's payment reconciliation as CSV (kind,scope,metric,value; see
    adapters/reconciliation_csv.py); exit 1 when anything disagrees."""
    from adapters.reconciliation_csv import to_csv

    settings = Settings.from_env()

    async def work() -> Report:
        services = build_services(settings)
        try:
            return await reconciliation_report(
                services, day=day.date(), channel=channel, location_id=location_id
            )
        finally:
            await services.kv.close()

    report = run_with_database(settings, work)
    text = to_csv(report)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}: {len(report.mismatches)} mismatches", err=True)
    sys.exit(1 if report.mismatches else 0)


@cli.command("import-catalog")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_catalog_command(path: Path) -> None:
    """Bulk import products from CSV or JSON; bad rows are reported, good rows kept."""
    from adapters.db.importer import import_file

    settings = Settings.from_env()
    report = run_with_database(settings, lambda: import_file(path, settings=settings))
    for problem in report.problems:
        click.echo(f"row {problem.row}: {problem.field}: {problem.message}", err=True)
    click.echo(f"imported {report.imported} products, {len(report.problems)} rows rejected")
    sys.exit(0 if report.imported or not report.problems else 1)


@cli.command("create-owner")
@click.argument("email")
@click.password_option()
def create_owner(email: str, password: str) -> None:
    """Create the first owner account of a new installation."""
    from adapters.db.seed import create_staff_account

    run_with_database(
        Settings.from_env(),
        lambda: create_staff_account(email=email, password=password, role="OWNER", location_ids=[]),
    )
    click.echo(f"owner {email} created")


@cli.group()
def marketplace() -> None:
    """Marketplace accounts (MARKETPLACES): push listings, import orders, the local demo."""


def _marketplace_services(settings: Settings, channel: str) -> Services:
    services = build_services(settings)
    if services.marketplaces is None or channel not in services.marketplaces.adapters:
        configured = sorted(services.marketplaces.adapters) if services.marketplaces else []
        raise click.UsageError(
            f"no marketplace account for channel {channel!r} in MARKETPLACES "
            f"(configured: {', '.join(configured) or 'none'})"
        )
    return services


@marketplace.command("sync")
@click.argument("channel")
@click.option("--full", is_flag=True, help="Push every SKU, even those the marketplace has.")
def marketplace_sync(channel: str, full: bool) -> None:
    """Push the channel's waiting changes now (every SKU through the bulk feed with --full),
    then make the calls owed to the marketplace."""
    from tqdm import tqdm

    settings = Settings.from_env()

    async def work() -> tuple[object, int]:
        services = _marketplace_services(settings, channel)
        sync = services.marketplaces
        try:
            await sync.mark([await sync.channel(channel)], None)  # every SKU, once
            with tqdm(total=await sync.dirty_count(channel), desc=channel, unit="SKU") as bar:
                report = await sync.full_push(channel, progress=bar.update, force=full, mark=False)
            await sync.owe_refunds()
            return report, await sync.run_actions()
        finally:
            await sync.aclose()
            await services.kv.close()

    report, calls = run_with_database(settings, work)
    r = cast(Any, report)
    click.echo(
        f"{channel}: this run pushed {r.pushed}, found {r.unchanged} unchanged, had {r.rejected}"
        f" refused and {r.failed} failed (other workers push the rest); {calls} calls made"
    )
    sys.exit(1 if r.failed else 0)


@marketplace.command("import")
@click.argument("channel")
def marketplace_import(channel: str) -> None:
    """Pull the channel's new and changed marketplace orders now and place them."""
    settings = Settings.from_env()

    async def work() -> dict[str, int]:
        services = _marketplace_services(settings, channel)
        try:
            return await services.marketplaces.import_orders(channel)
        finally:
            await services.marketplaces.aclose()
            await services.kv.close()

    counts = run_with_database(settings, work)
    click.echo(
        f"{channel}: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing new")
    )


@marketplace.command("demo")
@click.option("--host", envvar="HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PORT", default=8000, type=int, show_default=True)
def marketplace_demo(host: str, port: int) -> None:
    """The demo with fake Amazon, Walmart and eBay on ports 8101-8103: seeds on first start,
    creates the channels' listings there, and serves the API with the accounts wired."""
    import uvicorn

    from adapters.db import models as m
    from adapters.db.seed import seed_if_database_empty
    from adapters.marketplaces.demo import PORTS, accounts, running_fakes

    os.environ.setdefault("PUBLIC_BASE_URL", public_base_url(host, port))
    os.environ.setdefault("MARKETPLACE_IMPORT_SECONDS", "5")
    settings = Settings.from_env()

    async def prepare() -> list[str]:
        await seed_if_database_empty(settings)
        return list(await m.Variant.filter(archived=False).values_list("sku", flat=True))

    skus = run_with_database(settings, prepare)
    server = f"http://{host}:{port}"
    with running_fakes(skus, server_url=server, ports=PORTS) as fakes:
        os.environ["MARKETPLACES"] = accounts(fakes)
        for f in fakes:
            click.echo(
                f"fake {f.name}: {f.base_url} (channel {f.channel}; its listings: "
                f"{f.base_url}/_fake/listings, new order: POST {f.base_url}/_fake/orders)"
            )
        click.echo(f"GraphQL API on {server}/graphql (GraphiQL in a browser)")
        uvicorn.run("app:create_app", factory=True, host=host, port=port, log_level="info")


@cli.group()
def settlement() -> None:
    """Statements of clerks, stores, partner venues and franchisees, per month."""


async def close_settlement(
    services: Services,
    period: str,
    *,
    progress: Callable[[int], object] | None = None,
    on_total: Callable[[int], object] | None = None,
) -> list[Any]:
    """Close a month (every beneficiary's DRAFT statement created or refreshed; approved ones
    kept); answers the month's statements with their lines."""
    from domain.settlement import services as settle

    report = await settle.close_period(
        services.uow,
        None,
        period=period,
        tz=services.settings.reconcile_timezone,
        progress=progress,
        on_total=on_total,
    )
    async with services.uow() as uow:
        found = await uow.settlement.statements(period=report.period, kind=None, ids=None)
    return await settle.with_lines(services.uow, found)


def write_statement_csvs(views: list[Any], csv_dir: Path) -> list[Path]:
    """One CSV file per statement (the same text as the GraphQL field ``Statement.csv``)."""
    from domain.settlement.model import csv_file_name, statement_csv

    csv_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for view in views:
        path = csv_dir / csv_file_name(view.statement)
        path.write_text(statement_csv(view.statement, view.lines), encoding="utf-8")
        written.append(path)
    return written


@settlement.command("close")
@click.argument("period")
@click.option(
    "--csv",
    "csv_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write each statement of the month as CSV into this directory.",
)
def settlement_close(period: str, csv_dir: Path | None) -> None:
    """Create or refresh the month's (YYYY-MM) DRAFT statements; approved ones stay locked."""
    from tqdm import tqdm

    from domain.errors import DomainError
    from domain.money import Money

    settings = Settings.from_env()
    bar = tqdm(desc=f"settlement {period}", unit="statement")

    async def work() -> list[Any]:
        services = build_services(settings)
        try:
            return await close_settlement(
                services,
                period,
                progress=bar.update,
                on_total=lambda n: setattr(bar, "total", n),
            )
        finally:
            await services.kv.close()

    try:
        views = run_with_database(settings, work)
    except DomainError as error:
        raise click.UsageError(error.message) from error
    finally:
        bar.close()
    for v in views:
        s = v.statement
        total = Money(s.total, s.currency).to_decimal_string()
        click.echo(
            f"{s.period} {s.beneficiary_kind} {s.beneficiary_id}: {s.state.value} "
            f"{total} {s.currency} ({len(v.lines)} lines)"
        )
    if csv_dir is not None:
        written = write_statement_csvs(views, csv_dir)
        plural = "" if len(written) == 1 else "s"
        click.echo(f"wrote {len(written)} CSV file{plural} to {csv_dir}")


@cli.command("export-schema")
@click.argument("path", required=False, type=click.Path(path_type=Path), default=SCHEMA_FILE)
def export_schema_command(path: Path) -> None:
    """Write the SDL to schema.graphql (a test keeps it equal to the code)."""
    path.write_text(export_schema())
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    cli()
