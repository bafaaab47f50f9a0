"""The reports' rollup (tables report_member_month and report_order): each scope's completed
orders per month (brand time zone) and member, so that a whole-month report (a year: twelve
months) reads one row per buyer and month instead of every order.

How it stays current: the worker applies the order events (order.completed, order.returned
and the other status changes) read from the event stream through its own consumer group.
Applying an order reads its CURRENT state (status, refunds, attributions) and adds to the
rollup the difference from what the order added last time (kept in report_order), in one
transaction: an event applied twice, late or out of order adds nothing wrong, and a worker
killed at any point leaves the event unacknowledged, to be applied again. The till sales and
checkouts run no extra statement.

`app.py reports rebuild [--from YYYY-MM]` computes the months from the orders (existing data,
or after a time-zone change); reports read the rollup only once a rebuild has set
report_rollup_state with their time zone."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.transactions import in_transaction

from domain.attribution.model import AttributionRole
from domain.orders.states import OrderSource, OrderStatus

TOPICS = frozenset({
    "order.completed", "order.returned", "order.cancelled", "order.refunded",
    "order.fulfilment_cancelled",
})  # fmt: skip
_LOCK = 1313  # the advisory-lock class of the rollup's orders (PostgreSQL)
_ORDER_COLUMNS = (
    "id, created_at, status, source, currency, total, refunded_total, member_id, channel_id, "
    "attributed_location_id, attributed_staff_id"
)
_VALUES = ("orders", "net", "influenced_orders", "influenced_net")
Key = tuple[str, int]  # (scope kind, scope id)
Part = list[Any]  # [kind, id, orders, net, influenced orders, influenced net]


def _when(value: Any) -> datetime:
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def contribution(
    row: Sequence[Any], roles: Iterable[tuple[str, int | None, int | None]], tz: ZoneInfo
) -> tuple[str, str, int, list[Part]]:
    """(month, currency, member (0: guest), parts) of one order row (``_ORDER_COLUMNS``) and
    its attributions (role, location, staff): nothing unless COMPLETED. Mirrors the report
    queries (adapters/db/report_queries.py): own sales by channel, till/hand-over store and
    clerk; online-influenced: not a till sale, bound to a store (REFERRING_STORE) or a clerk
    (BOUND_CLERK), any such binding for the brand and the channel."""
    _, created, status, source, currency, total, refunded, member, channel, store, clerk = row
    month = _when(created).astimezone(tz).strftime("%Y-%m")
    if status != OrderStatus.COMPLETED.value:
        return month, str(currency), int(member or 0), []
    net = int(total) - int(refunded)
    parts: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for key in (("BRAND", 0), ("CHANNEL", int(channel))):
        parts[key][0:2] = [1, net]
    if store is not None:
        parts[("STORE", int(store))][0:2] = [1, net]
    if clerk is not None:
        parts[("CLERK", int(clerk))][0:2] = [1, net]
    if source != OrderSource.STORE_TILL.value:
        influenced = False
        for role, location, staff in roles:
            if role == AttributionRole.REFERRING_STORE.value:
                influenced = True
                if location is not None:
                    parts[("STORE", int(location))][2:4] = [1, net]
            elif role == AttributionRole.BOUND_CLERK.value:
                influenced = True
                if staff is not None:
                    parts[("CLERK", int(staff))][2:4] = [1, net]
        if influenced:
            for key in (("BRAND", 0), ("CHANNEL", int(channel))):
                parts[key][2:4] = [1, net]
    found = [[kind, sid, *v] for (kind, sid), v in sorted(parts.items())]
    return month, str(currency), int(member or 0), found


class _Db:
    """Raw statements on one connection (a transaction's), ``?`` placeholders on both
    dialects."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.postgres = client.capabilities.dialect == "postgres"

    def _sql(self, sql: str) -> str:
        if not self.postgres:
            return sql
        parts = sql.split("?")
        return parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        _, found = await self.client.execute_query(self._sql(sql), list(params))
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in found]

    async def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self.client.execute_query(self._sql(sql), list(params))


