"""The performance reports on a year of orders: 1,000,000 orders (with their attributions,
the members' bindings, commission entries and clerks' tasks) written with COPY into a scratch
PostgreSQL database, then each report timed through the use case and its SQL adapter.

    .venv/bin/python bench/settlement_reports.py            # ~3 minutes
    .venv/bin/python bench/settlement_reports.py --orders 100000 --runs 3

The database (default postgres://postgres@127.0.0.1:5432/bench_report, or BENCH_DATABASE_URL)
is DROPPED and recreated on every run. Results: bench/results/settlement_reports.json.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.db.database import close_database, migrate_database, open_database
from adapters.db.report_queries import TortoisePerformanceQueries
from adapters.db.unit_of_work import TortoiseUnitOfWork
from bench.common import recreate_database, results_document, write_json
from domain.identity.model import Principal, PrincipalKind, Role
from domain.reports.services import performance

RESULTS = Path(__file__).parent / "results" / "settlement_reports.json"
STORES = 40
CLERKS_PER_STORE = 10
FIRST = datetime(2025, 12, 1, tzinfo=UTC)
DAYS = 365
TZ = "Europe/Paris"

# the indexes requested for migration 0011 (the same statements)
REPORT_INDEXES = [
    'CREATE INDEX IF NOT EXISTS order_report_location ON "order" (attributed_location_id, '
    "created_at) INCLUDE (id, status, source, currency, total, refunded_total, member_id)",
    'CREATE INDEX IF NOT EXISTS order_report_staff ON "order" (attributed_staff_id, created_at) '
    "INCLUDE (id, status, source, currency, total, refunded_total, member_id)",
    'CREATE INDEX IF NOT EXISTS order_report_channel ON "order" (channel_id, created_at) '
    "INCLUDE (id, status, source, currency, total, refunded_total, member_id)",
    'CREATE INDEX IF NOT EXISTS order_report_created ON "order" (created_at) '
    "INCLUDE (id, status, source, currency, total, refunded_total, member_id, channel_id)",
    'CREATE INDEX IF NOT EXISTS order_report_id ON "order" (id) '
    "INCLUDE (created_at, status, source, currency, total, refunded_total, member_id)",
    "CREATE INDEX IF NOT EXISTS order_attribution_role_location ON order_attribution "
    "(role, location_id, order_id)",
    "CREATE INDEX IF NOT EXISTS order_attribution_role_staff ON order_attribution "
    "(role, staff_id, order_id)",
    "CREATE INDEX IF NOT EXISTS order_attribution_order_role ON order_attribution (order_id, role)",
    "CREATE INDEX IF NOT EXISTS commission_entry_report ON commission_entry (period, at) "
    "INCLUDE (order_id, amount, currency)",
    "CREATE INDEX IF NOT EXISTS commission_entry_beneficiary_report ON commission_entry "
    "(beneficiary_kind, beneficiary_id, period, at) INCLUDE (amount, currency)",
    "CREATE INDEX IF NOT EXISTS member_binding_location_bound ON member_binding "
    "(location_id, bound_at)",
    "CREATE INDEX IF NOT EXISTS member_binding_staff_bound ON member_binding (staff_id, bound_at)",
]


def _stores() -> range:
    return range(2, 2 + STORES)  # location 1 is the warehouse


def _clerks(store: int) -> list[int]:
    """Staff ids of a store's clerks (1 is the owner, then a manager and clerks per store)."""
    base = 2 + (store - 2) * (CLERKS_PER_STORE + 1)
    return list(range(base + 1, base + 1 + CLERKS_PER_STORE))


