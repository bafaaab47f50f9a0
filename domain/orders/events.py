"""Facts about orders, recorded in the order's history and the outbox in one step.

Topics are ``order.<kind in lower case>``; each event's fields become the outbox payload (in
camelCase) and the ``data`` of the history entry staff read in ``Order.events``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent(DomainEvent):
    """Something happened to one order; ``kind`` is the history entry's name."""

    kind: ClassVar[str]
    aggregate: ClassVar[str] = "order_id"
    order_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced(OrderEvent):
    """An order was placed in a channel (web, app, till, marketplace)."""

    kind, topic = "PLACED", "order.placed"
    channel: str
    source: str
    total: int
    currency: str
    routing: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatusChanged(OrderEvent):
    """Base of the events that move an order to a new status."""

    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPaid(OrderStatusChanged):
    """Payment was recorded."""

    kind, topic = "PAID", "order.paid"
    reference: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPaymentAuthorised(OrderStatusChanged):
    """The payment provider holds the amount; it is captured at hand-over."""

    kind, topic = "PAYMENT_AUTHORISED", "order.payment_authorised"
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderReadyForPickup(OrderStatusChanged):
    """The order waits at the store's counter."""

    kind, topic = "READY_FOR_PICKUP", "order.ready_for_pickup"
    location_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPickedUp(OrderStatusChanged):
    """The buyer took the order at the store."""

    kind, topic = "PICKED_UP", "order.picked_up"
    location_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentSent(OrderEvent):
    """A shipment or a local delivery left a location."""

    kind, topic = "SENT", "order.sent"
    fulfilment_id: int
    carrier: str | None
    tracking_number: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentShipped(FulfilmentSent):
    """A parcel left with a carrier."""

    kind, topic = "SHIPPED", "order.shipped"


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentDispatched(FulfilmentSent):
    """A local delivery left the store."""

    kind, topic = "DISPATCHED", "order.dispatched"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFulfilled(OrderStatusChanged):
    """Every part of the order is on its way."""

    kind, topic = "FULFILLED", "order.fulfilled"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDelivered(OrderStatusChanged):
    """Every part of the order arrived."""

    kind, topic = "DELIVERED", "order.delivered"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCompleted(OrderStatusChanged):
    """The buyer has the goods and the money is settled; points are earned now."""

    kind, topic = "COMPLETED", "order.completed"
    total: int
    tender: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(OrderStatusChanged):
    """The order was cancelled before the goods left."""

    kind, topic = "CANCELLED", "order.cancelled"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired(OrderStatusChanged):
    """An unpaid order's stock hold ran out and the order was cancelled."""

    kind, topic = "EXPIRED", "order.expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderReturned(OrderStatusChanged):
    """Goods came back at a store; ``refund_due`` is what the buyer is owed for them."""

    kind, topic = "RETURNED", "order.returned"
    return_id: int
    refund_due: int
    location_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FulfilmentCancelled(OrderEvent):
    """One part of the order will not be served: its stock is back, ``refund_due`` is owed."""

    kind, topic = "FULFILMENT_CANCELLED", "order.fulfilment_cancelled"
    fulfilment_id: int
    refund_due: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRefunded(OrderEvent):
    """Money went back to the buyer through one tender (``reference``: the provider's id)."""

    kind, topic = "REFUNDED", "order.refunded"
    refund_id: int
    tender: str
    amount: int
    reference: str | None
    payment_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundFailed(OrderEvent):
    """The provider refused a refund for good: it stays FAILED until staff retry it."""

    kind, topic = "REFUND_FAILED", "order.refund_failed"
    refund_id: int
    tender: str
    amount: int
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPaymentVoided(OrderEvent):
    """The online payment of a cancelled order was released: no money was taken."""

    kind, topic = "PAYMENT_VOIDED", "order.payment_voided"
    payment_id: int
    amount: int
