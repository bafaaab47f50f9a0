"""Tortoise implementation of the commission port: order attributions, rules, entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Sum

from adapters.db import models as m
from domain.attribution.model import Attribution, AttributionRole, BeneficiaryKind
from domain.commissions.ports import EntryQuery, Parties, Store, Total
from domain.commissions.rules import CommissionRule, Entry, EntryKind

# who an order may credit, in one statement: locations with their franchisee, staff, codes
PARTIES = """
SELECT 'L', l.id, l.name, l.kind, f.franchisee_id, fr.name FROM location l
  LEFT JOIN franchise_location f ON f.location_id = l.id
  LEFT JOIN franchisee fr ON fr.id = f.franchisee_id WHERE l.id {a}
UNION ALL SELECT 'S', s.id, s.name, s.role, NULL, NULL FROM staff_user s WHERE s.id {b}
UNION ALL SELECT 'C', c.id, c.code, c.kind, NULL, NULL FROM attribution_code c WHERE c.id {c}
"""
RULES_LOCK = 0x0C0FF1CE  # the advisory lock serialising commission rule changes (PostgreSQL)


def _rule(row: m.CommissionRule) -> CommissionRule:
    return CommissionRule(
        id=row.id,
        role=AttributionRole(row.role),
        channel_kind=row.channel_kind,
        channel_handle=row.channel_handle,
        category_id=row.category_id,
        percent_bp=row.percent_bp,
        fixed_amount=row.fixed_amount,
        currency=row.currency,
        active=row.active,
    )


def _entry(row: m.CommissionEntry) -> Entry:
    return Entry(
        order_id=row.order_id,
        order_line_id=row.order_line_id,
        role=AttributionRole(row.role),
        beneficiary_kind=BeneficiaryKind(row.beneficiary_kind),
        beneficiary_id=row.beneficiary_id,
        rule_id=row.rule_id,
        kind=EntryKind(row.kind),
        base_amount=row.base_amount,
        amount=row.amount,
        currency=row.currency,
        period=row.period,
        at=row.at,
        return_id=row.return_id,
        statement_id=row.statement_id,
        id=row.id,
    )


class TortoiseCommissionRepository:
    """Attributions, rules and entries bound to one transaction; ``timezone`` is the brand's."""

    def __init__(self, conn: BaseDBAsyncClient, *, timezone: str = "UTC") -> None:
        self.conn = conn
        self.timezone = timezone

    async def parties(
        self, *, location_ids: Sequence[int], staff_ids: Sequence[int], code_ids: Sequence[int]
    ) -> Parties:
        lists = (list(location_ids), list(staff_ids), list(code_ids))
        if self.conn.capabilities.dialect == "postgres":
            text = PARTIES.format(a="= ANY($1)", b="= ANY($2)", c="= ANY($3)")
            params: list[Any] = list(lists)
        else:
            marks = [",".join("?" * len(ids)) or "NULL" for ids in lists]
            text = PARTIES.format(**{k: f"IN ({v})" for k, v in zip("abc", marks, strict=True)})
            params = [*lists[0], *lists[1], *lists[2]]
        _, rows = await self.conn.execute_query(text, params)
        stores: dict[int, Store] = {}
        staff: dict[int, str] = {}
        roles: dict[int, str] = {}
        codes: dict[int, str] = {}
        for row in rows:
            what, ident, name, kind, franchisee, franchisee_name = tuple(row)
            if what == "L":
                stores[int(ident)] = Store(
                    int(ident),
                    name,
                    kind == "STORE",
                    int(franchisee) if franchisee is not None else None,
                    franchisee_name or "",
                )
            elif what == "S":
                staff[int(ident)] = name or f"clerk {ident}"
                roles[int(ident)] = kind
            else:
                codes[int(ident)] = name
        return Parties(stores, staff, codes, roles)

    async def add_attributions(self, order_id: int, attributions: Sequence[Attribution]) -> None:
        if not attributions:
            return
        await m.OrderAttribution.bulk_create(
            [
                m.OrderAttribution(
                    order_id=order_id,
                    role=a.role.value,
                    location_id=a.location_id,
                    staff_id=a.staff_id,
                    code_id=a.code_id,
                    franchisee_id=a.franchisee_id,
                    rule=a.rule[:300],
                )
                for a in attributions
            ],
            using_db=self.conn,
        )

    async def attributions(self, order_ids: Sequence[int]) -> dict[int, list[Attribution]]:
        rows = (
            await m.OrderAttribution.filter(order_id__in=list(order_ids))
            .using_db(self.conn)
            .order_by("id")
        )
        found: dict[int, list[Attribution]] = {}
        for r in rows:
            found.setdefault(r.order_id, []).append(
                Attribution(
                    AttributionRole(r.role),
                    r.location_id,
                    r.staff_id,
                    r.code_id,
                    r.franchisee_id,
                    r.rule,
                )
            )
        return found

    async def rules(self, *, active_only: bool) -> list[CommissionRule]:
        query = m.CommissionRule.all().using_db(self.conn)
        if active_only:
            query = query.filter(active=True)
        return [_rule(r) for r in await query.order_by("id")]

    async def rule(self, rule_id: int, *, for_update: bool = False) -> CommissionRule | None:
        query = m.CommissionRule.filter(id=rule_id).using_db(self.conn)
        if for_update and self.conn.capabilities.dialect == "postgres":
            query = query.select_for_update()
        row = await query.first()
        return _rule(row) if row else None

    async def save_rule(self, rule: CommissionRule) -> CommissionRule:
        values = {
            "role": rule.role.value,
            "channel_kind": rule.channel_kind,
            "channel_handle": rule.channel_handle,
            "category_id": rule.category_id,
            "percent_bp": rule.percent_bp,
            "fixed_amount": rule.fixed_amount,
            "currency": rule.currency,
            "active": rule.active,
        }
        if rule.id:
            await m.CommissionRule.filter(id=rule.id).using_db(self.conn).update(**values)
            row = await m.CommissionRule.get(id=rule.id).using_db(self.conn)
        else:
            row = await m.CommissionRule.create(using_db=self.conn, **values)
        return _rule(row)

    async def lock_rules(self) -> None:
        if self.conn.capabilities.dialect == "postgres":
            await self.conn.execute_query("SELECT pg_advisory_xact_lock($1)", [RULES_LOCK])

    async def entries(self, order_id: int) -> list[Entry]:
        rows = await m.CommissionEntry.filter(order_id=order_id).using_db(self.conn).order_by("id")
        return [_entry(r) for r in rows]

    async def add_entries(self, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        await m.CommissionEntry.bulk_create(
            [
                m.CommissionEntry(
                    order_id=e.order_id,
                    order_line_id=e.order_line_id,
                    role=e.role.value,
                    beneficiary_kind=e.beneficiary_kind.value,
                    beneficiary_id=e.beneficiary_id,
                    rule_id=e.rule_id,
                    kind=e.kind.value,
                    base_amount=e.base_amount,
                    amount=e.amount,
                    currency=e.currency,
                    return_id=e.return_id,
                    period=e.period,
                    at=e.at,
                    statement_id=None,
                )
                for e in entries
            ],
            using_db=self.conn,
        )

    def _matching(self, query: EntryQuery) -> Any:
        found = m.CommissionEntry.all().using_db(self.conn)
        if query.period is not None:
            found = found.filter(period=query.period)
        if query.beneficiaries is not None:
            by_kind: dict[str, list[int]] = {}
            for kind, ident in query.beneficiaries:
                by_kind.setdefault(kind.value, []).append(ident)
            if not by_kind:
                return None
            found = found.filter(
                Q(
                    *[Q(beneficiary_kind=k, beneficiary_id__in=ids) for k, ids in by_kind.items()],
                    join_type="OR",
                )
            )
        return found

    async def find_entries(self, query: EntryQuery) -> list[Entry]:
        found = self._matching(query)
        if found is None:
            return []
        return [_entry(r) for r in await found.order_by("-at", "-id").limit(query.limit)]

    async def totals(self, query: EntryQuery) -> list[Total]:
        found = self._matching(query)
        if found is None:
            return []
        rows = (
            await found.annotate(total=Sum("amount"))
            .group_by("beneficiary_kind", "beneficiary_id", "currency", "kind")
            .values("beneficiary_kind", "beneficiary_id", "currency", "kind", "total")
        )
        sums: dict[tuple[str, int, str], list[int]] = {}
        for r in rows:
            key = (r["beneficiary_kind"], int(r["beneficiary_id"]), r["currency"])
            pair = sums.setdefault(key, [0, 0])
            pair[0 if r["kind"] == EntryKind.ACCRUAL.value else 1] += int(r["total"] or 0)
        return [
            Total(BeneficiaryKind(k), i, c, accrued, reversed_)
            for (k, i, c), (accrued, reversed_) in sorted(sums.items())
        ]

    async def staff_at(self, location_ids: Sequence[int]) -> list[int]:
        wanted = set(location_ids)
        rows = await m.StaffUser.all().using_db(self.conn).values_list("id", "location_ids")
        return sorted(int(i) for i, locs in rows if wanted & set(locs or ()))
