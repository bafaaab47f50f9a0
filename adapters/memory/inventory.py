"""The inventory port in memory: stock levels and the movement ledger."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.memory.state import MemoryState
from domain.inventory.model import MovementKind, StockLevel
from domain.inventory.ports import Movement, MovementDraft, StockChanges


class InMemoryInventoryRepository:
    """Stock per (variant, location) and the movements in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state
        self.changes = StockChanges.empty()  # for the availability counter, after the commit

    async def lock(
        self, keys: Sequence[tuple[int, int]], *, create: bool = True
    ) -> dict[tuple[int, int], StockLevel]:
        for variant_id, location_id in sorted(set(keys)):
            self.state.stock.setdefault((variant_id, location_id), StockLevel(location_id, 0, 0, 0))
        found = {key: self.state.stock[key] for key in sorted(set(keys))}
        for (variant_id, _), level in found.items():
            self.changes.read(variant_id, level)
        return found

    async def levels(
        self, variant_ids: Sequence[int], *, publish: Sequence[int] = ()
    ) -> dict[int, list[StockLevel]]:
        found: dict[int, list[StockLevel]] = {v: [] for v in variant_ids}
        for (variant_id, _), level in sorted(self.state.stock.items()):
            if variant_id in found:
                found[variant_id].append(level)
        self.changes.read_all(found, publish)
        return found

    async def reserve(
        self, variant_id: int, location_id: int, quantity: int, *, reason: str, actor: str,
        reference: str,
    ) -> StockLevel | None:  # fmt: skip
        before = self.state.stock.get((variant_id, location_id))
        if before is None or before.available < quantity:
            return None
        level = StockLevel(
            location_id, before.on_hand, before.reserved + quantity, before.safety_stock
        )
        await self.save(variant_id, level)
        await self.add_movement(
            MovementDraft.leaving(
                variant_id, level, kind=MovementKind.RESERVATION, delta=quantity, reason=reason,
                actor=actor, reference=reference,
            )
        )  # fmt: skip
        return level

    async def save(self, variant_id: int, level: StockLevel) -> None:
        key = (variant_id, level.location_id)
        if key in self.state.stock:  # like an UPDATE: a row never locked is not created
            self.state.stock[key] = level
            self.changes.wrote(variant_id, level)

    async def add_movement(self, draft: MovementDraft) -> Movement:
        movement = Movement(
            id=self.state.next_id("stock_movement"),
            variant_id=draft.variant_id,
            location_id=draft.location_id,
            kind=str(draft.kind),
            delta=draft.delta,
            on_hand_after=draft.on_hand_after,
            reason=draft.reason,
            actor=draft.actor,
            reference=draft.reference,
            created_at=self.state.now(),
        )
        self.state.movements[movement.id] = movement
        self.changes.moved(movement)
        return movement