async def _roles(db: _Db, order_ids: Sequence[int]) -> dict[int, list[tuple[str, Any, Any]]]:
    found: dict[int, list[tuple[str, Any, Any]]] = defaultdict(list)
    for i in range(0, len(order_ids), 5000):
        chunk = [int(x) for x in order_ids[i : i + 5000]]
        if not chunk:
            continue
        rows = await db.rows(
            "SELECT order_id, role, location_id, staff_id FROM order_attribution "
            f"WHERE role IN (?, ?) AND order_id IN ({','.join(str(x) for x in chunk)})",
            [AttributionRole.REFERRING_STORE.value, AttributionRole.BOUND_CLERK.value],
        )
        for order_id, role, location, staff in rows:
            found[int(order_id)].append((str(role), location, staff))
    return found


async def _add(db: _Db, deltas: dict[tuple[str, int, str, str, int], list[int]]) -> None:
    """Add the deltas to the rollup: multi-row upserts, in key order (no deadlock between two
    workers)."""
    rows = [(k, v) for k, v in sorted(deltas.items()) if any(v)]
    for i in range(0, len(rows), 2000):
        chunk = rows[i : i + 2000]
        values = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        params = [x for k, v in chunk for x in (*k, *v)]
        await db.run(
            "INSERT INTO report_member_month (scope_kind, scope_id, month, currency, member_id, "
            f"orders, net, influenced_orders, influenced_net) VALUES {values} "
            "ON CONFLICT (scope_kind, scope_id, month, currency, member_id) DO UPDATE SET "
            + ", ".join(f"{c} = report_member_month.{c} + excluded.{c}" for c in _VALUES),
            params,
        )


def _delta(
    deltas: dict[tuple[str, int, str, str, int], list[int]],
    month: str,
    currency: str,
    member: int,
    parts: Iterable[Part],
    sign: int,
) -> None:
    for kind, sid, *values in parts:
        target = deltas.setdefault((kind, int(sid), month, currency, member), [0, 0, 0, 0])
        for i, v in enumerate(values):
            target[i] += sign * int(v)


async def apply_orders(order_ids: Iterable[int], *, tz: str) -> int:
    """Bring the rollup up to date with these orders' current state, in one transaction;
    returns how many changed what they add."""
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return 0
    zone = ZoneInfo(tz)
    async with in_transaction("default") as conn:
        db = _Db(conn)
        if db.postgres:  # one applier per order at a time (a rebuild holds the table)
            await db.run("LOCK TABLE report_order IN ROW EXCLUSIVE MODE")
            for order_id in ids:
                await db.run("SELECT pg_advisory_xact_lock(?, ?)", [_LOCK, order_id])
        listed = ",".join(str(i) for i in ids)
        before = {
            int(r[0]): (str(r[1]), str(r[2]), int(r[3]), _parts(r[4]))
            for r in await db.rows(
                f"SELECT order_id, month, currency, member_id, parts FROM report_order "
                f"WHERE order_id IN ({listed})"
            )
        }
        orders = await db.rows(f'SELECT {_ORDER_COLUMNS} FROM "order" WHERE id IN ({listed})')
        roles = await _roles(db, [int(r[0]) for r in orders])
        deltas: dict[tuple[str, int, str, str, int], list[int]] = {}
        changed = []
        for row in orders:
            now = contribution(row, roles.get(int(row[0]), []), zone)
            old = before.get(int(row[0]))
            if old == now or (old is None and not now[3]):
                continue
            if old is not None:
                _delta(deltas, old[0], old[1], old[2], old[3], -1)
            _delta(deltas, now[0], now[1], now[2], now[3], 1)
            changed.append((int(row[0]), now))
        await _add(db, deltas)
        await _save(db, changed)
        return len(changed)


def _parts(value: Any) -> list[Part]:
    return list(json.loads(value) if isinstance(value, str) else value or [])


async def _save(db: _Db, changed: Sequence[tuple[int, tuple[str, str, int, list[Part]]]]) -> None:
    for i in range(0, len(changed), 2000):
        chunk = changed[i : i + 2000]
        values = ",".join(["(?, ?, ?, ?, ?)"] * len(chunk))
        params = [
            x
            for order_id, (month, currency, member, parts) in chunk
            for x in (order_id, month, currency, member, json.dumps(parts, separators=(",", ":")))
        ]
        await db.run(
            "INSERT INTO report_order (order_id, month, currency, member_id, parts) "
            f"VALUES {values} ON CONFLICT (order_id) DO UPDATE SET month = excluded.month, "
            "currency = excluded.currency, member_id = excluded.member_id, parts = excluded.parts",
            params,
        )


