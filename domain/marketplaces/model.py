"""Marketplaces as channels: what goes out (listings) and what comes in (orders), in the
project's own terms. Each marketplace adapter translates these to and from its API.

Money is in minor units of ``currency`` (cents), as everywhere in the domain. A marketplace's
identifiers stay strings: its order id becomes the order's external reference, its line ids are
kept beside our order to confirm shipments, cancel and refund line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class MarketplaceKind(StrEnum):
    """Which API an account speaks."""

    AMAZON = "AMAZON"
    WALMART = "WALMART"
    EBAY = "EBAY"


class MarketplaceErrorCode(StrEnum):
    """Stable codes of marketplace userErrors and sync errors."""

    NOT_A_MARKETPLACE = "NOT_A_MARKETPLACE"
    NOT_CONFIGURED = "NOT_CONFIGURED"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    UNFULFILLABLE = "UNFULFILLABLE"
    REJECTED = "REJECTED"  # the marketplace refused a request (4xx other than 429)
    UNAVAILABLE = "UNAVAILABLE"  # 429/5xx/timeouts after every retry


@dataclass(frozen=True, slots=True)
class Listing:
    """What a marketplace should show for one SKU: the channel's price and the quantity the
    channel's allocation rule gives it."""

    sku: str
    quantity: int
    price: int  # minor units
    currency: str


@dataclass(frozen=True, slots=True)
class PushResult:
    """The marketplace's answer for one SKU of a push; ``error`` is its message when refused."""

    sku: str
    accepted: bool
    error: str | None = None


class MarketplaceOrderStatus(StrEnum):
    """A marketplace order's state, mapped to the few that matter here."""

    PENDING = "PENDING"  # not yet to be fulfilled (payment pending at the marketplace)
    UNSHIPPED = "UNSHIPPED"  # paid, to be fulfilled by the seller
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


@dataclass(frozen=True, slots=True)
class MarketplaceOrderLine:
    """One line as the marketplace numbers it."""

    line_id: str  # Amazon orderItemId, Walmart lineNumber, eBay lineItemId
    sku: str
    quantity: int
    unit_price: int  # minor units, tax included as the marketplace charged it
    cancelled: int = 0  # units the marketplace (or its buyer) cancelled


@dataclass(frozen=True, slots=True)
class MarketplaceBuyer:
    """What a marketplace tells of its buyer (often masked or nothing)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class MarketplaceOrder:
    """One order as pulled from a marketplace."""

    order_id: str
    status: MarketplaceOrderStatus
    currency: str
    placed_at: datetime
    updated_at: datetime
    lines: tuple[MarketplaceOrderLine, ...]
    buyer: MarketplaceBuyer = field(default_factory=MarketplaceBuyer)
    ship_to: dict[str, str] = field(default_factory=dict)  # address fields, as given
    shipping_total: int = 0  # minor units


@dataclass(frozen=True, slots=True)
class ShippedLine:
    """Units of one marketplace line in a shipment, a cancellation or a refund."""

    line_id: str
    sku: str
    quantity: int
    amount: int = 0  # minor units refunded for the line (refunds only)


@dataclass(frozen=True, slots=True)
class Shipment:
    """A shipment to confirm to the marketplace."""

    carrier: str
    tracking_number: str
    shipped_at: datetime
    lines: tuple[ShippedLine, ...]
    method: str = "Standard"


@dataclass(frozen=True, slots=True)
class OrderPage:
    """Orders changed since a point in time, and where the next pull starts."""

    orders: tuple[MarketplaceOrder, ...]
    cursor: datetime  # pass as ``since`` next time


class MarketplaceFailure(Exception):
    """A marketplace call failed for good: ``retryable`` when it was 429/5xx/timeouts after
    every retry (try again later), not when the marketplace refused the request."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
