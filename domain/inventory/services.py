"""Stock use cases: adjust, count (set) and transfer, each a ledger movement with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.errors import DomainError, NotFound
from domain.idempotency import run_once
from domain.identity.model import Principal, Scope
from domain.inventory.model import (
    InventoryErrorCode,
    MovementKind,
    StockLevel,
    apply_adjustment,
    apply_set,
    plan_transfer,
)
from domain.inventory.ports import MovementDraft
from domain.ports import UnitOfWork, UnitOfWorkFactory

_REASONS = {
    "received": MovementKind.RECEIPT,
    "correction": MovementKind.ADJUSTMENT,
    "damaged": MovementKind.ADJUSTMENT,
    "theft_or_loss": MovementKind.ADJUSTMENT,
    "return_restock": MovementKind.RETURN,
    "cycle_count": MovementKind.COUNT,
    "other": MovementKind.ADJUSTMENT,
}


@dataclass(frozen=True, slots=True)
class LevelResult:
    """A stock row after a mutation, and the ledger line it wrote (also what a replay returns)."""

    variant_id: int
    location_id: int
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    movement_id: int | None

    @classmethod
    def of(cls, variant_id: int, level: StockLevel, movement_id: int | None) -> LevelResult:
        """The result for ``level`` of ``variant_id``."""
        return cls(
            variant_id,
            level.location_id,
            level.on_hand,
            level.reserved,
            level.safety_stock,
            level.available,
            movement_id,
        )


@dataclass(frozen=True, slots=True)
class TransferResult:
    """Both ends of a transfer."""

    source: LevelResult
    destination: LevelResult

    @classmethod
    def stored(cls, source: dict[str, Any], destination: dict[str, Any]) -> TransferResult:
        """A transfer's result as an idempotency replay reads it back."""
        return cls(LevelResult(**source), LevelResult(**destination))


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise DomainError(
            InventoryErrorCode.REASON_REQUIRED, "a reason is required", field="reason"
        )
    return reason[:255]


async def _check_targets(uow: UnitOfWork, variant_id: int, *location_ids: int) -> None:
    if await uow.catalog.variant(variant_id) is None:
        raise NotFound("variant", field="variantId")
    for location_id in location_ids:
        if await uow.locations.location(location_id) is None:
            raise NotFound("location", field="locationId")


async def adjust(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    variant_id: int,
    location_id: int,
    delta: int,
    reason: str,
    idempotency_key: str | None,
) -> LevelResult:
    """Add ``delta`` (may be negative) to on-hand stock; on-hand never goes below zero."""
    principal.require_location(location_id, scope=Scope.INVENTORY_WRITE)
    reason = _check_reason(reason)
    kind = _REASONS.get(reason.lower(), MovementKind.ADJUSTMENT)

    async def work(uow: UnitOfWork) -> LevelResult:
        await _check_targets(uow, variant_id, location_id)
        level = (await uow.inventory.lock([(variant_id, location_id)]))[(variant_id, location_id)]
        new = apply_adjustment(level, delta=delta)
        await uow.inventory.save(variant_id, new)
        draft = MovementDraft.leaving(
            variant_id, new, kind=kind, delta=delta, reason=reason, actor=principal.subject
        )
        movement = await uow.inventory.add_movement(draft)
        uow.touched.add("stock")
        return LevelResult.of(variant_id, new, movement.id)

    payload = {"v": variant_id, "l": location_id, "d": delta, "r": reason}
    return await run_once(
        uow_factory,
        scope="inventoryAdjust",
        caller=principal.subject,
        key=idempotency_key,
        payload=payload,
        work=work,
        result=LevelResult,
    )


async def set_quantity(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    expected: int | None,
    reason: str,
    safety_stock: int | None = None,
) -> LevelResult:
    """Set on-hand to a counted quantity; with ``expected``, only if nobody changed it since."""
    principal.require_location(location_id, scope=Scope.INVENTORY_WRITE)
    reason = _check_reason(reason)
    if safety_stock is not None and safety_stock < 0:
        raise DomainError(
            InventoryErrorCode.INVALID_QUANTITY, "safety stock is 0 or more", field="safetyStock"
        )
    async with uow_factory() as uow:
        await _check_targets(uow, variant_id, location_id)
        level = (await uow.inventory.lock([(variant_id, location_id)]))[(variant_id, location_id)]
        new, delta = apply_set(level, quantity=quantity, expected=expected)
        if safety_stock is not None:
            new = StockLevel(new.location_id, new.on_hand, new.reserved, safety_stock)
        await uow.inventory.save(variant_id, new)
        movement_id = None
        if delta:
            draft = MovementDraft.leaving(
                variant_id,
                new,
                kind=MovementKind.COUNT,
                delta=delta,
                reason=reason,
                actor=principal.subject,
            )
            movement = await uow.inventory.add_movement(draft)
            movement_id = movement.id
        uow.touched.add("stock")
        return LevelResult.of(variant_id, new, movement_id)


async def transfer(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    variant_id: int,
    from_location_id: int,
    to_location_id: int,
    quantity: int,
    reason: str,
    idempotency_key: str | None,
) -> TransferResult:
    """Move unreserved units from one location to another: two movements, one transaction."""
    principal.require_location(from_location_id, scope=Scope.INVENTORY_WRITE)
    principal.require_location(to_location_id, scope=Scope.INVENTORY_WRITE)
    reason = _check_reason(reason)

    async def work(uow: UnitOfWork) -> TransferResult:
        await _check_targets(uow, variant_id, from_location_id, to_location_id)
        src_key, dst_key = (variant_id, from_location_id), (variant_id, to_location_id)
        levels = await uow.inventory.lock([src_key, dst_key])
        src, dst = plan_transfer(levels[src_key], levels[dst_key], quantity=quantity)
        reference = f"transfer:{from_location_id}->{to_location_id}"
        results = []
        for level, kind, delta in (
            (src, MovementKind.TRANSFER_OUT, -quantity),
            (dst, MovementKind.TRANSFER_IN, quantity),
        ):
            await uow.inventory.save(variant_id, level)
            draft = MovementDraft.leaving(
                variant_id,
                level,
                kind=kind,
                delta=delta,
                reason=reason,
                actor=principal.subject,
                reference=reference,
            )
            movement = await uow.inventory.add_movement(draft)
            results.append(LevelResult.of(variant_id, level, movement.id))
        uow.touched.add("stock")
        return TransferResult(results[0], results[1])

    payload = {"v": variant_id, "f": from_location_id, "t": to_location_id, "q": quantity}
    return await run_once(
        uow_factory,
        scope="inventoryTransfer",
        caller=principal.subject,
        key=idempotency_key,
        payload={**payload, "r": reason},
        work=work,
        result=TransferResult.stored,
    )
