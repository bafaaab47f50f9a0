"""Tortoise implementation of the inventory port: stock rows and the movement ledger."""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from operator import or_

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from adapters.db import convert
from adapters.db import models as m
from domain.inventory.model import StockLevel
from domain.inventory.ports import Movement, MovementDraft, StockChanges


class TortoiseInventoryRepository:
    """Stock rows (locked in primary-key order) and the movement ledger."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn
        self.changes = StockChanges.empty()  # for the availability counter, after the commit

    async def lock(
        self, keys: Sequence[tuple[int, int]], *, create: bool = True
    ) -> dict[tuple[int, int], StockLevel]:
        wanted = sorted(set(keys))
        if create:
            await m.Stock.bulk_create(
                [m.Stock(variant_id=v, location_id=loc) for v, loc in wanted],
                ignore_conflicts=True,
                using_db=self.conn,
            )
        condition = reduce(or_, [Q(variant_id=v, location_id=loc) for v, loc in wanted])
        rows = (
            await m.Stock.filter(condition).select_for_update().using_db(self.conn).order_by("id")
        )
        found = {(r.variant_id, r.location_id): convert.stock_level(r) for r in rows}  # type: ignore[attr-defined]
        for (variant_id, _), level in found.items():
            self.changes.read(variant_id, level)
        return found

    async def levels(self, variant_ids: Sequence[int]) -> dict[int, list[StockLevel]]:
        result: dict[int, list[StockLevel]] = {v: [] for v in variant_ids}
        for row in await m.Stock.filter(variant_id__in=list(variant_ids)).using_db(self.conn):
            result[row.variant_id].append(convert.stock_level(row))  # type: ignore[attr-defined]
        return result

    async def save(self, variant_id: int, level: StockLevel) -> None:
        await (
            m.Stock.filter(variant_id=variant_id, location_id=level.location_id)
            .using_db(self.conn)
            .update(on_hand=level.on_hand, reserved=level.reserved, safety_stock=level.safety_stock)
        )
        self.changes.wrote(variant_id, level)

    async def add_movement(self, draft: MovementDraft) -> Movement:
        row = await m.StockMovement.create(
            using_db=self.conn,
            variant_id=draft.variant_id,
            location_id=draft.location_id,
            kind=str(draft.kind),
            delta=draft.delta,
            on_hand_after=draft.on_hand_after,
            reason=draft.reason,
            actor=draft.actor,
            reference=draft.reference,
        )
        movement = convert.movement(row)
        self.changes.moved(movement)
        return movement
