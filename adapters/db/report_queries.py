"""The performance reports' reads: one aggregate SQL statement per figure, each reading only
its scope's rows through the report indexes (migration 0011), from a replica when there is one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise import connections

from adapters.db import models as m
from adapters.db.database import replica_client
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
    """A statement with ``{p}`` for each parameter, numbered for PostgreSQL."""

    def __init__(self) -> None:
        self.client: Any = replica_client() or connections.get("default")
        self.postgres = self.client.capabilities.dialect == "postgres"

    async def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self.postgres:
            numbered = iter(range(1, len(params) + 1))
            while "{p}" in sql:
                sql = sql.replace("{p}", f"${next(numbered)}", 1)
        else:
            sql = sql.replace("{p}", "?")
        # instants in UTC: SQLite compares the stored text, which tortoise writes in UTC
        values = [p.astimezone(UTC) if isinstance(p, datetime) else p for p in params]
        _, found = await self.client.execute_query(sql, values)
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in found]


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


def _sales(row: tuple[Any, ...], buyers: tuple[Any, ...]) -> Sales:
    return Sales(
        orders=int(row[0] or 0),
        net=int(row[1] or 0),
        buyers=int(buyers[0] or 0),
        repeat_buyers=int(buyers[1] or 0),
    )


class TortoisePerformanceQueries:
    """PerformanceQueries in SQL."""

    async def sales(self, scope: Scope, period: Period, *, currency: str) -> Sales:
        sql = _Sql()
        where, params = _orders(scope, period, currency)
        totals = await sql.rows(
            f'SELECT count(*), sum(total - refunded_total) FROM "order" WHERE {where}', params
        )
        buyers = await sql.rows(
            "SELECT count(*), sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END) FROM (SELECT member_id, "
            f'count(*) AS n FROM "order" WHERE {where} AND member_id IS NOT NULL '
            "GROUP BY member_id) AS b",
            params,
        )
        return _sales(totals[0], buyers[0])

    async def online_influenced(self, scope: Scope, period: Period, *, currency: str) -> Sales:
        sql = _Sql()
        where, params = _orders(scope, period, currency, alias="o", own=False)
        where += " AND o.source <> {p}"
        params.append(OrderSource.STORE_TILL.value)
        bound = _BOUND.get(scope.kind)
        if bound is not None:
            role, column = bound
            where = (
                "o.id IN (SELECT a.order_id FROM order_attribution AS a WHERE a.role = {p} AND "
                f"a.{column} = {{p}}) AND " + where
            )
            params = [role.value, scope.id, *params]
        else:
            where = (
                "EXISTS (SELECT 1 FROM order_attribution AS a WHERE a.order_id = o.id AND "
                "a.role IN ({p}, {p})) AND " + where
            )
            roles = [AttributionRole.REFERRING_STORE.value, AttributionRole.BOUND_CLERK.value]
            params = [*roles, *params]
        totals = await sql.rows(
            f'SELECT count(*), sum(o.total - o.refunded_total) FROM "order" AS o WHERE {where}',
            params,
        )
        buyers = await sql.rows(
            "SELECT count(*), sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END) FROM (SELECT o.member_id, "
            f'count(*) AS n FROM "order" AS o WHERE {where} AND o.member_id IS NOT NULL '
            "GROUP BY o.member_id) AS b",
            params,
        )
        return _sales(totals[0], buyers[0])

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
        first, last = period.months
        where = (
            "e.period >= {p} AND e.period <= {p} AND e.at >= {p} AND e.at < {p} "
            "AND e.currency = {p}"
        )
        params: list[Any] = [first, last, period.start, period.end, currency]
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
