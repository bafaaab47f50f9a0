"""Order use cases after checkout: fulfil (ship, pick-up, local delivery), pay, cancel, return,
sell in store, and release expired reservations. Every stock effect is a ledger movement."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from domain.errors import DomainError, NotFound, PermissionDenied
from domain.idempotency import run_once
from domain.identity.model import Principal, PrincipalKind, Role
from domain.insights.services import refresh_tags
from domain.inventory.model import MovementKind, StockLevel
from domain.loyalty import services as points
from domain.orders.model import (
    OrderErrorCode,
    OrderStatus,
    PaymentStatus,
    transition,
)
from domain.ports import Clock, OrderRecord, UnitOfWork, UnitOfWorkFactory

STAFF = (Role.OWNER, Role.ADMIN, Role.STORE_MANAGER, Role.CLERK)


def may_see(principal: Principal, order: OrderRecord, access_token: str | None) -> bool:
    """Brand-wide staff see every order, store staff their stores' orders, buyers their own."""
    if principal.kind is PrincipalKind.STAFF:
        if principal.brand_wide:
            return True
        stores = set(order.location_ids) | {order.attributed_location_id}
        return bool(principal.location_ids & stores)
    if principal.kind is PrincipalKind.PARTNER:
        return False
    return access_token is not None and hmac.compare_digest(access_token, order.access_token)


def require_store_staff(principal: Principal, location_id: int) -> None:
    """Owners and admins anywhere; managers and clerks at their own stores."""
    principal.require_staff(*STAFF)
    if not principal.brand_wide and location_id not in principal.location_ids:
        raise DomainError(
            OrderErrorCode.WRONG_STORE,
            "this order is served by another store",
            field="fulfilmentId",
        )


async def load_order(uow: UnitOfWork, order_id: int) -> OrderRecord:
    order = await uow.orders.get(order_id, for_update=True)
    if order is None:
        raise NotFound("order", field="orderId")
    return order


