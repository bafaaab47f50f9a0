"""The franchise and settlement ports in memory. Commission entries are rows of
``MemoryState.commission_entries`` (their columns as a dict); the franchise facts of a month
(till sales, served orders, transfers) are not kept in memory: the database tests cover them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from adapters.memory.state import MemoryState
from domain.settlement.model import (
    Beneficiary,
    Franchisee,
    FulfilledOrder,
    LineKind,
    OpenEntry,
    Statement,
    StatementLine,
    TillRefund,
    TillSale,
    Transfer,
)


class InMemoryFranchiseRepository:
    """Franchisees, their stores and wholesale prices in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def _with_stores(self, franchisee: Franchisee) -> Franchisee:
        stores = sorted(k for k, v in self.state.franchise_locations.items() if v == franchisee.id)
        return replace(franchisee, location_ids=tuple(stores))

    async def franchisees(self) -> list[Franchisee]:
        return [self._with_stores(f) for _, f in sorted(self.state.franchisees.items())]

    async def franchisee(self, franchisee_id: int) -> Franchisee | None:
        found = self.state.franchisees.get(franchisee_id)
        return self._with_stores(found) if found else None

    async def handle_taken(self, handle: str) -> bool:
        return any(f.handle == handle for f in self.state.franchisees.values())

    async def create(self, *, handle: str, name: str, contact: dict[str, str]) -> Franchisee:
        franchisee = Franchisee(self.state.next_id("franchisee"), handle, name, (), dict(contact))
        self.state.franchisees[franchisee.id] = franchisee
        return franchisee

    async def assign(self, location_id: int, franchisee_id: int | None) -> None:
        self.state.franchise_locations.pop(location_id, None)
        if franchisee_id is not None:
            self.state.franchise_locations[location_id] = franchisee_id

    async def owners_of(self, location_ids: Sequence[int]) -> dict[int, Franchisee]:
        found = {}
        for location_id in location_ids:
            owner = self.state.franchise_locations.get(location_id)
            if owner is not None and owner in self.state.franchisees:
                found[location_id] = self._with_stores(self.state.franchisees[owner])
        return found

    async def set_wholesale(self, prices: Mapping[tuple[int, str], int]) -> None:
        self.state.wholesale.update(prices)

    async def wholesale(self, variant_ids: Sequence[int], currency: str) -> dict[int, int]:
        return {
            v: self.state.wholesale[(v, currency)]
            for v in variant_ids
            if (v, currency) in self.state.wholesale
        }

    async def known_variants(self, variant_ids: Sequence[int]) -> set[int]:
        return {v for v in variant_ids if v in self.state.variants}


class InMemorySettlementRepository:
    """Statements, lines and commission entries in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def _open(self, beneficiary: Beneficiary | None, period: str) -> list[dict[str, object]]:
        rows = [
            e
            for _, e in sorted(self.state.settlement_entries.items())
            if e["statement_id"] is None and str(e["period"]) <= period
        ]
        if beneficiary is None:
            return rows
        return [
            e
            for e in rows
            if (e["beneficiary_kind"], e["beneficiary_id"], e["currency"])
            == (beneficiary.kind, beneficiary.id, beneficiary.currency)
        ]

    async def beneficiaries_with_open_entries(self, period: str) -> list[Beneficiary]:
        found = {
            Beneficiary(
                str(e["beneficiary_kind"]), int(str(e["beneficiary_id"])), str(e["currency"])
            )
            for e in self._open(None, period)
        }
        return sorted(found, key=lambda b: (b.kind, b.id, b.currency))

    async def open_statement(
        self, beneficiary: Beneficiary, period: str, *, create: bool
    ) -> Statement | None:
        key = (beneficiary.kind, beneficiary.id, period, beneficiary.currency)
        for s in self.state.statements.values():
            if (s.beneficiary_kind, s.beneficiary_id, s.period, s.currency) == key:
                return replace(s)
        if not create:
            return None
        statement = Statement(self.state.next_id("statement"), *key, created_at=self.state.now())
        self.state.statements[statement.id] = statement
        return replace(statement)

    async def take_open_entries(self, beneficiary: Beneficiary, period: str) -> list[OpenEntry]:
        return [
            OpenEntry(
                int(str(e["id"])),
                int(str(e["order_id"])),
                None,
                str(e["role"]),
                str(e["kind"]),
                int(str(e["amount"])),
                str(e["period"]),
            )
            for e in self._open(beneficiary, period)
        ]

    async def assign_entries(self, entry_ids: Sequence[int], statement_id: int) -> None:
        for entry_id in entry_ids:
            entry = self.state.settlement_entries[entry_id]
            if entry["statement_id"] is None:
                entry["statement_id"] = statement_id

    async def add_lines(self, statement_id: int, lines: Sequence[StatementLine]) -> None:
        kept = self.state.statement_lines.setdefault(statement_id, [])
        kept.extend(replace(line, id=self.state.next_id("statement_line")) for line in lines)

    async def remove_lines(self, statement_id: int, kinds: Sequence[LineKind]) -> None:
        kept = self.state.statement_lines.get(statement_id, [])
        self.state.statement_lines[statement_id] = [x for x in kept if x.kind not in kinds]

    async def line_total(self, statement_id: int) -> int:
        return sum(x.amount for x in self.state.statement_lines.get(statement_id, []))

    async def save_statement(self, statement: Statement) -> None:
        self.state.statements[statement.id] = replace(statement)

    async def statement(self, statement_id: int, *, lock: bool = False) -> Statement | None:
        found = self.state.statements.get(statement_id)
        return replace(found) if found else None

    async def statements(
        self,
        *,
        period: str | None,
        kind: str | None,
        ids: Mapping[str, Sequence[int]] | None,
    ) -> list[Statement]:
        found = [
            replace(s)
            for s in self.state.statements.values()
            if (period is None or s.period == period)
            and (kind is None or s.beneficiary_kind == kind)
            and (ids is None or s.beneficiary_id in ids.get(s.beneficiary_kind, ()))
        ]
        return sorted(
            found, key=lambda s: (s.period, s.beneficiary_kind, s.beneficiary_id, s.currency)
        )

    async def lines(self, statement_ids: Sequence[int]) -> dict[int, list[StatementLine]]:
        return {i: list(self.state.statement_lines.get(i, [])) for i in statement_ids}

    async def names(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str]:
        found = {}
        for kind, ident in wanted:
            if kind == "STAFF" and ident in self.state.staff:
                found[(kind, ident)] = self.state.staff[ident].name
            elif kind == "LOCATION" and ident in self.state.locations:
                found[(kind, ident)] = self.state.locations[ident].name
            elif kind == "FRANCHISEE" and ident in self.state.franchisees:
                found[(kind, ident)] = self.state.franchisees[ident].name
        return found

    async def staff_at(self, location_ids: Sequence[int]) -> list[int]:
        wanted = set(location_ids)
        return sorted(s.id for s in self.state.staff.values() if wanted & set(s.location_ids))

    async def till_sales(
        self, location_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[TillSale]:
        return []

    async def till_refunds(
        self, location_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[TillRefund]:
        return []

    async def fulfilled_orders(
        self, location_ids: Sequence[int], start: datetime, end: datetime, currency: str
    ) -> list[FulfilledOrder]:
        return []

    async def transfers(
        self, location_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[Transfer]:
        return []

    async def franchise_currencies(self, location_ids: Sequence[int]) -> list[str]:
        return ["EUR"] if location_ids else []
