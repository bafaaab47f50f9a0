"""Order use cases after placing: fulfil (ship, pick-up, local delivery), record a payment,
cancel, and release expired holds. Every move is checked against the transition table."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.errors import CommonErrorCode, DomainError, NotFound, PermissionDenied
from domain.idempotency import run_once
from domain.identity.model import Principal, PrincipalKind, Role
from domain.orders.access import STAFF, actor_of, caller_of, may_see, require_store_staff
from domain.orders.errors import OrderErrorCode
from domain.orders.events import (
    FulfilmentDispatched,
    FulfilmentShipped,
    OrderCompleted,
    OrderDelivered,
    OrderFulfilled,
    OrderPaid,
    OrderPickedUp,
    OrderReadyForPickup,
)
from domain.orders.model import Fulfilment, Order
from domain.orders.placing import complete, record
from domain.orders.reversal import By, Reversal, cancel_part, reverse
from domain.orders.states import (
    CLOSED_ORDERS,
    EXPIRABLE,
    LEFT,
    Actor,
    FulfilmentStatus,
    OrderStatus,
    PaymentStatus,
    check_fulfilment,
    check_order,
    check_payment,
    check_serve,
)
from domain.orders.stock import serve_reserved
from domain.payments.ports import PaymentGateway
from domain.payments.services import capture_for_handover
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

F = FulfilmentStatus


@dataclass(frozen=True, slots=True)
class OrderResult:
    """The order a use case changed."""

    order_id: int


@dataclass(frozen=True, slots=True)
class FulfilmentStep:
    """A request to move one fulfilment on, with what that move needs."""

    fulfilment_id: int
    target: FulfilmentStatus
    code: str | None = None  # the buyer's pick-up code
    carrier: str | None = None
    tracking_number: str | None = None
    cash_collected: bool = False  # delivery: the courier took the payment (cash on delivery)
    refused: Mapping[int, int] = field(default_factory=dict)  # pick-up: line id -> not taken


@dataclass(slots=True)
class _Move:
    """One fulfilment step in progress: the order, the fulfilment, who, when."""

    uow: UnitOfWork
    order: Order
    fulfilment: Fulfilment
    step: FulfilmentStep
    who: str
    at: datetime
    gateway: PaymentGateway | None = None

    async def capture(self) -> None:
        """An order paid online: capture what is handed over once no part is left to serve."""
        if self.order.paid_online:
            await capture_for_handover(
                self.uow, self.gateway, self.order,
                fulfilment_id=self.fulfilment.id, who=self.who, at=self.at,
            )  # fmt: skip

    async def order_to(self, target: OrderStatus) -> None:
        self.order.status = check_order(self.order.status, target, actor=Actor.STAFF)
        await self.uow.orders.save(self.order)


async def load_order(uow: UnitOfWork, order_id: int) -> Order:
    """The order, locked for this transaction; NOT_FOUND when there is none."""
    order = await uow.orders.get(order_id, for_update=True)
    if order is None:
        raise NotFound("order", field="orderId")
    return order


async def fulfil(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    step: FulfilmentStep,
    idempotency_key: str | None,
    clock: Clock,
    payments: PaymentGateway | None = None,
) -> OrderResult:
    """Move a fulfilment on: READY (for pick-up), PICKED_UP (with the buyer's code), SHIPPED,
    DISPATCHED (local delivery) or DELIVERED. Goods leave only when the order's payment allows
    (``check_serve``); an authorisation is captured at the hand-over, for what was handed over."""
    action = STEPS.get(step.target)
    if action is None:
        raise DomainError(CommonErrorCode.INVALID, "unknown fulfilment action", field="action")

    async def work(uow: UnitOfWork) -> OrderResult:
        f = await _served_by(uow, principal, step.fulfilment_id)
        order = await load_order(uow, f.order_id)
        new = replace(f, status=check_fulfilment(f.status, step.target, method=f.method))
        if new.status in LEFT:
            check_serve(order.payment_status, method=f.method, paid_online=order.paid_online)
        move = _Move(uow, order, new, step, principal.subject, clock.now(), payments)
        await action(move)
        return OrderResult(order.id)

    return await run_once(
        uow_factory,
        scope="fulfil",
        caller=principal.subject,
        key=idempotency_key,
        payload={
            "f": step.fulfilment_id,
            "a": _ACTION_NAMES[step.target],
            "c": step.code,
            "t": step.tracking_number,
            "r": sorted(step.refused.items()),
        },
        work=work,
        result=OrderResult,
        check=lambda uow: _served_by(uow, principal, step.fulfilment_id),
    )


async def _served_by(uow: UnitOfWork, principal: Principal, fulfilment_id: int) -> Fulfilment:
    """The fulfilment, when the caller works at (or above) the store that serves it."""
    found = await uow.orders.fulfilment(fulfilment_id)
    if found is None:
        raise NotFound("fulfilment", field="fulfilmentId")
    require_store_staff(principal, found.location_id)
    return found


async def _ready(m: _Move) -> None:
    await m.uow.orders.save_fulfilment(m.fulfilment)
    await m.order_to(OrderStatus.READY_FOR_PICKUP)
    event = OrderReadyForPickup(
        order_id=m.order.id, status=m.order.status, location_id=m.fulfilment.location_id
    )
    await record(m.uow, event, actor=m.who)


async def _picked_up(m: _Move) -> None:
    f, code = m.fulfilment, m.step.code
    if not code or not f.pickup_code or not hmac.compare_digest(code.strip(), f.pickup_code):
        raise DomainError(OrderErrorCode.WRONG_CODE, "wrong pick-up code", field="code")
    await serve_reserved(m.uow, m.order.id, f.location_id, m.who)
    await m.uow.orders.save_fulfilment(f)
    await m.order_to(OrderStatus.PICKED_UP)
    await record(
        m.uow,
        OrderPickedUp(order_id=m.order.id, status=m.order.status, location_id=f.location_id),
        actor=m.who,
    )
    if m.step.refused:  # the buyer left some units at the counter: back on the shelf, unpaid
        await _refuse(m, f)
    await m.capture()
    if m.order.payment_status is PaymentStatus.PENDING:  # paid at the counter
        m.order.payment_status = check_payment(
            m.order.payment_status, PaymentStatus.PAID, actor=Actor.STAFF
        )
    await _complete(m)


async def _refuse(m: _Move, f: Fulfilment) -> None:
    """Units the buyer did not take at the counter go back to the store's stock; what they
    cost is released from the authorisation (or not owed), and their points go back."""
    mine = {ln.id: ln for ln in m.order.lines if any(v == ln.variant_id for v, _ in f.lines)}
    if any(line_id not in mine for line_id in m.step.refused):
        raise DomainError(CommonErrorCode.NOT_FOUND, "not a line of this part", field="refused")
    if all(
        m.step.refused.get(i, 0) >= ln.quantity - ln.returned_quantity for i, ln in mine.items()
    ):
        raise DomainError(
            OrderErrorCode.INVALID_STATE,
            "nothing would be taken: cancel the order instead",
            field="refused",
        )
    undo = Reversal(reason="refused at pick-up", lines=m.step.refused, location_id=f.location_id)
    await reverse(m.uow, m.order, undo, actor=Actor.STAFF, who=m.who, at=m.at)


async def _sent(m: _Move) -> None:
    f = replace(m.fulfilment, carrier=m.step.carrier, tracking_number=m.step.tracking_number)
    await serve_reserved(m.uow, m.order.id, f.location_id, m.who)
    await m.uow.orders.save_fulfilment(f)
    kind = FulfilmentShipped if f.status is F.SHIPPED else FulfilmentDispatched
    await record(
        m.uow,
        kind(
            order_id=m.order.id,
            fulfilment_id=f.id,
            carrier=f.carrier,
            tracking_number=f.tracking_number,
        ),
        actor=m.who,
    )
    if m.order.others_all(f.id, F.SHIPPED, F.DISPATCHED, F.DELIVERED, F.CANCELLED):
        await m.order_to(OrderStatus.FULFILLED)
        await record(m.uow, OrderFulfilled(order_id=m.order.id, status=m.order.status), actor=m.who)


async def _delivered(m: _Move) -> None:
    await m.uow.orders.save_fulfilment(m.fulfilment)
    if m.order.others_all(m.fulfilment.id, F.DELIVERED, F.CANCELLED):
        await m.order_to(OrderStatus.DELIVERED)
        await record(m.uow, OrderDelivered(order_id=m.order.id, status=m.order.status), actor=m.who)
        await m.capture()
        if m.step.cash_collected and m.order.payment_status is PaymentStatus.PENDING:
            m.order.payment_status = check_payment(
                m.order.payment_status, PaymentStatus.PAID, actor=Actor.STAFF
            )
        if m.order.payment_status is PaymentStatus.PAID:  # unpaid: completed once it is paid
            await _complete(m)


async def _complete(m: _Move) -> None:
    await m.order_to(OrderStatus.COMPLETED)
    event = OrderCompleted(order_id=m.order.id, status=m.order.status, total=m.order.total)
    await complete(m.uow, m.order, event, actor=m.who, at=m.at)


STEPS: dict[FulfilmentStatus, Callable[[_Move], Awaitable[None]]] = {
    F.READY: _ready,
    F.PICKED_UP: _picked_up,
    F.SHIPPED: _sent,
    F.DISPATCHED: _sent,
    F.DELIVERED: _delivered,
}
_ACTION_NAMES = {
    F.READY: "READY",
    F.PICKED_UP: "PICKED_UP",
    F.SHIPPED: "SHIPPED",
    F.DISPATCHED: "DISPATCHED",
    F.DELIVERED: "DELIVERED",
}


async def mark_paid(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    order_id: int,
    reference: str,
    clock: Clock,
) -> OrderResult:
    """Staff record a payment taken outside the gateway (until payment providers arrive)."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
    async with uow_factory() as uow:
        order = await load_order(uow, order_id)
        if not may_see(principal, order, None):
            raise PermissionDenied("not an order of your stores", field="orderId")
        if order.payment_status is PaymentStatus.PAID:
            return OrderResult(order.id)  # already paid: marking again changes nothing
        if order.status in CLOSED_ORDERS:
            raise DomainError(
                OrderErrorCode.INVALID_STATE, f"the order is {order.status.value}", field="orderId"
            )
        actor = actor_of(principal)
        order.payment_status = check_payment(order.payment_status, PaymentStatus.PAID, actor=actor)
        if order.status is OrderStatus.PLACED:
            order.status = check_order(order.status, OrderStatus.PAID, actor=actor)
        await uow.orders.save(order)
        event = OrderPaid(order_id=order.id, status=order.status, reference=reference[:120])
        await record(uow, event, actor=principal.subject)
        if order.status is OrderStatus.DELIVERED:  # delivered unpaid: now it is complete
            order.status = check_order(order.status, OrderStatus.COMPLETED, actor=actor)
            await uow.orders.save(order)
            done = OrderCompleted(order_id=order.id, status=order.status, total=order.total)
            await complete(uow, order, done, actor=principal.subject, at=clock.now())
        return OrderResult(order.id)


async def cancel(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    order_id: int,
    reason: str,
    idempotency_key: str | None,
    clock: Clock,
    access_token: str | None = None,
) -> OrderResult:
    """Cancel before the goods leave: reservations are released, a paid amount becomes due."""

    async def work(uow: UnitOfWork) -> OrderResult:
        order = await _may_cancel(uow, principal, order_id, access_token)
        await reverse(
            uow,
            order,
            Reversal(reason=reason),
            actor=actor_of(principal),
            who=principal.subject,
            at=clock.now(),
        )
        return OrderResult(order.id)

    return await run_once(
        uow_factory,
        scope=f"cancel:{order_id}",
        caller=caller_of(principal, access_token),
        check=lambda uow: _may_cancel(uow, principal, order_id, access_token),
        key=idempotency_key,
        payload={"o": order_id, "r": reason},
        work=work,
        result=OrderResult,
    )


async def cancel_fulfilment(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    fulfilment_id: int,
    reason: str,
    idempotency_key: str | None,
    clock: Clock,
) -> OrderResult:
    """Staff of the serving store: one part of an order that has not left will not be served;
    its stock is released and what was paid for it (and points spent on it) is owed back."""

    async def work(uow: UnitOfWork) -> OrderResult:
        found = await _served_by(uow, principal, fulfilment_id)
        order = await load_order(uow, found.order_id)
        part = order.fulfilment(found.id)
        assert part is not None
        by = By(actor_of(principal), principal.subject, clock.now())
        await cancel_part(uow, order, part, reason=reason, by=by)
        return OrderResult(order.id)

    return await run_once(
        uow_factory,
        scope=f"fulfilmentCancel:{fulfilment_id}",
        caller=principal.subject,
        key=idempotency_key,
        payload={"f": fulfilment_id, "r": reason},
        work=work,
        result=OrderResult,
        check=lambda uow: _served_by(uow, principal, fulfilment_id),
    )


async def _may_cancel(
    uow: UnitOfWork, principal: Principal, order_id: int, access_token: str | None
) -> Order:
    """The order, when the caller may cancel it (staff of its stores, or its buyer's token)."""
    order = await load_order(uow, order_id)
    if not may_see(principal, order, access_token):
        raise PermissionDenied("not your order", field="orderId")
    return order


SYSTEM = Principal(kind=PrincipalKind.STAFF, role=Role.OWNER, subject="system:expiry")


async def release_expired(uow_factory: UnitOfWorkFactory, *, clock: Clock, limit: int = 100) -> int:
    """Cancel unpaid orders whose reservations expired; returns how many were released."""
    async with uow_factory() as uow:
        order_ids = await uow.orders.expired_reservation_orders(now=clock.now(), limit=limit)
    released = 0
    for order_id in order_ids:
        async with uow_factory() as uow:
            order = await load_order(uow, order_id)
            if order.payment_status is PaymentStatus.PAID or order.status not in EXPIRABLE:
                continue
            undo = Reversal(reason="reservation expired", expired=True)
            await reverse(uow, order, undo, actor=Actor.SYSTEM, who=SYSTEM.subject, at=clock.now())
            released += 1
    return released


__all__ = ["STAFF", "cancel", "fulfil", "load_order", "mark_paid", "may_see", "release_expired"]
