"""Tortoise implementation of the inventory port: stock rows and the movement ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import reduce
from operator import or_

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from adapters.db import convert
from adapters.db import models as m
from domain.inventory.model import MovementKind, StockLevel
from domain.inventory.ports import Movement, MovementDraft, StockChanges

# One round trip under the row's lock: reserve if available, write the movement, return both.
_RESERVE = """
WITH s AS (
  UPDATE stock SET reserved = reserved + $3
  WHERE variant_id = $1 AND location_id = $2 AND on_hand - reserved - safety_stock >= $3
  RETURNING variant_id, location_id, on_hand, reserved, safety_stock
), mv AS (
  INSERT INTO stock_movement
    (variant_id, location_id, kind, delta, on_hand_after, reason, actor, reference, created_at)
  SELECT variant_id, location_id, 'RESERVATION', $3, on_hand, $4, $5, $6, $7 FROM s
  RETURNING id
)
SELECT s.on_hand, s.reserved, s.safety_stock, mv.id FROM s, mv
"""


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

    async def levels(
        self, variant_ids: Sequence[int], *, publish: Sequence[int] = ()
    ) -> dict[int, list[StockLevel]]:
        result: dict[int, list[StockLevel]] = {v: [] for v in variant_ids}
        for row in await m.Stock.filter(variant_id__in=list(variant_ids)).using_db(self.conn):
            result[row.variant_id].append(convert.stock_level(row))  # type: ignore[attr-defined]
        self.changes.read_all(result, publish)
        return result

    async def reserve(
        self, variant_id: int, location_id: int, quantity: int, *, reason: str, actor: str,
        reference: str,
    ) -> StockLevel | None:  # fmt: skip
        at = datetime.now(UTC)
        if self.conn.capabilities.dialect == "postgres":
            row = await self.conn.execute_query(
                _RESERVE, [variant_id, location_id, quantity, reason, actor, reference, at]
            )
            if not row[1]:
                return None
            on_hand, reserved, safety_stock, movement_id = row[1][0]
            level = StockLevel(location_id, on_hand, reserved, safety_stock)
            self.changes.wrote(variant_id, level)
            self.changes.versions[(variant_id, location_id)] = int(movement_id)
            return level
        # elsewhere (SQLite: one writer at a time) the same in three statements
        found = await (
            m.Stock.filter(variant_id=variant_id, location_id=location_id)
            .using_db(self.conn)
            .first()
        )
        if found is None:
            return None
        before = convert.stock_level(found)
        if before.available < quantity:
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
