"""The order state machine: one transition table over the order's status, its payment status
and each fulfilment's status, saying which move is allowed from which state and by whom.

Every use case that moves an order asks ``check_order``, ``check_payment`` or
``check_fulfilment`` before it writes; nothing else decides what may follow what.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from domain.errors import DomainError, PermissionDenied
from domain.orders.errors import OrderErrorCode


class OrderStatus(StrEnum):
    """Where an order stands."""

    PLACED = "PLACED"
    PAID = "PAID"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    FULFILLED = "FULFILLED"  # shipped or out for local delivery
    PICKED_UP = "PICKED_UP"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"


class PaymentStatus(StrEnum):
    """The money side, separate from fulfilment."""

    PENDING = "PENDING"  # pay at pick-up / on delivery, or awaiting a provider
    AUTHORISED = "AUTHORISED"  # held by the provider, captured at hand-over
    PAID = "PAID"
    VOIDED = "VOIDED"  # the authorisation was released: no money was taken
    REFUND_DUE = "REFUND_DUE"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"  # what was due went back; the rest was kept
    REFUNDED = "REFUNDED"


class FulfilmentStatus(StrEnum):
    """Where one part of an order stands."""

    OPEN = "OPEN"
    READY = "READY"
    PICKED_UP = "PICKED_UP"
    SHIPPED = "SHIPPED"
    DISPATCHED = "DISPATCHED"
    DELIVERED = "DELIVERED"
    HANDED_OVER = "HANDED_OVER"  # sold at the till: served on the spot
    CANCELLED = "CANCELLED"  # not served: its stock went back before it left


class FulfilmentMethod(StrEnum):
    """How one part of an order reaches the buyer."""

    SHIP = "SHIP"
    PICKUP = "PICKUP"
    LOCAL_DELIVERY = "LOCAL_DELIVERY"
    IN_STORE = "IN_STORE"


class OrderSource(StrEnum):
    """Where the order came from."""

    WEB = "WEB"
    APP = "APP"
    STORE_TILL = "STORE_TILL"
    MARKETPLACE = "MARKETPLACE"
    IMPORT = "IMPORT"


class Actor(StrEnum):
    """Who asks for a move: the buyer (with the order's token), staff, or the system itself."""

    BUYER = "BUYER"
    STAFF = "STAFF"
    SYSTEM = "SYSTEM"


B, St, Sy = Actor.BUYER, Actor.STAFF, Actor.SYSTEM
O, P, F = OrderStatus, PaymentStatus, FulfilmentStatus  # noqa: E741 (table reads better)
ANYONE = frozenset({B, St, Sy})
STAFF_ONLY = frozenset({St})
STAFF_OR_SYSTEM = frozenset({St, Sy})

ORDER_MOVES: Mapping[tuple[OrderStatus, OrderStatus], frozenset[Actor]] = {
    (O.PLACED, O.PAID): STAFF_OR_SYSTEM,  # recorded by staff, or paid online
    (O.PLACED, O.READY_FOR_PICKUP): STAFF_ONLY,
    (O.PLACED, O.FULFILLED): STAFF_ONLY,
    (O.PLACED, O.COMPLETED): STAFF_ONLY,
    (O.PLACED, O.CANCELLED): ANYONE,
    (O.PAID, O.READY_FOR_PICKUP): STAFF_ONLY,
    (O.PAID, O.FULFILLED): STAFF_ONLY,
    (O.PAID, O.COMPLETED): STAFF_ONLY,
    (O.PAID, O.CANCELLED): ANYONE,
    (O.READY_FOR_PICKUP, O.PICKED_UP): STAFF_ONLY,
    (O.READY_FOR_PICKUP, O.CANCELLED): ANYONE,
    (O.FULFILLED, O.DELIVERED): STAFF_ONLY,
    (O.PICKED_UP, O.COMPLETED): STAFF_ONLY,
    (O.PICKED_UP, O.RETURNED): STAFF_ONLY,
    (O.DELIVERED, O.COMPLETED): STAFF_ONLY,
    (O.DELIVERED, O.RETURNED): STAFF_ONLY,
    (O.COMPLETED, O.RETURNED): STAFF_ONLY,
}
PAYMENT_MOVES: Mapping[tuple[PaymentStatus, PaymentStatus], frozenset[Actor]] = {
    # recorded by staff, paid at the counter, or the provider said so (system)
    (P.PENDING, P.PAID): STAFF_OR_SYSTEM,
    (P.PENDING, P.AUTHORISED): STAFF_OR_SYSTEM,  # the provider holds the amount
    (P.AUTHORISED, P.PAID): STAFF_OR_SYSTEM,  # captured at hand-over
    (P.AUTHORISED, P.VOIDED): ANYONE,  # cancelled before hand-over: the hold is released
    (P.PENDING, P.VOIDED): ANYONE,  # cancelled while an online payment was still open
    (P.PAID, P.REFUND_DUE): ANYONE,  # a cancel or a return of a paid order
    (P.PARTIALLY_REFUNDED, P.REFUND_DUE): ANYONE,  # a second return
    (P.REFUND_DUE, P.REFUNDED): STAFF_OR_SYSTEM,  # every tender paid back, nothing kept
    (P.REFUND_DUE, P.PARTIALLY_REFUNDED): STAFF_OR_SYSTEM,  # paid back what was due
}
FULFILMENT_MOVES: Mapping[
    tuple[FulfilmentStatus, FulfilmentStatus], tuple[FulfilmentMethod, ...]
] = {  # all by staff of the serving store
    (F.OPEN, F.READY): (FulfilmentMethod.PICKUP,),
    (F.READY, F.PICKED_UP): (FulfilmentMethod.PICKUP,),
    (F.OPEN, F.SHIPPED): (FulfilmentMethod.SHIP,),
    (F.OPEN, F.DISPATCHED): (FulfilmentMethod.LOCAL_DELIVERY,),
    (F.SHIPPED, F.DELIVERED): (FulfilmentMethod.SHIP,),
    (F.DISPATCHED, F.DELIVERED): (FulfilmentMethod.LOCAL_DELIVERY,),
    (F.OPEN, F.CANCELLED): tuple(FulfilmentMethod),
    (F.READY, F.CANCELLED): (FulfilmentMethod.PICKUP,),
}
LEFT = frozenset({F.SHIPPED, F.DISPATCHED, F.DELIVERED, F.PICKED_UP, F.HANDED_OVER})  # with buyer
UNSERVED = frozenset({F.OPEN, F.READY})  # still at the location, cancellable
CLOSED_ORDERS = frozenset({O.CANCELLED, O.RETURNED})
SERVED = frozenset({O.PICKED_UP, O.DELIVERED, O.COMPLETED})  # goods with the buyer: returnable
EXPIRABLE = frozenset({O.PLACED, O.READY_FOR_PICKUP})  # unpaid holds released on expiry


RECEIVED = frozenset({P.PAID, P.REFUND_DUE, P.PARTIALLY_REFUNDED})  # money came in
SERVABLE_ONLINE = {  # an order paid online may be served when its payment is
    FulfilmentMethod.SHIP: frozenset({P.PAID}),  # shipped goods are charged at confirmation
    FulfilmentMethod.PICKUP: frozenset({P.AUTHORISED, P.PAID}),  # captured at hand-over
    FulfilmentMethod.LOCAL_DELIVERY: frozenset({P.AUTHORISED, P.PAID}),
}


def check_serve(payment: PaymentStatus, *, method: FulfilmentMethod, paid_online: bool) -> None:
    """Goods leave only when the payment allows it: an order paid online must be authorised
    (pick-up, local delivery: captured at hand-over) or paid (shipping); orders paid at the
    counter or on delivery are served unpaid, as before."""
    if not paid_online or method is FulfilmentMethod.IN_STORE:
        return
    if payment not in SERVABLE_ONLINE[method]:
        raise DomainError(
            OrderErrorCode.PAYMENT_REQUIRED,
            f"the online payment is {payment.value}: the order cannot leave yet",
            field="fulfilmentId",
        )


def check_order(current: OrderStatus, target: OrderStatus, *, actor: Actor) -> OrderStatus:
    """``target`` when the table allows ``actor`` that move, else INVALID_STATE / denied."""
    allowed = ORDER_MOVES.get((current, target))
    if allowed is None:
        raise DomainError(
            OrderErrorCode.INVALID_STATE,
            f"an order that is {current.value} cannot become {target.value}",
        )
    if actor not in allowed:
        raise PermissionDenied(f"only staff can make an order {target.value}")
    return target


def check_payment(current: PaymentStatus, target: PaymentStatus, *, actor: Actor) -> PaymentStatus:
    """``target`` when the payment may move there, else INVALID_STATE / denied."""
    allowed = PAYMENT_MOVES.get((current, target))
    if allowed is None:
        raise DomainError(
            OrderErrorCode.INVALID_STATE,
            f"a payment that is {current.value} cannot become {target.value}",
            field="orderId",
        )
    if actor not in allowed:
        raise PermissionDenied("only staff can record payments")
    return target


def check_fulfilment(
    current: FulfilmentStatus, target: FulfilmentStatus, *, method: FulfilmentMethod
) -> FulfilmentStatus:
    """``target`` when a fulfilment of ``method`` may move there from ``current``."""
    if method not in FULFILMENT_MOVES.get((current, target), ()):
        raise DomainError(
            OrderErrorCode.INVALID_STATE,
            f"a {method.value.lower()} fulfilment that is {current.value} "
            f"cannot become {target.value}",
            field="fulfilmentId",
        )
    return target
