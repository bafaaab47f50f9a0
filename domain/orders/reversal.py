"""One way of undoing an order, whole (cancel, expiry), one part (a fulfilment that has not
left) or lines (a return): stock goes back, points go back, what is owed is worked out from the
money actually received, and the order moves and records why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from domain.commissions import services as commissions
from domain.errors import DomainError
from domain.inventory.model import MovementKind
from domain.loyalty import services as points
from domain.money import Money
from domain.orders.errors import OrderErrorCode
from domain.orders.events import (
    FulfilmentCancelled,
    OrderCancelled,
    OrderExpired,
    OrderReturned,
    OrderStatusChanged,
)
from domain.orders.model import Fulfilment, Order, refund_for_return
from domain.orders.placing import record
from domain.orders.ports import ReturnDraft
from domain.orders.states import (
    LEFT,
    RECEIVED,
    UNSERVED,
    Actor,
    FulfilmentStatus,
    OrderStatus,
    PaymentStatus,
    check_fulfilment,
    check_order,
    check_payment,
)
from domain.orders.stock import StockMove, apply, release_all
from domain.payments import refunds
from domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Reversal:
    """What is undone: the whole order (``lines`` None), or returned lines at a store."""

    reason: str
    lines: Mapping[int, int] | None = None  # order line id -> quantity returned
    location_id: int | None = None  # where returned goods came back
    restock: bool = True
    expired: bool = False  # the system released an unpaid order's hold


@dataclass(frozen=True, slots=True)
class Reversed:
    """What a reversal owes the buyer, and the return it recorded (if any)."""

    refund_due: Money
    return_id: int | None = None


@dataclass(frozen=True, slots=True)
class By:
    """Who undoes, and when."""

    actor: Actor
    who: str
    at: datetime


async def reverse(
    uow: UnitOfWork, order: Order, undo: Reversal, *, actor: Actor, who: str, at: datetime
) -> Reversed:
    """Undo ``order`` as ``undo`` says, in the caller's transaction; ``who`` signs the ledgers."""
    by = By(actor, who, at)
    if undo.lines is None:
        return await _cancel(uow, order, undo, by)
    return await _return(uow, order, undo, undo.lines, by)


async def _cancel(uow: UnitOfWork, order: Order, undo: Reversal, by: By) -> Reversed:
    if any(f.status in LEFT for f in order.fulfilments):
        raise DomainError(
            OrderErrorCode.INVALID_STATE,
            "part of this order has left: cancel its open parts one by one (fulfilmentCancel)",
            field="orderId",
        )
    order.status = check_order(order.status, OrderStatus.CANCELLED, actor=by.actor)
    await release_all(uow, order.id, actor=by.who, reason=undo.reason or "cancelled")
    for f in order.fulfilments:
        if f.status in UNSERVED:
            await uow.orders.save_fulfilment(replace(f, status=FulfilmentStatus.CANCELLED))
    await points.give_back_for_cancel(uow, order, at=by.at, actor=by.who)
    owed = await refunds.owed_on_cancel(uow, order)  # money received, not points given back
    order.refunded_total += owed
    _owe(order, by.actor)
    await uow.orders.save(order)
    event: OrderStatusChanged
    if undo.expired:
        event = OrderExpired(order_id=order.id, status=order.status)
    else:
        event = OrderCancelled(order_id=order.id, status=order.status, reason=undo.reason)
    await record(uow, event, actor=by.who)
    if order.payment_status is PaymentStatus.REFUND_DUE:  # paid: back through its tenders
        reason = undo.reason or "cancelled"
        await refunds.owe(uow, order, owed, reason=reason, return_id=None, location_id=None, by=by)
    return Reversed(order.money(owed))


