"""What attribution of orders and commissions need from storage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from domain.attribution.model import Attribution, BeneficiaryKind
from domain.commissions.rules import CommissionRule, Entry


@dataclass(frozen=True, slots=True)
class Store:
    """A location as attribution sees it: its name, whether it is a store, its franchisee."""

    id: int
    name: str
    is_store: bool
    franchisee_id: int | None = None
    franchisee_name: str = ""


@dataclass(frozen=True, slots=True)
class Parties:
    """Names of who an order may credit: locations, staff, codes (by id)."""

    stores: dict[int, Store] = field(default_factory=dict)
    staff: dict[int, str] = field(default_factory=dict)
    codes: dict[int, str] = field(default_factory=dict)
    staff_roles: dict[int, str] = field(default_factory=dict)  # OWNER ADMIN STORE_MANAGER CLERK


@dataclass(frozen=True, slots=True)
class EntryQuery:
    """Which commission entries to read: a period, beneficiaries (None: any), a page size."""

    period: str | None = None
    beneficiaries: tuple[tuple[BeneficiaryKind, int], ...] | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class Total:
    """What one beneficiary accrued and had reversed, in one currency, for the entries read."""

    beneficiary_kind: BeneficiaryKind
    beneficiary_id: int
    currency: str
    accrued: int
    reversed: int  # negative or 0


class CommissionRepository(Protocol):
    """Order attributions, commission rules and entries, in the caller's transaction.

    ``timezone`` is the brand's (a period is a calendar month there), set by the composition
    root; the domain never reads settings."""

    timezone: str

    async def parties(
        self, *, location_ids: Sequence[int], staff_ids: Sequence[int], code_ids: Sequence[int]
    ) -> Parties:
        """Names of these locations (with their franchisee), staff and codes, in one read."""
        ...

    async def add_attributions(self, order_id: int, attributions: Sequence[Attribution]) -> None:
        """Store an order's attributions."""
        ...

    async def attributions(self, order_ids: Sequence[int]) -> dict[int, list[Attribution]]:
        """Each order's attributions, in the order they were made."""
        ...

    async def rules(self, *, active_only: bool) -> list[CommissionRule]:
        """Commission rules, oldest first."""
        ...

    async def rule(self, rule_id: int, *, for_update: bool = False) -> CommissionRule | None:
        """One rule."""
        ...

    async def save_rule(self, rule: CommissionRule) -> CommissionRule:
        """Insert (id 0) or replace a rule; returns it as stored."""
        ...

    async def lock_rules(self) -> None:
        """Serialise rule changes (a duplicate check then an insert must not interleave)."""
        ...

    async def entries(self, order_id: int) -> list[Entry]:
        """An order's commission entries, oldest first."""
        ...

    async def add_entries(self, entries: Sequence[Entry]) -> None:
        """Store new entries (statement_id NULL)."""
        ...

    async def find_entries(self, query: EntryQuery) -> list[Entry]:
        """Entries matching ``query``, newest first, at most ``query.limit``."""
        ...

    async def totals(self, query: EntryQuery) -> list[Total]:
        """Accrued and reversed per beneficiary and currency over every entry matching
        ``query`` (its limit aside)."""
        ...

    async def staff_at(self, location_ids: Sequence[int]) -> list[int]:
        """The staff accounts working at any of these locations."""
        ...