async def move(
    uow: UnitOfWork,
    *,
    at: datetime,
    order_id: int,
    status: OrderStatus,
    actor: str,
    kind: str,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    await uow.orders.update(order_id, status=status.value, **fields)
    await uow.orders.add_event(order_id, kind=kind, actor=actor, data=data or {})
    await uow.outbox.publish(
        f"order.{kind.lower()}",
        aggregate_id=str(order_id),
        payload={"orderId": order_id, "status": status.value, **(data or {})},
    )
    if status is OrderStatus.COMPLETED:
        order = await uow.orders.get(order_id)
        assert order is not None
        await points.earn_for_order(uow, order, at=at, actor=actor)
        await refresh_tags(uow, order, at=at)


async def _sell_reserved(uow: UnitOfWork, order_id: int, location_id: int, actor: str) -> None:
    """Turn the order's reservations at a location into sales: reserved and on-hand go down."""
    held = [
        r
        for r in await uow.orders.reservations(order_id, status="ACTIVE")
        if r.location_id == location_id
    ]
    levels = await uow.inventory.lock([(r.variant_id, r.location_id) for r in held])
    for r in held:
        level = levels[(r.variant_id, r.location_id)]
        level = StockLevel(
            level.location_id,
            level.on_hand - r.quantity,
            level.reserved - r.quantity,
            level.safety_stock,
        )
        levels[(r.variant_id, r.location_id)] = level
        await uow.inventory.save(r.variant_id, level)
        for kind, delta in ((MovementKind.RELEASE, -r.quantity), (MovementKind.SALE, -r.quantity)):
            await uow.inventory.record(
                variant_id=r.variant_id,
                location_id=r.location_id,
                kind=kind,
                delta=delta,
                on_hand_after=level.on_hand,
                reason="fulfilled",
                actor=actor,
                reference=f"order:{order_id}",
            )
    await uow.orders.set_reservation_status([r.id for r in held], "FULFILLED")
    uow.touched.add("stock")


async def _release_all(uow: UnitOfWork, order_id: int, actor: str, reason: str) -> None:
    """Give back every active reservation of an order."""
    held = await uow.orders.reservations(order_id, status="ACTIVE")
    levels = await uow.inventory.lock([(r.variant_id, r.location_id) for r in held])
    for r in held:
        level = levels[(r.variant_id, r.location_id)]
        level = StockLevel(
            level.location_id, level.on_hand, level.reserved - r.quantity, level.safety_stock
        )
        levels[(r.variant_id, r.location_id)] = level
        await uow.inventory.save(r.variant_id, level)
        await uow.inventory.record(
            variant_id=r.variant_id,
            location_id=r.location_id,
            kind=MovementKind.RELEASE,
            delta=-r.quantity,
            on_hand_after=level.on_hand,
            reason=reason,
            actor=actor,
            reference=f"order:{order_id}",
        )
    await uow.orders.set_reservation_status([r.id for r in held], "RELEASED")
    if held:
        uow.touched.add("stock")


def result(order_id: int) -> dict[str, Any]:
    return {"order_id": order_id}


async def fulfil(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    fulfilment_id: int,
    action: str,
    idempotency_key: str | None,
    clock: Clock,
    code: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> dict[str, Any]:
    """Move a fulfilment on: READY (for pick-up), PICKED_UP (with the buyer's code), SHIPPED,
    DISPATCHED (local delivery) or DELIVERED."""

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        now = clock.now()
        f = await uow.orders.fulfilment(fulfilment_id)
        if f is None:
            raise NotFound("fulfilment", field="fulfilmentId")
        require_store_staff(principal, f.location_id)
        order = await load_order(uow, f.order_id)
        actor = principal.subject
        current = OrderStatus(order.status)

        async def step(target: OrderStatus, **fields: Any) -> None:
            nonlocal current
            current = transition(current, target)
            await move(uow, at=now, order_id=order.id, status=current, actor=actor,
                       kind=target.value, **fields)  # fmt: skip

        if action == "READY":
            _expect(f.method == "PICKUP" and f.status == "OPEN", "not an open pick-up")
            await uow.orders.update_fulfilment(f.id, status="READY")
            await step(OrderStatus.READY_FOR_PICKUP, data={"locationId": f.location_id})
        elif action == "PICKED_UP":
            _expect(f.method == "PICKUP" and f.status == "READY", "not ready for pick-up")
            if (
                not code
                or not f.pickup_code
                or not hmac.compare_digest(code.strip(), f.pickup_code)
            ):
                raise DomainError(OrderErrorCode.WRONG_CODE, "wrong pick-up code", field="code")
            await _sell_reserved(uow, order.id, f.location_id, actor)
            await uow.orders.update_fulfilment(f.id, status="PICKED_UP")
            await step(OrderStatus.PICKED_UP, data={"locationId": f.location_id})
            # paid at the counter when it was still pending
            await step(OrderStatus.COMPLETED, payment_status=PaymentStatus.PAID.value)
        elif action in ("SHIPPED", "DISPATCHED"):
            wanted = "SHIP" if action == "SHIPPED" else "LOCAL_DELIVERY"
            _expect(f.method == wanted and f.status == "OPEN", f"not an open {wanted.lower()}")
            await _sell_reserved(uow, order.id, f.location_id, actor)
            await uow.orders.update_fulfilment(
                f.id, status=action, carrier=carrier, tracking_number=tracking_number
            )
            await uow.orders.add_event(
                order.id,
                kind=action,
                actor=actor,
                data={"fulfilmentId": f.id, "carrier": carrier, "trackingNumber": tracking_number},
            )
            if not [x for x in order.fulfilments if x.id != f.id and x.status == "OPEN"]:
                await step(OrderStatus.FULFILLED)
        elif action == "DELIVERED":
            _expect(f.status in ("SHIPPED", "DISPATCHED"), "not on its way")
            await uow.orders.update_fulfilment(f.id, status="DELIVERED")
            if not [x for x in order.fulfilments if x.id != f.id and x.status != "DELIVERED"]:
                await step(OrderStatus.DELIVERED)
                await step(OrderStatus.COMPLETED)
        else:
            raise DomainError("INVALID", "unknown fulfilment action", field="action")
        return result(order.id)

    return await run_once(
        uow_factory,
        scope=f"fulfil:{principal.subject}",
        key=idempotency_key,
        payload={"f": fulfilment_id, "a": action, "c": code, "t": tracking_number},
        work=work,
    )


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise DomainError(OrderErrorCode.INVALID_STATE, message, field="fulfilmentId")


async def mark_paid(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    order_id: int,
    reference: str,
    clock: Clock,
) -> dict[str, Any]:
    """Staff record a payment taken outside the gateway (until payment providers arrive)."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
    now = clock.now()
    async with uow_factory() as uow:
        order = await load_order(uow, order_id)
        if not may_see(principal, order, None):
            raise PermissionDenied("not an order of your stores", field="orderId")
        if order.payment_status == PaymentStatus.PAID.value:
            return result(order.id)  # already paid: marking again changes nothing
        status = OrderStatus(order.status)
        new = transition(status, OrderStatus.PAID) if status is OrderStatus.PLACED else status
        await move(
            uow,
            at=now,
            order_id=order.id,
            status=new,
            actor=principal.subject,
            kind="PAID",
            data={"reference": reference[:120]},
            payment_status=PaymentStatus.PAID.value,
        )
        return result(order.id)


async def cancel(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    order_id: int,
    reason: str,
    idempotency_key: str | None,
    clock: Clock,
    access_token: str | None = None,
) -> dict[str, Any]:
    """Cancel before the goods leave: reservations are released, a paid amount becomes due."""

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        now = clock.now()
        order = await load_order(uow, order_id)
        if not may_see(principal, order, access_token):
            raise PermissionDenied("not your order", field="orderId")
        status = transition(OrderStatus(order.status), OrderStatus.CANCELLED)
        await _release_all(uow, order.id, principal.subject, reason or "cancelled")
        await points.give_back_for_cancel(uow, order, at=now, actor=principal.subject)
        paid = order.payment_status == PaymentStatus.PAID.value
        money = {"payment_status": PaymentStatus.REFUND_DUE.value} if paid else {}
        await move(
            uow,
            at=now,
            order_id=order.id,
            status=status,
            actor=principal.subject,
            kind="CANCELLED",
            data={"reason": reason},
            **money,
        )
        return result(order.id)

    return await run_once(
        uow_factory,
        scope=f"cancel:{order_id}",
        key=idempotency_key,
        payload={"o": order_id, "r": reason},
        work=work,
    )


async def release_expired(uow_factory: UnitOfWorkFactory, *, clock: Clock, limit: int = 100) -> int:
    """Cancel unpaid orders whose reservations expired; returns how many were released."""
    async with uow_factory() as uow:
        order_ids = await uow.orders.expired_reservation_orders(now=clock.now(), limit=limit)
    system = Principal(kind=PrincipalKind.STAFF, role=Role.OWNER, subject="system:expiry")
    released = 0
    for order_id in order_ids:
        now = clock.now()
        async with uow_factory() as uow:
            order = await load_order(uow, order_id)
            if order.payment_status == PaymentStatus.PAID.value or order.status not in (
                "PLACED",
                "READY_FOR_PICKUP",
            ):
                continue
            await _release_all(uow, order.id, system.subject, "reservation expired")
            await move(
                uow,
                at=now,
                order_id=order.id,
                status=OrderStatus.CANCELLED,
                actor=system.subject,
                kind="EXPIRED",
            )
            released += 1
    return released


__all__ = [
    "STAFF",
    "cancel",
    "fulfil",
    "load_order",
    "mark_paid",
    "may_see",
    "move",
    "release_expired",
    "require_store_staff",
    "result",
]
