"""What settlement needs from storage: franchisees and wholesale prices, commission entries
not yet settled, statements and their lines, and the facts a franchisee is settled on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

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


class FranchiseRepository(Protocol):
    """Franchisees, the stores they own, and the brand's wholesale prices."""

    async def franchisees(self) -> list[Franchisee]:
        """Every franchisee with its stores, by id."""
        ...

    async def franchisee(self, franchisee_id: int) -> Franchisee | None: ...

    async def handle_taken(self, handle: str) -> bool: ...

    async def create(self, *, handle: str, name: str, contact: dict[str, str]) -> Franchisee: ...

    async def assign(self, location_id: int, franchisee_id: int | None) -> None:
        """Make the location the franchisee's (None: company-owned again)."""
        ...

    async def owners_of(self, location_ids: Sequence[int]) -> dict[int, Franchisee]:
        """The franchisee owning each of ``location_ids`` (company-owned ones left out)."""
        ...

    async def set_wholesale(self, prices: Mapping[tuple[int, str], int]) -> None:
        """Set (variant id, currency) -> amount in minor units, replacing earlier ones."""
        ...

    async def wholesale(self, variant_ids: Sequence[int], currency: str) -> dict[int, int]: ...

    async def known_variants(self, variant_ids: Sequence[int]) -> set[int]: ...


class SettlementRepository(Protocol):
    """Statements, their lines, and the commission entries they settle.

    ``open_statement`` and ``take_open_entries`` lock what they return until the transaction
    ends (PostgreSQL row locks), so that two closes at once never put one entry on two
    statements: the second waits, then sees the entries taken.
    """

    async def beneficiaries_with_open_entries(self, period: str) -> list[Beneficiary]:
        """Who has commission entries not on any statement, of ``period`` or earlier."""
        ...

    async def open_statement(
        self, beneficiary: Beneficiary, period: str, *, create: bool
    ) -> Statement | None:
        """The beneficiary's statement of ``period``, locked; created (DRAFT) if missing and
        ``create``."""
        ...

    async def take_open_entries(self, beneficiary: Beneficiary, period: str) -> list[OpenEntry]:
        """The beneficiary's entries of ``period`` or earlier not on any statement, locked."""
        ...

    async def assign_entries(self, entry_ids: Sequence[int], statement_id: int) -> None: ...

    async def add_lines(self, statement_id: int, lines: Sequence[StatementLine]) -> None: ...

    async def remove_lines(self, statement_id: int, kinds: Sequence[LineKind]) -> None: ...

    async def line_total(self, statement_id: int) -> int: ...

    async def save_statement(self, statement: Statement) -> None: ...

    async def statement(self, statement_id: int, *, lock: bool = False) -> Statement | None: ...

    async def statements(
        self,
        *,
        period: str | None,
        kind: str | None,
        ids: Mapping[str, Sequence[int]] | None,
    ) -> list[Statement]:
        """Statements of a period and kind (None: any); ``ids``, when given, narrows to those
        beneficiaries per kind (a kind missing from it: none of that kind)."""
        ...

    async def lines(self, statement_ids: Sequence[int]) -> dict[int, list[StatementLine]]:
        """Each statement's lines in order, with their orders' numbers."""
        ...

    async def names(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """Each beneficiary's name: a clerk's, a store's, a venue code's, a franchisee's."""
        ...

    async def staff_at(self, location_ids: Sequence[int]) -> list[int]:
        """Staff accounts working at any of ``location_ids``."""
        ...

    async def till_sales(
        self, location_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[TillSale]: ...

    async def till_refunds(
        self, location_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[TillRefund]: ...

    async def fulfilled_orders(
        self, location_ids: Sequence[int], start: datetime, end: datetime, currency: str
    ) -> list[FulfilledOrder]: ...

    async def transfers(
        self, location_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[Transfer]:
        """Transfers between the given stores and locations outside them, priced at the
        wholesale price in each store's currency."""
        ...

    async def franchise_currencies(self, location_ids: Sequence[int]) -> list[str]:
        """The currencies the stores sell in (their till channels'), at least one."""
        ...