async def generate(
    conn: asyncpg.Connection, *, orders: int, members: int, seed: int
) -> dict[str, int]:
    """Write the brand, its year of orders and what hangs on them; the row counts."""
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        "location",
        columns=["id", "handle", "name", "kind", "address", "opening_hours", "pickup_enabled",
                 "active", "created_at", "updated_at"],
        records=[(1, "warehouse", "Warehouse", "WAREHOUSE", "{}", "[]", False, True, now, now)]
        + [(s, f"store-{s}", f"Store {s}", "STORE", "{}", "[]", True, True, now, now)
           for s in _stores()],
    )  # fmt: skip
    channels = [
        (1, "web", "WEB", None),
        (2, "app", "APP", None),
        (3, "marketplace", "MARKETPLACE", None),
    ]
    channels += [(10 + s, f"till-{s}", "STORE", s) for s in _stores()]
    await conn.copy_records_to_table(
        "channel",
        columns=["id", "handle", "name", "kind", "currency", "store_id", "allocation_share_percent",
                 "allocation_buffer", "prices_include_tax", "tax_rate_bp", "shipping_fee",
                 "local_delivery_fee", "created_at", "updated_at"],
        records=[(i, h, h, k, "EUR", s, 100, 0, True, 2000, 490, 290, now, now)
                 for i, h, k, s in channels],
    )  # fmt: skip
    staff = [(1, "owner@bench", "OWNER", "[]")]
    for s in _stores():
        staff.append((_clerks(s)[0] - 1, f"manager{s}@bench", "STORE_MANAGER", f"[{s}]"))
        staff += [(c, f"clerk{c}@bench", "CLERK", f"[{s}]") for c in _clerks(s)]
    await conn.copy_records_to_table(
        "staff_user",
        columns=["id", "email", "name", "password_hash", "role", "location_ids", "active",
                 "token_version", "created_at", "updated_at"],
        records=[(i, e, e, "x", r, loc, True, 0, now, now) for i, e, r, loc in staff],
    )  # fmt: skip
    # codes: one per store (id = store) and one per clerk (id = 1000 + staff id)
    codes = [(s, f"REF-S{s}", "STORE", s, None) for s in _stores()]
    codes += [(1000 + c, f"REF-C{c}", "CLERK", s, c) for s in _stores() for c in _clerks(s)]
    await conn.copy_records_to_table(
        "attribution_code",
        columns=["id", "code", "kind", "name", "location_id", "staff_id", "landing_path", "active",
                 "created_by", "created_at"],
        records=[(i, c, k, "", loc, st, "/", True, "bench", now) for i, c, k, loc, st in codes],
    )  # fmt: skip

    # members: 80% bound to a store (and a clerk), by sign-up, scan or at the till
    bound: dict[int, tuple[int, int | None]] = {}
    bindings = []
    for member in range(1, members + 1):
        if rnd.random() >= 0.8:
            continue
        store = rnd.choice(_stores())
        clerk = rnd.choice(_clerks(store)) if rnd.random() < 0.7 else None
        source = rnd.choice(("SIGNUP", "SCAN", "TILL")) if clerk else rnd.choice(("SIGNUP", "SCAN"))
        code = None if source == "TILL" else (1000 + clerk if clerk else store)
        at = FIRST - timedelta(days=200) + timedelta(seconds=rnd.randrange((DAYS + 200) * 86_400))
        bound[member] = (store, clerk)
        bindings.append((member, member, store, clerk, source, code, "", at, None))
    await conn.copy_records_to_table(
        "member_binding",
        columns=["id", "member_id", "location_id", "staff_id", "source", "code_id", "rule",
                 "bound_at", "expires_at"],
        records=bindings,
    )  # fmt: skip

    order_rows: list[tuple[Any, ...]] = []
    attributions: list[tuple[Any, ...]] = []
    entries: list[tuple[Any, ...]] = []
    online = ((1, "web", "WEB"), (2, "app", "APP"), (3, "marketplace", "MARKETPLACE"))
    for oid in range(1, orders + 1):
        at = FIRST + timedelta(seconds=rnd.randrange(DAYS * 86_400))
        member = rnd.randint(1, members) if rnd.random() < 0.7 else None
        total = rnd.randint(1_000, 30_000)
        refunded = total // 2 if rnd.random() < 0.05 else 0
        status = "COMPLETED" if rnd.random() < 0.9 else rnd.choice(("PAID", "CANCELLED"))
        roles: list[tuple[str, int | None, int | None]] = []
        if rnd.random() < 0.45:  # a till sale
            store = rnd.choice(_stores())
            clerk = rnd.choice(_clerks(store))
            channel, handle, source = 10 + store, f"till-{store}", "STORE_TILL"
            location, staff_id = store, clerk
            roles += [("SELLING_STORE", store, None), ("SELLING_CLERK", None, clerk)]
        else:
            channel, handle, kind = rnd.choice(online)
            source = kind if kind != "MARKETPLACE" else "MARKETPLACE"
            location = rnd.choice(_stores()) if rnd.random() < 0.2 else None  # a pick-up
            staff_id = None
            if location is not None:
                roles.append(("FULFILLING_STORE", location, None))
        if member in bound:
            b_store, b_clerk = bound[member]
            roles.append(("REFERRING_STORE", b_store, None))
            if b_clerk is not None:
                roles.append(("BOUND_CLERK", None, b_clerk))
        order_rows.append((
            oid, f"B{oid}", channel, handle, source, status, "PAID", "EUR", total, 0, 0, total,
            refunded, "{}", member, "{}", "{}", "[]", location, staff_id, f"t{oid}", 0, "[]",
            0, 0, 0, at, at,
        ))  # fmt: skip
        for role, loc, st in roles:
            attributions.append((len(attributions) + 1, oid, role, loc, st, None, None, "", at))
            if status != "COMPLETED" or (role == "FULFILLING_STORE" and rnd.random() < 0.5):
                continue
            kind_, who = ("STAFF", st) if st is not None else ("LOCATION", loc)
            amount = (total * 300 + 5_000) // 10_000
            done = at + timedelta(days=rnd.randint(0, 5))
            period = done.strftime("%Y-%m")
            entries.append((len(entries) + 1, oid, None, role, kind_, who, None, "ACCRUAL", total,
                            amount, "EUR", None, period, done, None))  # fmt: skip
    await conn.copy_records_to_table(
        "order",
        columns=["id", "number", "channel_id", "channel_handle", "source", "status",
                 "payment_status", "currency", "subtotal", "delivery_total", "tax_total", "total",
                 "refunded_total", "buyer", "member_id", "delivery", "routing", "location_ids",
                 "attributed_location_id", "attributed_staff_id", "access_token",
                 "discount_total", "discounts", "points_earned", "points_redeemed",
                 "points_value", "created_at", "updated_at"],
        records=order_rows,
    )  # fmt: skip
    await conn.copy_records_to_table(
        "order_attribution",
        columns=["id", "order_id", "role", "location_id", "staff_id", "code_id", "franchisee_id",
                 "rule", "created_at"],
        records=attributions,
    )  # fmt: skip
    await conn.copy_records_to_table(
        "commission_entry",
        columns=["id", "order_id", "order_line_id", "role", "beneficiary_kind", "beneficiary_id",
                 "rule_id", "kind", "base_amount", "amount", "currency", "return_id", "period",
                 "at", "statement_id"],
        records=entries,
    )  # fmt: skip
    # clienteling: each clerk about 2 tasks a day, 60% done
    tasks = []
    clerks = [c for s in _stores() for c in _clerks(s)]
    for d in range(DAYS):
        day = (FIRST + timedelta(days=d)).date()
        for clerk in clerks:
            for k, kind in enumerate(("CHURN_RISK", "BACK_IN_STOCK")):
                done = rnd.random() < 0.6
                state, action = ("DONE", "CALL") if done else ("OPEN", None)
                tasks.append(
                    (len(tasks) + 1, clerk, clerk * 10 + k, kind, "", day, state, action, None)
                )
    await conn.copy_records_to_table(
        "clienteling_task",
        columns=["id", "staff_id", "member_id", "kind", "reason", "day", "state", "action",
                 "done_at"],
        records=tasks,
    )  # fmt: skip
    await add_indexes(conn)
    return {
        "orders": len(order_rows),
        "order_attribution": len(attributions),
        "commission_entry": len(entries),
        "member_binding": len(bindings),
        "clienteling_task": len(tasks),
    }


