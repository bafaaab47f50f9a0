"""The points port in memory: lots, the ledger, the loyalty program and the tiers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from adapters.memory.state import MemoryState, StoredLot
from domain.loyalty.model import (
    Consumption,
    EntryKind,
    Lot,
    OrderReversals,
    PointsEntry,
    TierChange,
)
from domain.loyalty.program import LoyaltyProgram, Tier


class InMemoryPointsRepository:
    """Members' points in a :class:`MemoryState`; ``lock`` has nothing to wait for."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def lock(self, member_id: int) -> None:
        return None

    async def lots(self, member_id: int) -> list[Lot]:
        return [
            s.lot
            for _, s in sorted(self.state.lots.items())
            if s.member_id == member_id and s.lot.remaining > 0
        ]

    async def add_lot(
        self,
        member_id: int,
        *,
        points: int,
        earned_at: datetime,
        expires_at: datetime | None,
        order_id: int | None,
    ) -> int:
        lot_id = self.state.next_id("points_lot")
        lot = Lot(lot_id, points, points, earned_at, expires_at)
        self.state.lots[lot_id] = StoredLot(member_id, lot, order_id)
        return lot_id

    async def consume(self, consumptions: Sequence[Consumption]) -> None:
        for c in consumptions:
            stored = self.state.lots[c.lot_id]
            stored.lot = replace(stored.lot, remaining=stored.lot.remaining - c.points)

    async def has_entry(self, dedupe_key: str) -> bool:
        return any(e.dedupe_key == dedupe_key for e in self.state.entries)

    async def add_entry(self, entry: PointsEntry) -> None:
        if entry.dedupe_key is not None and await self.has_entry(entry.dedupe_key):
            raise ValueError(f"points entry {entry.dedupe_key!r} exists")
        self.state.entries.append(entry)

    async def program(self) -> LoyaltyProgram:
        return self.state.program or LoyaltyProgram()

    async def save_program(self, program: LoyaltyProgram) -> None:
        self.state.program = program

    async def members_with_expired_lots(self, *, at: datetime, limit: int) -> list[int]:
        expired = {
            s.member_id
            for s in self.state.lots.values()
            if s.lot.remaining > 0 and s.lot.expires_at is not None and s.lot.expires_at <= at
        }
        return sorted(expired)[:limit]

    async def tiers(self) -> list[Tier]:
        return list(self.state.tiers)

    async def spend_12_months(self, member_id: int, *, since: datetime) -> int:
        return sum(
            o.total - o.refunded_total
            for o in self.state.spend_orders()
            if o.member_id == member_id and o.created_at >= since
        )

    async def add_tier_change(self, change: TierChange) -> None:
        self.state.tier_changes.append(change)

    async def category_ids(self, variant_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
        found: dict[int, tuple[int, ...]] = {}
        for variant_id in variant_ids:
            if variant_id in self.state.variants:
                category = self.state.category_of(variant_id)
                found[variant_id] = (category,) if category is not None else ()
        return found

    async def order_reversals(self, order_id: int) -> OrderReversals:
        mine = [e for e in self.state.entries if e.order_id == order_id]
        earn_back = [e for e in mine if e.kind == EntryKind.EARN_REVERSAL]
        burn_back = [
            e
            for e in mine
            if e.kind == EntryKind.BURN_REVERSAL and not (e.dedupe_key or "").endswith(":cancel")
        ]
        return OrderReversals(
            reversed_earn=sum(e.reversed_points or 0 for e in earn_back),
            returned_burn=sum(e.points for e in burn_back),
            returned_value=sum(e.returned_value or 0 for e in earn_back),
        )
