"""The performance reports' reads: one aggregate SQL statement per figure, each reading only
its scope's rows through the report indexes (migration 0011), from a replica when there is one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections

from adapters.db import models as m
from adapters.db.database import replica_client
from adapters.db.report_rollup import ready as rollup_ready
from domain.attribution.model import AttributionRole, BeneficiaryKind, BindingSource
from domain.clienteling.model import TaskState
from domain.orders.states import OrderSource, OrderStatus
from domain.reports.model import Acquired, Period, Sales, Scope, ScopeKind

# the column of "order" naming each scope's orders
_ORDER_COLUMN = {
    ScopeKind.STORE: "attributed_location_id",
    ScopeKind.CLERK: "attributed_staff_id",
    ScopeKind.CHANNEL: "channel_id",
}
_BOUND = {
    ScopeKind.STORE: (AttributionRole.REFERRING_STORE, "location_id"),
    ScopeKind.CLERK: (AttributionRole.BOUND_CLERK, "staff_id"),
}
_BENEFICIARY = {ScopeKind.STORE: BeneficiaryKind.LOCATION, ScopeKind.CLERK: BeneficiaryKind.STAFF}


class _Sql:
    """A statement with ``{p}`` for each value: bound on SQLite, literals on PostgreSQL."""

    def __init__(self) -> None:
        self.client: Any = replica_client() or connections.get("default")
        self.postgres = self.client.capabilities.dialect == "postgres"

    async def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        values = [p.astimezone(UTC) if isinstance(p, datetime) else p for p in params]
        if self.postgres:
            # values written into the statement: each report is planned for its own period
            # and scope (a prepared statement's generic plan, chosen after a few runs, reads a
            # year as if it were a day: seconds instead of milliseconds)
            parts = sql.split("{p}")
            sql = parts[0] + "".join(
                _literal(v) + rest for v, rest in zip(values, parts[1:], strict=True)
            )
            values = []
        else:  # SQLite compares the stored text, which tortoise writes in UTC
            sql = sql.replace("{p}", "?")
        _, found = await self.client.execute_query(sql, values)
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in found]


def _literal(value: Any) -> str:
    """A PostgreSQL literal of an int, an instant or a short text (ids, enums, a currency)."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"no literal for {value!r}")
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    text = str(value)
    return "'" + text.replace("'", "''") + "'"


def _orders(
    scope: Scope, period: Period, currency: str, *, alias: str = "", own: bool = True
) -> tuple[str, list[Any]]:
    """The WHERE clause of the completed orders placed in the period (the scope's own sales
    when ``own``; a channel's always)."""
    a = f"{alias}." if alias else ""
    where = f"{a}created_at >= {{p}} AND {a}created_at < {{p}} AND {a}status = {{p}}"
    where += f" AND {a}currency = {{p}}"
    params: list[Any] = [period.start, period.end, OrderStatus.COMPLETED.value, currency]
    column = _ORDER_COLUMN.get(scope.kind)
    if column is not None and (own or scope.kind is ScopeKind.CHANNEL):
        where = f"{a}{column} = {{p}} AND " + where
        params.insert(0, scope.id)
    return where, params


async def _sales(sql: _Sql, source: str, params: Sequence[Any]) -> Sales:
    """Orders, net, buyers and repeat buyers of the orders ``source`` selects (alias o), in
    one pass: per member (guests together, as the NULL member), then summed."""
    rows = await sql.rows(
        "SELECT sum(n), sum(net), "
        "sum(CASE WHEN member_id IS NOT NULL THEN 1 ELSE 0 END), "
        "sum(CASE WHEN member_id IS NOT NULL AND n >= 2 THEN 1 ELSE 0 END) "
        "FROM (SELECT o.member_id AS member_id, count(*) AS n, "
        f"sum(o.total - o.refunded_total) AS net {source} GROUP BY o.member_id) AS per_member",
        params,
    )
    orders, net, buyers, repeat = rows[0]
    return Sales(
        orders=int(orders or 0),
        net=int(net or 0),
        buyers=int(buyers or 0),
        repeat_buyers=int(repeat or 0),
    )


async def _rolled_up(
    scope: Scope, period: Period, currency: str, *, influenced: bool
) -> Sales | None:
    """The figures from the rollup (adapters/db/report_rollup.py) when the period is whole
    months and a rebuild made the rollup in the period's time zone; None otherwise."""
    if period.first_day.day != 1 or (period.last_day + timedelta(days=1)).day != 1:
        return None
    zone = getattr(period.start.tzinfo, "key", None)
    if zone is None or not await rollup_ready(zone):
        return None
    orders, net = ("influenced_orders", "influenced_net") if influenced else ("orders", "net")
    first, last = period.months
    sql = _Sql()
    rows = await sql.rows(
        "SELECT sum(n), sum(net), "
        "sum(CASE WHEN member_id <> 0 AND n >= 1 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN member_id <> 0 AND n >= 2 THEN 1 ELSE 0 END) "
        f"FROM (SELECT r.member_id AS member_id, sum(r.{orders}) AS n, sum(r.{net}) AS net "
        "FROM report_member_month AS r WHERE r.scope_kind = {p} AND r.scope_id = {p} "
        "AND r.month >= {p} AND r.month <= {p} AND r.currency = {p} "
        f"AND r.{orders} > 0 GROUP BY r.member_id) AS per_member",
        [scope.kind.value, scope.id or 0, first, last, currency],
    )
    n, total, buyers, repeat = rows[0]
    return Sales(
        orders=int(n or 0), net=int(total or 0), buyers=int(buyers or 0),
        repeat_buyers=int(repeat or 0),
    )  # fmt: skip


