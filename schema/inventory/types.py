"""Inventory types: InventoryLevel, StockMovement, the inventory inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.inventory.services import LevelResult
from schema.common import UserError
from schema.relay import to_global_id


@strawberry.type(description="Stock of one variant at one location.")
class InventoryLevel:
    variant_id: strawberry.ID
    location_id: strawberry.ID
    on_hand: int
    reserved: int
    safety_stock: int
    available: int

    @classmethod
    def of(cls, level: LevelResult) -> InventoryLevel:
        return cls(
            variant_id=strawberry.ID(to_global_id("ProductVariant", level.variant_id)),
            location_id=strawberry.ID(to_global_id("Location", level.location_id)),
            on_hand=level.on_hand,
            reserved=level.reserved,
            safety_stock=level.safety_stock,
            available=level.available,
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
    inventory_level: InventoryLevel | None = None
    user_errors: list[UserError]


@strawberry.type
class InventoryTransferPayload:
    source: InventoryLevel | None = None
    destination: InventoryLevel | None = None
    user_errors: list[UserError]
