"""The commission port in memory: attributions, rules and entries of a :class:`MemoryState`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from adapters.memory.state import MemoryState
from domain.attribution.model import Attribution, BeneficiaryKind
from domain.channels.model import LocationKind
from domain.commissions.ports import EntryQuery, Parties, Store, Total
from domain.commissions.rules import CommissionRule, Entry, EntryKind


class InMemoryCommissionRepository:
    """Attributions by order, rules by id, entries in insertion order."""

    def __init__(self, state: MemoryState, *, timezone: str = "Europe/Paris") -> None:
        self.state = state
        self.timezone = timezone

    async def parties(
        self, *, location_ids: Sequence[int], staff_ids: Sequence[int], code_ids: Sequence[int]
    ) -> Parties:
        stores = {}
        for i in location_ids:
            loc = self.state.locations.get(i)
            if loc is None:
                continue
            franchisee, name = self.state.franchised.get(i, (None, ""))
            stores[i] = Store(i, loc.name, loc.kind is LocationKind.STORE, franchisee, name)
        staff = {i: self.state.staff[i].name for i in staff_ids if i in self.state.staff}
        codes = {
            i: self.state.attribution_codes[i].code
            for i in code_ids
            if i in self.state.attribution_codes
        }
        roles = {i: self.state.staff[i].role for i in staff_ids if i in self.state.staff}
        return Parties(stores, staff, codes, roles)

    async def add_attributions(self, order_id: int, attributions: Sequence[Attribution]) -> None:
        if attributions:
            self.state.attributions.setdefault(order_id, []).extend(attributions)

    async def attributions(self, order_ids: Sequence[int]) -> dict[int, list[Attribution]]:
        return {
            i: list(self.state.attributions[i]) for i in order_ids if i in self.state.attributions
        }

    async def rules(self, *, active_only: bool) -> list[CommissionRule]:
        rules = sorted(self.state.commission_rules.values(), key=lambda r: r.id)
        return [r for r in rules if r.active or not active_only]

    async def rule(self, rule_id: int, *, for_update: bool = False) -> CommissionRule | None:
        return self.state.commission_rules.get(rule_id)

    async def save_rule(self, rule: CommissionRule) -> CommissionRule:
        saved = rule if rule.id else replace(rule, id=self.state.next_id("commission_rule"))
        self.state.commission_rules[saved.id] = saved
        return saved

    async def lock_rules(self) -> None:
        return None

    async def entries(self, order_id: int) -> list[Entry]:
        return [e for e in self.state.commission_entries if e.order_id == order_id]

    async def add_entries(self, entries: Sequence[Entry]) -> None:
        for e in entries:
            self.state.commission_entries.append(
                replace(e, id=self.state.next_id("commission_entry"), statement_id=None)
            )

    def _matching(self, query: EntryQuery) -> list[Entry]:
        allowed = set(query.beneficiaries) if query.beneficiaries is not None else None
        return [
            e
            for e in self.state.commission_entries
            if (query.period is None or e.period == query.period)
            and (allowed is None or (e.beneficiary_kind, e.beneficiary_id) in allowed)
        ]

    async def find_entries(self, query: EntryQuery) -> list[Entry]:
        found = sorted(self._matching(query), key=lambda e: (e.at, e.id), reverse=True)
        return found[: query.limit]

    async def totals(self, query: EntryQuery) -> list[Total]:
        sums: dict[tuple[str, int, str], list[int]] = {}
        for e in self._matching(query):
            pair = sums.setdefault((e.beneficiary_kind, e.beneficiary_id, e.currency), [0, 0])
            pair[0 if e.kind is EntryKind.ACCRUAL else 1] += e.amount
        return [Total(BeneficiaryKind(k), i, c, a, r) for (k, i, c), (a, r) in sorted(sums.items())]

    async def staff_at(self, location_ids: Sequence[int]) -> list[int]:
        wanted = set(location_ids)
        return sorted(s.id for s in self.state.staff.values() if wanted & set(s.location_ids))
