"""Inventory fields of the Query and Mutation roots."""

from __future__ import annotations

import strawberry

from resolvers import inventory as resolve
from schema.errors import authenticated
from schema.inventory.types import (
    InventoryAdjustPayload,
    InventoryLevel,
    InventoryTransferPayload,
    StockMovement,
)


@strawberry.type
class InventoryQuery:
    inventory_levels: list[InventoryLevel] = strawberry.field(
        resolver=resolve.inventory_levels, description="Staff: stock of a variant per location."
    )
    stock_movements: list[StockMovement] = strawberry.field(
        resolver=resolve.stock_movements, description="Staff: the stock ledger, newest first."
    )


@strawberry.type
class InventoryMutation:
    inventory_adjust: InventoryAdjustPayload = strawberry.mutation(
        resolver=resolve.inventory_adjust, extensions=[authenticated()]
    )
    inventory_set: InventoryAdjustPayload = strawberry.mutation(
        resolver=resolve.inventory_set, extensions=[authenticated()]
    )
    inventory_transfer: InventoryTransferPayload = strawberry.mutation(
        resolver=resolve.inventory_transfer, extensions=[authenticated()]
    )
