"""One order model for every channel: statuses, the transitions between them, and totals."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import DomainError
from domain.money import Money


class OrderErrorCode(StrEnum):
    """Stable codes of order userErrors."""

    INVALID_STATE = "INVALID_STATE"
    WRONG_CODE = "WRONG_CODE"
    WRONG_STORE = "WRONG_STORE"
    EMPTY_CART = "EMPTY_CART"
    CART_COMPLETED = "CART_COMPLETED"
    CART_EXPIRED = "CART_EXPIRED"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    RETURN_EXCEEDS_ORDERED = "RETURN_EXCEEDS_ORDERED"
    DELIVERY_REQUIRED = "DELIVERY_REQUIRED"
    BUYER_REQUIRED = "BUYER_REQUIRED"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    NOT_SOLD_IN_CHANNEL = "NOT_SOLD_IN_CHANNEL"


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


class OrderSource(StrEnum):
    """Where the order came from."""

    WEB = "WEB"
    APP = "APP"
    STORE_TILL = "STORE_TILL"
    MARKETPLACE = "MARKETPLACE"
    IMPORT = "IMPORT"


class PaymentStatus(StrEnum):
    """The money side, separate from fulfilment."""

    PENDING = "PENDING"  # pay at pick-up / on delivery, or awaiting a provider
    PAID = "PAID"
    REFUND_DUE = "REFUND_DUE"
    REFUNDED = "REFUNDED"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PLACED: frozenset({S.PAID, S.READY_FOR_PICKUP, S.FULFILLED, S.CANCELLED, S.COMPLETED}),
    S.PAID: frozenset({S.READY_FOR_PICKUP, S.FULFILLED, S.CANCELLED, S.COMPLETED}),
    S.READY_FOR_PICKUP: frozenset({S.PICKED_UP, S.CANCELLED}),
    S.FULFILLED: frozenset({S.DELIVERED}),
    S.PICKED_UP: frozenset({S.COMPLETED, S.RETURNED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.RETURNED}),
    S.COMPLETED: frozenset({S.RETURNED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}


def transition(current: OrderStatus, target: OrderStatus) -> OrderStatus:
    """The new status, or INVALID_STATE when the order cannot move there from ``current``."""
    if target not in TRANSITIONS[current]:
        raise DomainError(
            OrderErrorCode.INVALID_STATE,
            f"an order that is {current.value} cannot become {target.value}",
        )
    return target


def can_cancel(status: OrderStatus) -> bool:
    """Cancelling is possible until the goods have left."""
    return S.CANCELLED in TRANSITIONS[status]


def pickup_code() -> str:
    """A 6-digit code the buyer shows at the store (1 in a million to guess)."""
    return f"{secrets.randbelow(1_000_000):06d}"


@dataclass(frozen=True, slots=True)
class Totals:
    """What the buyer pays, with the tax inside it."""

    subtotal: Money
    delivery: Money
    tax: Money
    total: Money


def totals(
    *, subtotal: Money, delivery: Money, tax_rate_bp: int, prices_include_tax: bool
) -> Totals:
    """Tax on goods and delivery at the channel's rate (basis points), inclusive or on top."""
    base = subtotal + delivery
    if tax_rate_bp <= 0:
        return Totals(subtotal, delivery, Money(0, base.currency), base)
    if prices_include_tax:
        tax = (base.amount * tax_rate_bp + (10_000 + tax_rate_bp) // 2) // (10_000 + tax_rate_bp)
        return Totals(subtotal, delivery, Money(tax, base.currency), base)
    tax = (base.amount * tax_rate_bp + 5_000) // 10_000
    return Totals(
        subtotal, delivery, Money(tax, base.currency), Money(base.amount + tax, base.currency)
    )


def delivery_fee(*, method: str, subtotal: Money, flat_fee: int, free_over: int | None) -> Money:
    """Delivery costs the channel's flat fee, nothing for pick-up or over the free threshold."""
    if method == "PICKUP" or (free_over is not None and subtotal.amount >= free_over):
        return Money(0, subtotal.currency)
    return Money(flat_fee, subtotal.currency)


def refund_for_return(
    *,
    line_totals: dict[int, Money],
    returned: dict[int, int],
    ordered: dict[int, int],
    already_returned: dict[int, int],
) -> Money:
    """The refund due for returned quantities per order line, from what each line cost after
    discounts; cumulative, so that several partial returns add up to exactly the line's cost.
    More than ordered is refused."""
    currency = next(iter(line_totals.values())).currency
    total = 0
    for line_id, qty in returned.items():
        if qty <= 0:
            raise DomainError(OrderErrorCode.INVALID_QUANTITY, "return at least one", field="lines")
        if line_id not in ordered:
            raise DomainError("NOT_FOUND", f"order line {line_id} not found", field="lines")
        before = already_returned.get(line_id, 0)
        if before + qty > ordered[line_id]:
            raise DomainError(
                OrderErrorCode.RETURN_EXCEEDS_ORDERED,
                "more than was ordered (less what was returned before)",
                field="lines",
            )
        paid, count = line_totals[line_id].amount, ordered[line_id]
        total += paid * (before + qty) // count - paid * before // count
    return Money(total, currency)
