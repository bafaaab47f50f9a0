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
from typing import Any


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


class LinkState(StrEnum):
    """What became of a marketplace order here."""

    IMPORTED = "IMPORTED"  # an order of ours (``order_id``)
    FLAGGED = "FLAGGED"  # could not be placed: kept with the reason until staff act
    CANCELLED = "CANCELLED"  # cancelled at the marketplace before it was placed here


@dataclass(slots=True)
class OrderLink:
    """A marketplace order seen by the import, and our order for it."""

    id: int
    channel_id: int
    external_id: str
    state: LinkState
    marketplace_status: MarketplaceOrderStatus
    order: MarketplaceOrder
    order_id: int | None = None
    flag_code: str | None = None
    flag_reason: str | None = None


class ActionKind(StrEnum):
    """A call owed to a marketplace."""

    ACKNOWLEDGE = "ACKNOWLEDGE"
    SHIP = "SHIP"
    CANCEL = "CANCEL"
    REFUND = "REFUND"


@dataclass(frozen=True, slots=True)
class ActionDraft:
    """A call to make once (``key``: its cause, e.g. the event or the refund behind it)."""

    channel_id: int
    key: str
    kind: ActionKind
    external_id: str
    payload: dict[str, object] = field(default_factory=dict)


def order_as_json(order: MarketplaceOrder) -> dict[str, object]:
    """A marketplace order as stored beside the link."""
    return {
        "orderId": order.order_id,
        "status": order.status.value,
        "currency": order.currency,
        "placedAt": order.placed_at.isoformat(),
        "updatedAt": order.updated_at.isoformat(),
        "lines": [
            {
                "lineId": ln.line_id,
                "sku": ln.sku,
                "quantity": ln.quantity,
                "unitPrice": ln.unit_price,
                "cancelled": ln.cancelled,
            }
            for ln in order.lines
        ],
        "buyer": {
            k: v
            for k, v in (
                ("name", order.buyer.name),
                ("email", order.buyer.email),
                ("phone", order.buyer.phone),
            )
            if v
        },
        "shipTo": dict(order.ship_to),
        "shippingTotal": order.shipping_total,
    }


def order_from_json(data: dict[str, Any]) -> MarketplaceOrder:
    """The marketplace order stored by ``order_as_json``."""
    buyer = data.get("buyer") or {}
    return MarketplaceOrder(
        order_id=str(data["orderId"]),
        status=MarketplaceOrderStatus(data["status"]),
        currency=str(data["currency"]),
        placed_at=datetime.fromisoformat(data["placedAt"]),
        updated_at=datetime.fromisoformat(data["updatedAt"]),
        lines=tuple(
            MarketplaceOrderLine(
                line_id=str(ln["lineId"]),
                sku=str(ln["sku"]),
                quantity=int(ln["quantity"]),
                unit_price=int(ln["unitPrice"]),
                cancelled=int(ln.get("cancelled", 0)),
            )
            for ln in data.get("lines", [])
        ),
        buyer=MarketplaceBuyer(buyer.get("name"), buyer.get("email"), buyer.get("phone")),
        ship_to={str(k): str(v) for k, v in (data.get("shipTo") or {}).items()},
        shipping_total=int(data.get("shippingTotal", 0)),
    )
