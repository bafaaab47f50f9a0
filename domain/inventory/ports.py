"""What the stock use cases need from storage: stock rows and the movement ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.inventory.model import MovementKind, StockLevel


@dataclass(frozen=True, slots=True)
class MovementDraft:
    """One line for the stock ledger, before it is stored."""

    variant_id: int
    location_id: int
    kind: MovementKind
    delta: int
    on_hand_after: int
    reason: str
    actor: str
    reference: str | None = None

    @classmethod
    def leaving(
        cls,
        variant_id: int,
        level: StockLevel,
        *,
        kind: MovementKind,
        delta: int,
        reason: str,
        actor: str,
        reference: str | None = None,
    ) -> MovementDraft:
        """The movement of ``delta`` units that left ``level`` behind at its location."""
        return cls(
            variant_id=variant_id,
            location_id=level.location_id,
            kind=kind,
            delta=delta,
            on_hand_after=level.on_hand,
            reason=reason,
            actor=actor,
            reference=reference,
        )


@dataclass(frozen=True, slots=True)
class Movement:
    """One line of the stock ledger."""

    id: int
    variant_id: int
    location_id: int
    kind: str
    delta: int
    on_hand_after: int
    reason: str
    actor: str
    reference: str | None
    created_at: datetime


class InventoryRepository(Protocol):
    """Stock rows and the movement ledger; ``lock`` takes row locks in primary-key order."""

    async def lock(
        self, keys: Sequence[tuple[int, int]], *, create: bool = True
    ) -> dict[tuple[int, int], StockLevel]:
        """The rows, locked; missing ones are created first (``create`` False: the caller
        saw them all, they exist)."""
        ...

    async def levels(
        self, variant_ids: Sequence[int], *, publish: Sequence[int] = ()
    ) -> dict[int, list[StockLevel]]:
        """Every stock row of the variants, without lock; ``publish``: locations whose rows
        fill missing entries of the availability counter when the transaction ends (a row
        that does not exist as 0 available)."""
        ...

    async def save(self, variant_id: int, level: StockLevel) -> None: ...
    async def add_movement(self, draft: MovementDraft) -> Movement: ...

    async def reserve(
        self, variant_id: int, location_id: int, quantity: int, *, reason: str, actor: str,
        reference: str,
    ) -> StockLevel | None:  # fmt: skip
        """Reserve ``quantity`` units of one row if it has them available, with the row's
        RESERVATION movement, in one statement where the database allows it (the row stays
        locked until the transaction ends): the level after, or None (nothing changed) when the
        row has fewer available or does not exist."""
        ...


Key = tuple[int, int]  # (variant id, location id)


@dataclass(slots=True)
class StockChanges:
    """What one transaction learnt about stock rows, for the availability counter.

    ``seen``: units available in rows read under lock (committed values); ``saved``: units
    available in rows this transaction wrote; ``versions``: the last ledger movement written
    per row (movement ids grow in the order the row's writers commit, since each writes under
    the row's lock)."""

    seen: dict[Key, int]
    saved: dict[Key, int]
    versions: dict[Key, int]

    @classmethod
    def empty(cls) -> StockChanges:
        return cls({}, {}, {})

    def read(self, variant_id: int, level: StockLevel) -> None:
        key = (variant_id, level.location_id)
        if key not in self.saved:  # a row this transaction wrote reads its own write
            self.seen[key] = level.available

    def read_all(self, found: dict[int, list[StockLevel]], locations: Sequence[int]) -> None:
        """The rows of ``found`` at ``locations``; a row that does not exist has 0."""
        for variant_id, levels in found.items():
            present = {lv.location_id: lv for lv in levels}
            for location_id in locations:
                self.read(variant_id, present.get(location_id, StockLevel(location_id, 0, 0, 0)))

    def wrote(self, variant_id: int, level: StockLevel) -> None:
        self.saved[(variant_id, level.location_id)] = level.available

    def moved(self, movement: Movement) -> None:
        key = (movement.variant_id, movement.location_id)
        self.versions[key] = max(movement.id, self.versions.get(key, 0))


class StockCounter(Protocol):
    """Units available per stock row, outside the database (Redis, or in-process): a fast
    "sold out" before any transaction. The database stays the judge of every sale."""

    async def available(self, keys: Sequence[Key]) -> dict[Key, int] | None:
        """Units available per row; None when a row is unknown or the store is unreachable."""
        ...

    async def publish(self, changes: StockChanges, *, committed: bool) -> None:
        """Record what a finished transaction wrote (if ``committed``) and read."""
        ...
