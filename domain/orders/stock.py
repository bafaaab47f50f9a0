"""The stock side of orders: every effect is a ledger movement on locked stock rows.

Placing reserves (online) or sells (till); serving turns reservations into sales; cancelling
and expiry release them; returns put goods back. All of them go through ``apply``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.inventory.model import MovementKind, StockLevel
from domain.inventory.ports import MovementDraft
from domain.ports import UnitOfWork

Key = tuple[int, int]  # (variant id, location id)

# what one unit of each movement does to (on hand, reserved), and the ledger's sign
EFFECT: dict[MovementKind, tuple[int, int, int]] = {
    MovementKind.RESERVATION: (0, 1, 1),
    MovementKind.RELEASE: (0, -1, -1),
    MovementKind.SALE: (-1, 0, -1),
    MovementKind.RETURN: (1, 0, 1),
}


@dataclass(frozen=True, slots=True)
class StockMove:
    """``quantity`` units of one variant at one location, moved for an order."""

    kind: MovementKind
    variant_id: int
    location_id: int
    quantity: int

    @property
    def key(self) -> Key:
        """The stock row it changes."""
        return (self.variant_id, self.location_id)


async def apply(
    uow: UnitOfWork,
    moves: Sequence[StockMove],
    *,
    order_id: int,
    reason: str,
    actor: str,
    levels: dict[Key, StockLevel] | None = None,
) -> None:
    """Apply the moves to the stock rows (locked here in key order unless the caller holds
    them in ``levels``), one save per row and one ledger line per move."""
    if not moves:
        return
    if levels is None:
        levels = await uow.inventory.lock(sorted({m.key for m in moves}))
    for key in dict.fromkeys(m.key for m in moves):
        mine = [m for m in moves if m.key == key]
        level = levels[key]
        for move in mine:
            on_hand, reserved, _ = EFFECT[move.kind]
            level = StockLevel(
                level.location_id,
                level.on_hand + on_hand * move.quantity,
                level.reserved + reserved * move.quantity,
                level.safety_stock,
            )
        levels[key] = level
        await uow.inventory.save(key[0], level)
        for move in mine:
            await uow.inventory.add_movement(
                MovementDraft.leaving(
                    move.variant_id,
                    level,
                    kind=move.kind,
                    delta=EFFECT[move.kind][2] * move.quantity,
                    reason=reason,
                    actor=actor,
                    reference=f"order:{order_id}",
                )
            )
    uow.touched.add("stock")


async def serve_reserved(uow: UnitOfWork, order_id: int, location_id: int, actor: str) -> None:
    """The goods held at a location left with the buyer: reservations become sales."""
    held = [
        r
        for r in await uow.orders.reservations(order_id, status="ACTIVE")
        if r.location_id == location_id
    ]
    moves = [
        StockMove(kind, r.variant_id, r.location_id, r.quantity)
        for r in held
        for kind in (MovementKind.RELEASE, MovementKind.SALE)
    ]
    await apply(uow, moves, order_id=order_id, reason="fulfilled", actor=actor)
    await uow.orders.set_reservation_status([r.id for r in held], "FULFILLED")
    if not held:
        uow.touched.add("stock")


async def release_all(uow: UnitOfWork, order_id: int, *, actor: str, reason: str) -> None:
    """Give back every active reservation of an order."""
    held = await uow.orders.reservations(order_id, status="ACTIVE")
    moves = [StockMove(MovementKind.RELEASE, r.variant_id, r.location_id, r.quantity) for r in held]
    await apply(uow, moves, order_id=order_id, reason=reason, actor=actor)
    await uow.orders.set_reservation_status([r.id for r in held], "RELEASED")
