"""What the marketplace sync needs from a marketplace: one adapter per API implements this."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.marketplaces.model import (
    ActionDraft,
    Listing,
    MarketplaceKind,
    MarketplaceOrder,
    OrderLink,
    OrderPage,
    PushResult,
    Shipment,
    ShippedLine,
)


class Marketplace(Protocol):
    """One seller account on one marketplace.

    Every method raises ``MarketplaceFailure`` when the call fails after the adapter's own
    retries (rate limits shared by processes, backoff on 429/5xx/timeouts). Pushing is
    absolute (set price and quantity, never add), so repeating a push is harmless."""

    kind: MarketplaceKind

    async def push_listings(self, listings: Sequence[Listing]) -> list[PushResult]:
        """Set price and quantity of a few SKUs, one call per SKU (or the API's batch)."""
        ...

    async def push_bulk(self, listings: Sequence[Listing]) -> list[PushResult]:
        """Set price and quantity of many SKUs through the marketplace's bulk feed, waiting
        for its processing report; one result per SKU."""
        ...

    async def orders_since(self, since: datetime | None) -> OrderPage:
        """Orders created or changed since ``since`` (all recent ones when None), every page."""
        ...

    async def order(self, order_id: str) -> MarketplaceOrder | None:
        """One order by the marketplace's id; None when the marketplace does not know it."""
        ...

    async def acknowledge(self, order: MarketplaceOrder) -> None:
        """Tell the marketplace the order was received (a no-op where the API has none)."""
        ...

    async def confirm_shipment(self, order: MarketplaceOrder, shipment: Shipment) -> None:
        """Mark the shipment's lines shipped, with carrier and tracking number."""
        ...

    async def cancel(
        self, order: MarketplaceOrder, lines: Sequence[ShippedLine], *, reason: str
    ) -> None:
        """Cancel units of lines not shipped (the seller cannot fulfil them)."""
        ...

    async def refund(
        self, order: MarketplaceOrder, lines: Sequence[ShippedLine], *, reason: str
    ) -> None:
        """Refund units of lines (``amount`` per line, minor units) to the buyer."""
        ...

    def order_ids_in_notification(self, body: bytes, headers: dict[str, str]) -> list[str]:
        """The marketplace order ids a notification (webhook body) is about; [] when it is
        not an order notification. Raises ``ValueError`` when the body is not one."""
        ...

    async def aclose(self) -> None:
        """Close the HTTP client."""
        ...


class MarketplaceOrderRepository(Protocol):
    """The marketplace orders seen and the calls owed to marketplaces, in the caller's
    transaction."""

    async def link(
        self, channel_id: int, external_id: str, *, for_update: bool = False
    ) -> OrderLink | None: ...
    async def link_of_order(self, order_id: int) -> OrderLink | None: ...
    async def save_link(self, link: OrderLink) -> OrderLink: ...
    async def owe(self, action: ActionDraft) -> bool:
        """Record a call owed to a marketplace once per ``key``; False when already owed."""
        ...

    async def variant_ids(self, skus: Sequence[str]) -> dict[str, int]: ...