async def cancel_part(
    uow: UnitOfWork, order: Order, part: Fulfilment, *, reason: str, by: By
) -> Reversed:
    """One fulfilment that has not left is not served: its stock, points and money go back."""
    cancelled = replace(
        part, status=check_fulfilment(part.status, FulfilmentStatus.CANCELLED, method=part.method)
    )
    rest = [
        f
        for f in order.fulfilments
        if f.id != part.id and f.status is not FulfilmentStatus.CANCELLED
    ]
    if not rest:  # the last part: the whole order is cancelled
        return await _cancel(uow, order, Reversal(reason=reason), by)
    by_variant = {ln.variant_id: ln.id for ln in order.lines}
    lines = {by_variant[v]: q for v, q in part.lines}
    held = await uow.orders.reservations(order.id, status="ACTIVE")
    mine = [r for r in held if r.location_id == part.location_id]
    moves = [StockMove(MovementKind.RELEASE, r.variant_id, r.location_id, r.quantity) for r in mine]
    await apply(uow, moves, order_id=order.id, reason=reason or "part cancelled", actor=by.who)
    await uow.orders.set_reservation_status([r.id for r in mine], "RELEASED")
    await uow.orders.save_fulfilment(cancelled)
    undo = Reversal(reason=reason, lines=lines, location_id=part.location_id, restock=False)
    done = await _return(uow, order, undo, lines, by, event=False)
    if all(f.status in LEFT for f in rest) and order.status in (
        OrderStatus.PLACED,
        OrderStatus.PAID,
    ):
        order.status = check_order(order.status, OrderStatus.FULFILLED, actor=by.actor)
        await uow.orders.save(order)
    await record(
        uow,
        FulfilmentCancelled(
            order_id=order.id,
            fulfilment_id=part.id,
            refund_due=done.refund_due.amount,
            reason=reason,
        ),
        actor=by.who,
    )
    return done


async def _return(
    uow: UnitOfWork,
    order: Order,
    undo: Reversal,
    lines: Mapping[int, int],
    by: By,
    *,
    event: bool = True,
) -> Reversed:
    assert undo.location_id is not None
    by_id = {ln.id: ln for ln in order.lines}
    value = refund_for_return(
        line_totals={i: order.money(ln.paid) for i, ln in by_id.items()},
        returned=dict(lines),
        ordered={i: ln.quantity for i, ln in by_id.items()},
        already_returned={i: ln.returned_quantity for i, ln in by_id.items()},
    )
    if undo.restock:
        moves = [
            StockMove(MovementKind.RETURN, by_id[i].variant_id, undo.location_id, q)
            for i, q in lines.items()
        ]
        await apply(uow, moves, order_id=order.id, reason=undo.reason, actor=by.who)
    received = order.payment_status in RECEIVED
    draft = ReturnDraft(
        order.id,
        undo.location_id,
        lines,
        undo.restock,
        value.amount if received else 0,
        order.currency,
        by.who,
    )
    return_id = await uow.orders.add_return(draft)
    await commissions.reverse_for_return(uow, order, return_id=return_id, returned=lines, at=by.at)
    _, _, points_money = await points.reverse_for_order_return(
        uow, order, returned_value=value.amount, return_id=return_id, at=by.at, actor=by.who
    )
    # money received is owed back; money only authorised (captured at hand-over) is released:
    # ``refunded_total`` counts both, and the capture takes what is left
    held = order.payment_status is PaymentStatus.AUTHORISED
    kept_back = max(0, value.amount - points_money.amount) if received or held else 0
    refund = Money(kept_back if received else 0, value.currency)
    await uow.orders.set_return_refund(return_id, refund.amount)
    await uow.orders.add_line_returns(lines)
    order.refunded_total += kept_back - refund.amount  # released from the authorisation
    if event and all(
        ln.returned_quantity + lines.get(ln.id, 0) >= ln.quantity for ln in order.lines
    ):
        order.status = check_order(order.status, OrderStatus.RETURNED, actor=by.actor)
    order.refunded_total += refund.amount
    if refund.amount:
        _owe(order, by.actor)
    await uow.orders.save(order)
    if event:
        returned = OrderReturned(
            order_id=order.id,
            status=order.status,
            return_id=return_id,
            refund_due=refund.amount,
            location_id=undo.location_id,
        )
        await record(uow, returned, actor=by.who)
    if refund.amount:  # owed back through the tenders that paid (domain/payments/refunds.py)
        await refunds.owe(uow, order, refund.amount, reason=undo.reason or "returned",
                          return_id=return_id, location_id=undo.location_id, by=by)  # fmt: skip
    return Reversed(refund, return_id)


def _owe(order: Order, actor: Actor) -> None:
    """Money taken for goods that are not kept becomes due back to the buyer."""
    if order.payment_status in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
        order.payment_status = check_payment(
            order.payment_status, PaymentStatus.REFUND_DUE, actor=actor
        )
