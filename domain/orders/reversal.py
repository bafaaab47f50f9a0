"""One way of undoing an order, whole (cancel, expiry) or in part (a return): stock goes back,
points go back, the money owed is worked out, and the order moves and records why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.inventory.model import MovementKind
from domain.loyalty import services as points
from domain.money import Money
from domain.orders.events import OrderCancelled, OrderExpired, OrderReturned, OrderStatusChanged
from domain.orders.model import Order, refund_for_return
from domain.orders.placing import record
from domain.orders.ports import ReturnDraft
from domain.orders.states import Actor, OrderStatus, PaymentStatus, check_order, check_payment
from domain.orders.stock import StockMove, apply, release_all
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


async def reverse(
    uow: UnitOfWork, order: Order, undo: Reversal, *, actor: Actor, who: str, at: datetime
) -> Reversed:
    """Undo ``order`` as ``undo`` says, in the caller's transaction; ``who`` signs the ledgers."""
    if undo.lines is None:
        return await _cancel(uow, order, undo, actor=actor, who=who, at=at)
    return await _return(uow, order, undo, undo.lines, actor=actor, who=who, at=at)


async def _cancel(
    uow: UnitOfWork, order: Order, undo: Reversal, *, actor: Actor, who: str, at: datetime
) -> Reversed:
    order.status = check_order(order.status, OrderStatus.CANCELLED, actor=actor)
    await release_all(uow, order.id, actor=who, reason=undo.reason or "cancelled")
    await points.give_back_for_cancel(uow, order, at=at, actor=who)
    _owe(order, actor)
    await uow.orders.save(order)
    event: OrderStatusChanged
    if undo.expired:
        event = OrderExpired(order_id=order.id, status=order.status)
    else:
        event = OrderCancelled(order_id=order.id, status=order.status, reason=undo.reason)
    await record(uow, event, actor=who)
    return Reversed(order.money(0))


async def _return(
    uow: UnitOfWork,
    order: Order,
    undo: Reversal,
    lines: Mapping[int, int],
    *,
    actor: Actor,
    who: str,
    at: datetime,
) -> Reversed:
    assert undo.location_id is not None
    by_id = {ln.id: ln for ln in order.lines}
    refund = refund_for_return(
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
        await apply(uow, moves, order_id=order.id, reason=undo.reason, actor=who)
    draft = ReturnDraft(
        order.id, undo.location_id, lines, undo.restock, refund.amount, order.currency, who
    )
    return_id = await uow.orders.add_return(draft)
    _, _, points_money = await points.reverse_for_order_return(
        uow, order, returned_value=refund.amount, return_id=return_id, at=at, actor=who
    )
    refund = Money(max(0, refund.amount - points_money.amount), refund.currency)
    await uow.orders.set_return_refund(return_id, refund.amount)
    await uow.orders.add_line_returns(lines)
    if all(ln.returned_quantity + lines.get(ln.id, 0) >= ln.quantity for ln in order.lines):
        order.status = check_order(order.status, OrderStatus.RETURNED, actor=actor)
    order.refunded_total += refund.amount
    _owe(order, actor)
    await uow.orders.save(order)
    event = OrderReturned(
        order_id=order.id,
        status=order.status,
        return_id=return_id,
        refund_due=refund.amount,
        location_id=undo.location_id,
    )
    await record(uow, event, actor=who)
    return Reversed(refund, return_id)


def _owe(order: Order, actor: Actor) -> None:
    """Money taken for goods that are not kept becomes due back to the buyer."""
    if order.payment_status is PaymentStatus.PAID:
        order.payment_status = check_payment(
            order.payment_status, PaymentStatus.REFUND_DUE, actor=actor
        )