YEAR = {"first": date(2025, 12, 1), "last": date(2026, 11, 30)}


async def add_indexes(conn: asyncpg.Connection) -> None:
    """The report indexes (as migration 0011 will create them), then fresh statistics and a
    visibility map (index-only scans)."""
    for statement in REPORT_INDEXES:
        await conn.execute(statement)
    await conn.execute("VACUUM ANALYZE")


ROLLUP = {"rebuild_seconds": 0.0}


async def rollup(postgres_url: str, *, again: bool) -> None:
    """The reports' rollup from the orders, as `app.py reports rebuild` makes it (when
    ``again`` or never built), then fresh statistics and visibility map of its tables."""
    from tqdm import tqdm

    from adapters.db.report_rollup import rebuild

    conn = await asyncpg.connect(postgres_url)
    try:
        built = await conn.fetchval("SELECT count(*) FROM report_rollup_state")
        if again or not built:
            started = time.perf_counter()
            with tqdm(desc="rollup", unit="month") as bar:
                await rebuild(tz=TZ, progress=bar.update)
            ROLLUP["rebuild_seconds"] = round(time.perf_counter() - started, 1)
            click.echo(f"rollup rebuilt in {ROLLUP['rebuild_seconds']} s")
        await conn.execute("VACUUM ANALYZE report_member_month")
        await conn.execute("VACUUM ANALYZE report_order")
    finally:
        await conn.close()


