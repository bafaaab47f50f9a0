"""Resolvers of inventory: staff stock reads and the stock mutations."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.identity.model import Role, Scope
from domain.inventory import services as svc
from resolvers.context import Context
from schema.inventory.types import (
    InventoryAdjustInput,
    InventoryAdjustPayload,
    InventoryLevel,
    InventorySetInput,
    InventoryTransferInput,
    InventoryTransferPayload,
    StockMovement,
)
from schema.relay import expect_id, to_global_id


async def inventory_levels(
    info: Info[Context, None], variant_id: strawberry.ID
) -> list[InventoryLevel]:
    """Staff or partners with inventory:read: a variant's stock per location."""
    info.context.principal.require(scope=Scope.INVENTORY_READ, roles=tuple(Role))
    ident = expect_id(variant_id, "ProductVariant", field="variantId")
    levels = await info.context.stock_levels(ident)
    return [
        InventoryLevel.of(svc.LevelResult.of(ident, lv, None))
        for lv in sorted(levels, key=lambda lv: lv.location_id)
    ]


async def stock_movements(
    info: Info[Context, None],
    variant_id: strawberry.ID | None = None,
    location_id: strawberry.ID | None = None,
    first: int = 50,
) -> list[StockMovement]:
    """Staff or partners with inventory:read: the newest ledger lines."""
    ctx = info.context
    ctx.principal.require(scope=Scope.INVENTORY_READ, roles=tuple(Role))
    ctx.check_first(first)
    rows = await ctx.services.queries.movements(
        variant_id=expect_id(variant_id, "ProductVariant", field="variantId")
        if variant_id
        else None,
        location_id=expect_id(location_id, "Location", field="locationId") if location_id else None,
        limit=first,
        before_id=None,
    )
    return [
        StockMovement(
            id=strawberry.ID(to_global_id("StockMovement", m.id)),
            variant_id=strawberry.ID(to_global_id("ProductVariant", m.variant_id)),
            location_id=strawberry.ID(to_global_id("Location", m.location_id)),
            kind=m.kind,
            delta=m.delta,
            on_hand_after=m.on_hand_after,
            reason=m.reason,
            actor=m.actor,
            reference=m.reference,
            created_at=m.created_at,
        )
        for m in rows
    ]


async def inventory_adjust(
    info: Info[Context, None], input: InventoryAdjustInput
) -> InventoryAdjustPayload:
    """Staff or partners: add or remove units at a location, with a reason."""
    ctx = info.context
    result = await svc.adjust(
        ctx.services.uow,
        ctx.principal,
        variant_id=expect_id(input.variant_id, "ProductVariant", field="variantId"),
        location_id=expect_id(input.location_id, "Location", field="locationId"),
        delta=input.delta,
        reason=input.reason,
        idempotency_key=input.idempotency_key,
    )
    return InventoryAdjustPayload(inventory_level=InventoryLevel.of(result), user_errors=[])


async def inventory_set(
    info: Info[Context, None], input: InventorySetInput
) -> InventoryAdjustPayload:
    """Staff or partners: set the counted quantity (compare-and-set when expected is given)."""
    ctx = info.context
    result = await svc.set_quantity(
        ctx.services.uow,
        ctx.principal,
        variant_id=expect_id(input.variant_id, "ProductVariant", field="variantId"),
        location_id=expect_id(input.location_id, "Location", field="locationId"),
        quantity=input.quantity,
        expected=input.expected_quantity,
        reason=input.reason,
        safety_stock=input.safety_stock,
    )
    return InventoryAdjustPayload(inventory_level=InventoryLevel.of(result), user_errors=[])


async def inventory_transfer(
    info: Info[Context, None], input: InventoryTransferInput
) -> InventoryTransferPayload:
    """Staff: move units from one location to another."""
    ctx = info.context
    result = await svc.transfer(
        ctx.services.uow,
        ctx.principal,
        variant_id=expect_id(input.variant_id, "ProductVariant", field="variantId"),
        from_location_id=expect_id(input.from_location_id, "Location", field="fromLocationId"),
        to_location_id=expect_id(input.to_location_id, "Location", field="toLocationId"),
        quantity=input.quantity,
        reason=input.reason,
        idempotency_key=input.idempotency_key,
    )
    return InventoryTransferPayload(
        source=InventoryLevel.of(result.source),
        destination=InventoryLevel.of(result.destination),
        user_errors=[],
    )