class TortoisePerformanceQueries:
    """PerformanceQueries in SQL: whole months from the rollup once it is built, other
    periods from the orders."""

    async def sales(self, scope: Scope, period: Period, *, currency: str) -> Sales:
        found = await _rolled_up(scope, period, currency, influenced=False)
        if found is not None:
            return found
        where, params = _orders(scope, period, currency)
        return await _sales(_Sql(), f'FROM "order" AS o WHERE {where}', params)

    async def online_influenced(self, scope: Scope, period: Period, *, currency: str) -> Sales:
        found = await _rolled_up(scope, period, currency, influenced=True)
        if found is not None:
            return found
        where, params = _orders(scope, period, currency, alias="o", own=False)
        where += " AND o.source <> {p}"
        params.append(OrderSource.STORE_TILL.value)
        bound = _BOUND.get(scope.kind)
        if bound is not None:
            # the store's or clerk's attributions first (a few thousand a year), then each
            # order by its id (the covering index of its id answers without the table)
            role, column = bound
            source = (
                "FROM (SELECT DISTINCT a.order_id FROM order_attribution AS a WHERE a.role = {p} "
                f'AND a.{column} = {{p}}) AS bound JOIN "order" AS o ON o.id = bound.order_id '
                f"WHERE {where}"
            )
            return await _sales(_Sql(), source, [role.value, scope.id, *params])
        roles = [AttributionRole.REFERRING_STORE.value, AttributionRole.BOUND_CLERK.value]
        source = (
            'FROM "order" AS o WHERE EXISTS (SELECT 1 FROM order_attribution AS a '
            f"WHERE a.order_id = o.id AND a.role IN ({{p}}, {{p}})) AND {where}"
        )
        return await _sales(_Sql(), source, [*roles, *params])

    async def acquired(self, scope: Scope, period: Period) -> Sequence[Acquired]:
        sql = _Sql()
        where = (
            "b.source IN ({p}, {p}) AND b.code_id IS NOT NULL AND b.bound_at >= {p} "
            "AND b.bound_at < {p}"
        )
        params: list[Any] = [
            BindingSource.SIGNUP.value,
            BindingSource.SCAN.value,
            period.start,
            period.end,
        ]
        if scope.kind is ScopeKind.STORE:
            where = "b.location_id = {p} AND " + where
            params.insert(0, scope.id)
        elif scope.kind is ScopeKind.CLERK:
            where = "b.staff_id = {p} AND " + where
            params.insert(0, scope.id)
        elif scope.kind is ScopeKind.CHANNEL:
            return []  # members are won by codes, not by channels
        rows = await sql.rows(
            "SELECT b.code_id, c.code, c.kind, count(*) FROM member_binding AS b "
            f"LEFT JOIN attribution_code AS c ON c.id = b.code_id WHERE {where} "
            "GROUP BY b.code_id, c.code, c.kind ORDER BY count(*) DESC, b.code_id",
            params,
        )
        return [Acquired(int(r[0]), str(r[1] or ""), str(r[2] or ""), int(r[3])) for r in rows]

    async def commission(self, scope: Scope, period: Period, *, currency: str) -> int:
        sql = _Sql()
        first, _ = period.months
        where = "e.period >= {p} AND e.at >= {p} AND e.at < {p} AND e.currency = {p}"
        # an entry's period is the month of its date, or a later one when that month was
        # closed already: never an earlier one (the bound lets the period index narrow)
        params: list[Any] = [first, period.start, period.end, currency]
        beneficiary = _BENEFICIARY.get(scope.kind)
        if beneficiary is not None:
            where = "e.beneficiary_kind = {p} AND e.beneficiary_id = {p} AND " + where
            params = [beneficiary.value, scope.id, *params]
        elif scope.kind is ScopeKind.CHANNEL:
            where += ' AND e.order_id IN (SELECT id FROM "order" WHERE channel_id = {p})'
            params.append(scope.id)
        rows = await sql.rows(
            f"SELECT sum(e.amount) FROM commission_entry AS e WHERE {where}", params
        )
        return int(rows[0][0] or 0)

    async def tasks_done(self, scope: Scope, period: Period) -> int | None:
        if scope.kind is ScopeKind.CHANNEL:
            return None
        query = m.ClientelingTask.filter(
            state=TaskState.DONE.value, day__gte=period.first_day, day__lte=period.last_day
        )
        if scope.kind is ScopeKind.CLERK:
            query = query.filter(staff_id=scope.id)
        elif scope.kind is ScopeKind.STORE:
            staff = await m.StaffUser.all().values_list("id", "location_ids")
            clerks = [int(i) for i, locations in staff if scope.id in (locations or [])]
            query = query.filter(staff_id__in=clerks)
        return await query.count()
