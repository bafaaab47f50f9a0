"""Staff inventory reads and the inventory mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from domain.errors import DomainError
from domain.identity.model import Role, Scope
from domain.inventory import services as svc
from resolvers.context import Context
from schema.common import UserError
from schema.errors import authenticated
from schema.relay import expect_id, to_global_id


@strawberry.type(description="Stock of one variant at one location.")
class InventoryLevel:
    variant_id: strawberry.ID
    location_id: strawberry.ID
    on_hand: int
    reserved: int
    safety_stock: int
    available: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> InventoryLevel:
        return cls(
            variant_id=strawberry.ID(to_global_id("ProductVariant", data["variant_id"])),
            location_id=strawberry.ID(to_global_id("Location", data["location_id"])),
            on_hand=data["on_hand"],
            reserved=data["reserved"],
            safety_stock=data["safety_stock"],
            available=data["available"],
        )


@strawberry.type(description="One line of the stock ledger.")
class StockMovement:
    id: strawberry.ID
    variant_id: strawberry.ID
    location_id: strawberry.ID
    kind: str
    delta: int
    on_hand_after: int
    reason: str
    actor: str
    reference: str | None
    created_at: datetime


async def inventory_levels(
    info: Info[Context, None], variant_id: strawberry.ID
) -> list[InventoryLevel]:
    """Staff or partners with inventory:read: a variant's stock per location."""
    info.context.principal.require(scope=Scope.INVENTORY_READ, roles=tuple(Role))
    ident = expect_id(variant_id, "ProductVariant", field="variantId")
    levels = await info.context.loaders.stock_by_variant.load(ident)
    return [
        InventoryLevel.of(svc.level_dict(ident, lv, None))
        for lv in sorted(levels, key=lambda lv: lv.location_id)
    ]


async def stock_movements(
    info: Info[Context, None],
    variant_id: strawberry.ID | None = None,
    location_id: strawberry.ID | None = None,
    first: int = 50,
) -> list[StockMovement]:
    """Staff or partners with inventory:read: the newest ledger lines."""
    info.context.principal.require(scope=Scope.INVENTORY_READ, roles=tuple(Role))
    if not 1 <= first <= info.context.services.settings.max_page_size:
        raise DomainError("MAX_PAGE_SIZE_EXCEEDED", "first is out of range", field="first")
    rows = await info.context.services.queries.movements(
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


@strawberry.input
class InventoryAdjustInput:
    variant_id: strawberry.ID
    location_id: strawberry.ID
    delta: int
    reason: str = strawberry.field(description="received, correction, damaged, theft_or_loss, …")
    idempotency_key: str | None = None


@strawberry.input
class InventorySetInput:
    variant_id: strawberry.ID
    location_id: strawberry.ID
    quantity: int
    expected_quantity: int | None = strawberry.field(
        default=None, description="Compare-and-set: refused when on-hand is no longer this."
    )
    safety_stock: int | None = None
    reason: str = "cycle_count"


@strawberry.input
class InventoryTransferInput:
    variant_id: strawberry.ID
    from_location_id: strawberry.ID
    to_location_id: strawberry.ID
    quantity: int
    reason: str = "transfer"
    idempotency_key: str | None = None


@strawberry.type
class InventoryAdjustPayload:
    inventory_level: InventoryLevel | None
    user_errors: list[UserError]


@strawberry.type
class InventoryTransferPayload:
    source: InventoryLevel | None
    destination: InventoryLevel | None
    user_errors: list[UserError]


@strawberry.type
class InventoryMutation:
    @strawberry.mutation(extensions=[authenticated()])
    async def inventory_adjust(
        self, info: Info[Context, None], input: InventoryAdjustInput
    ) -> InventoryAdjustPayload:
        ctx = info.context
        try:
            result = await svc.adjust(
                ctx.services.uow,
                ctx.principal,
                variant_id=expect_id(input.variant_id, "ProductVariant", field="variantId"),
                location_id=expect_id(input.location_id, "Location", field="locationId"),
                delta=input.delta,
                reason=input.reason,
                idempotency_key=input.idempotency_key,
            )
        except DomainError as error:
            return InventoryAdjustPayload(inventory_level=None, user_errors=[UserError.of(error)])
        return InventoryAdjustPayload(inventory_level=InventoryLevel.of(result), user_errors=[])

    @strawberry.mutation(extensions=[authenticated()])
    async def inventory_set(
        self, info: Info[Context, None], input: InventorySetInput
    ) -> InventoryAdjustPayload:
        ctx = info.context
        try:
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
        except DomainError as error:
            return InventoryAdjustPayload(inventory_level=None, user_errors=[UserError.of(error)])
        return InventoryAdjustPayload(inventory_level=InventoryLevel.of(result), user_errors=[])

    @strawberry.mutation(extensions=[authenticated()])
    async def inventory_transfer(
        self, info: Info[Context, None], input: InventoryTransferInput
    ) -> InventoryTransferPayload:
        ctx = info.context
        try:
            result = await svc.transfer(
                ctx.services.uow,
                ctx.principal,
                variant_id=expect_id(input.variant_id, "ProductVariant", field="variantId"),
                from_location_id=expect_id(
                    input.from_location_id, "Location", field="fromLocationId"
                ),
                to_location_id=expect_id(input.to_location_id, "Location", field="toLocationId"),
                quantity=input.quantity,
                reason=input.reason,
                idempotency_key=input.idempotency_key,
            )
        except DomainError as error:
            return InventoryTransferPayload(
                source=None, destination=None, user_errors=[UserError.of(error)]
            )
        return InventoryTransferPayload(
            source=InventoryLevel.of(result["from"]),
            destination=InventoryLevel.of(result["to"]),
            user_errors=[],
        )