def _month_start(month: str, zone: ZoneInfo) -> datetime:
    year, number = month.split("-")
    return datetime(int(year), int(number), 1, tzinfo=zone)


async def rebuild(
    *, tz: str, first_month: str | None = None, progress: Callable[[int], None] | None = None
) -> int:
    """Recompute the rollup from the orders placed from ``first_month`` on (all of them when
    None), month by month, each month in one transaction (appliers wait for it on
    PostgreSQL); then mark the rollup ready for ``tz``. Returns the orders read."""
    zone = ZoneInfo(tz)
    db = _Db(connections.get("default"))
    bounds = await db.rows('SELECT min(created_at), max(created_at) FROM "order"')
    done = 0
    if bounds and bounds[0][0] is not None:
        first = _when(bounds[0][0]).astimezone(zone).strftime("%Y-%m")
        if first_month is not None and first_month > first:
            first = first_month
        last = _when(bounds[0][1]).astimezone(zone).strftime("%Y-%m")
        if first_month is None:  # the reports read the orders until it is done
            async with in_transaction("default") as conn:
                await _Db(conn).run("DELETE FROM report_rollup_state")
                await _Db(conn).run("DELETE FROM report_member_month")
                await _Db(conn).run("DELETE FROM report_order")
            forget_ready()
        month = first
        while month <= last:
            done += await _rebuild_month(month, zone)
            if progress is not None:
                progress(1)
            month = _next(month)
    async with in_transaction("default") as conn:
        tx = _Db(conn)
        await tx.run("DELETE FROM report_rollup_state")
        await tx.run(
            "INSERT INTO report_rollup_state (id, timezone, rebuilt_at) VALUES (1, ?, ?)",
            [tz, datetime.now(UTC) if tx.postgres else datetime.now(UTC).isoformat()],
        )
    forget_ready()
    return done


def _next(month: str) -> str:
    year, number = (int(x) for x in month.split("-"))
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def months_between(first: str, last: str) -> int:
    """How many months ``first``..``last`` (YYYY-MM) span (for a progress bar)."""
    a, b = date.fromisoformat(first + "-01"), date.fromisoformat(last + "-01")
    return max(0, (b.year - a.year) * 12 + b.month - a.month + 1)


async def _rebuild_month(month: str, zone: ZoneInfo) -> int:
    start, end = _month_start(month, zone), _month_start(_next(month), zone)
    async with in_transaction("default") as conn:
        db = _Db(conn)
        if db.postgres:
            await db.run("LOCK TABLE report_order IN EXCLUSIVE MODE")
        await db.run("DELETE FROM report_member_month WHERE month = ?", [month])
        await db.run("DELETE FROM report_order WHERE month = ?", [month])
        bounds = [start.astimezone(UTC), end.astimezone(UTC)]
        orders = await db.rows(
            f'SELECT {_ORDER_COLUMNS} FROM "order" WHERE created_at >= ? AND created_at < ?',
            bounds,
        )
        roles = await _roles(db, [int(r[0]) for r in orders if r[2] == "COMPLETED"])
        deltas: dict[tuple[str, int, str, str, int], list[int]] = {}
        changed = []
        for row in orders:
            now = contribution(row, roles.get(int(row[0]), []), zone)
            if now[3]:
                _delta(deltas, now[0], now[1], now[2], now[3], 1)
                changed.append((int(row[0]), now))
        await _add(db, deltas)
        await _save(db, changed)
        return len(orders)


_READY: dict[str, tuple[bool, float]] = {}
READY_SECONDS = 30.0  # how long a process trusts what it read of report_rollup_state


async def ready(tz: str) -> bool:
    """Whether a rebuild made the rollup for this time zone (read again every 30 s)."""
    known = _READY.get(tz)
    if known is not None and known[1] > time.monotonic():
        return known[0]
    db = _Db(connections.get("default"))
    rows = await db.rows("SELECT timezone FROM report_rollup_state WHERE id = 1")
    found = bool(rows) and rows[0][0] == tz
    _READY[tz] = (found, time.monotonic() + READY_SECONDS)
    return found


def forget_ready() -> None:
    """Read report_rollup_state again at the next report."""
    _READY.clear()
