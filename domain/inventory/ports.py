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

    async def lock(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]: ...
    async def levels(self, variant_ids: Sequence[int]) -> dict[int, list[StockLevel]]: ...
    async def save(self, variant_id: int, level: StockLevel) -> None: ...
    async def add_movement(self, draft: MovementDraft) -> Movement: ...
