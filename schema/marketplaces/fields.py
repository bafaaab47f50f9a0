"""Marketplace fields of the Query and Mutation roots (owners and admins)."""

from __future__ import annotations

import strawberry

from resolvers import marketplaces as resolve
from schema.marketplaces.types import (
    MarketplaceCall,
    MarketplaceListingSync,
    MarketplaceOrderRetryPayload,
    MarketplaceOrderSync,
    MarketplaceResyncPayload,
    MarketplaceSync,
)


@strawberry.type
class MarketplaceQuery:
    marketplace_syncs: list[MarketplaceSync] = strawberry.field(
        resolver=resolve.marketplace_syncs,
        description="Owners and admins: every marketplace account's sync, with its lag.",
    )
    marketplace_sync: MarketplaceSync | None = strawberry.field(
        resolver=resolve.marketplace_sync,
        description="Owners and admins: one marketplace channel's sync.",
    )


@strawberry.type
class MarketplaceMutation:
    marketplace_resync: MarketplaceResyncPayload = strawberry.mutation(
        resolver=resolve.marketplace_resync,
        description="Owners and admins: push SKUs again now (all of the channel's when none "
        "is named), dead letters included.",
    )
    marketplace_order_retry: MarketplaceOrderRetryPayload = strawberry.mutation(
        resolver=resolve.marketplace_order_retry,
        description="Owners and admins: pull a flagged marketplace order again and place it.",
    )


__all__ = [
    "MarketplaceCall",
    "MarketplaceListingSync",
    "MarketplaceMutation",
    "MarketplaceOrderSync",
    "MarketplaceQuery",
]