REPORTS: list[tuple[str, dict[str, Any]]] = [
    ("store, a month", {"store_id": 7, "month": "2026-06"}),
    ("store, the year", {"store_id": 7, **YEAR}),
    ("clerk, a month", {"staff_id": _clerks(7)[3], "month": "2026-06"}),
    ("clerk, the year", {"staff_id": _clerks(7)[3], **YEAR}),
    ("store till channel, a month", {"channel": "till-7", "month": "2026-06"}),
    ("web channel, a month", {"channel": "web", "month": "2026-06"}),
    ("web channel, the year", {"channel": "web", **YEAR}),
    ("brand, a month", {"month": "2026-06"}),
    ("brand, the year", YEAR),
]  # fmt: skip


async def time_reports(runs: int) -> list[dict[str, Any]]:
    """Each report ``runs`` times through the use case (the owner: no scope refused)."""
    owner = Principal(kind=PrincipalKind.STAFF, subject="staff:1", role=Role.OWNER)
    queries = TortoisePerformanceQueries()
    results = []
    for name, scope in REPORTS:
        args: dict[str, Any] = {"store_id": None, "staff_id": None, "channel": None,
                                "month": None, "first": None, "last": None, **scope}  # fmt: skip
        seconds = []
        report = None
        for _ in range(runs):
            started = time.perf_counter()
            report = await performance(
                TortoiseUnitOfWork, queries, owner, currency="EUR", tz=TZ, **args
            )
            seconds.append(time.perf_counter() - started)
        assert report is not None
        seconds.sort()
        results.append({
            "report": name,
            "p50_ms": round(statistics.median(seconds) * 1000, 1),
            "max_ms": round(seconds[-1] * 1000, 1),
            "runs": runs,
            "orders": report.sales.orders,
            "online_influenced": report.online_influenced.orders,
            "members_acquired": report.members_acquired,
            "commission": report.commission,
            "tasks_done": report.tasks_done,
        })  # fmt: skip
        click.echo(
            f"{name:32} p50 {results[-1]['p50_ms']:8.1f} ms  max {results[-1]['max_ms']:8.1f} ms"
            f"  ({report.sales.orders} orders, {report.online_influenced.orders} influenced)"
        )
    return results


@click.command()
@click.option("--postgres-url", envvar="BENCH_DATABASE_URL",
              default="postgres://postgres@127.0.0.1:5432/bench_report")  # fmt: skip
@click.option("--orders", default=1_000_000, show_default=True)
@click.option("--members", default=200_000, show_default=True)
@click.option("--runs", default=7, show_default=True, help="Timed runs of each report.")
@click.option("--seed", default=13, show_default=True)
@click.option("--reuse", is_flag=True, help="Time the reports on the data already generated.")
@click.option("--rebuild", "rebuild_again", is_flag=True,
              help="With --reuse: rebuild the rollup again.")  # fmt: skip
def main(
    postgres_url: str, orders: int, members: int, runs: int, seed: int, reuse: bool,
    rebuild_again: bool,
) -> None:  # fmt: skip
    """Generate a year of orders and time every performance report."""
    started = datetime.now(UTC)

    async def run() -> tuple[dict[str, int], float, list[dict[str, Any]]]:
        t0 = time.perf_counter()
        if not reuse:
            await recreate_database(postgres_url)
            await migrate_database(postgres_url)
        conn = await asyncpg.connect(postgres_url)
        try:
            if reuse:
                await add_indexes(conn)
                tables = ("order", "order_attribution", "commission_entry", "member_binding",
                          "clienteling_task")  # fmt: skip
                counts = {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}
            else:
                counts = await generate(conn, orders=orders, members=members, seed=seed)
        finally:
            await conn.close()
        generated = time.perf_counter() - t0
        click.echo(f"generated {counts} in {generated:.0f} s")
        await open_database(postgres_url)
        try:
            await rollup(postgres_url, again=not reuse or rebuild_again)
            return counts, generated, await time_reports(runs)
        finally:
            await close_database()

    counts, generated, results = asyncio.run(run())
    write_json(
        RESULTS,
        results_document(
            "settlement_reports",
            started=started,
            settings={"orders": orders, "members": members, "runs": runs, "seed": seed},
            extra={"rows": counts, "generate_seconds": round(generated, 1), **ROLLUP},
            results=results,
        ),
    )
    slow = [r["report"] for r in results if r["max_ms"] >= 1000]
    click.echo(f"wrote {RESULTS}; " + (f"over 1 s: {slow}" if slow else "every report under 1 s"))


if __name__ == "__main__":
    main()
