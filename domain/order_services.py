"""Order use cases after checkout: fulfil (ship, pick-up, local delivery), pay, cancel, return,
sell in store, and release expired reservations. Every stock effect is a ledger movement."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain import points_services as points
from domain import promotion_services as promotions
from domain.cart import PricedCart, PricedLine
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.idempotency import run_once
from domain.identity import Principal, PrincipalKind, Role, Scope
from domain.insight_services import refresh_tags
from domain.inventory import MovementKind, StockLevel
from domain.members import check_member_code
from domain.money import Money
from domain.orders import (
    OrderErrorCode,
    OrderSource,
    OrderStatus,
    PaymentStatus,
    refund_for_return,
    totals,
    transition,
)
from domain.ports import Clock, OrderRecord, UnitOfWork, UnitOfWorkFactory
from domain.pricing import price_for

STAFF = (Role.OWNER, Role.ADMIN, Role.STORE_MANAGER, Role.CLERK)


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


_UTC_CLOCK = _UtcClock()


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


def _require_store_staff(principal: Principal, location_id: int) -> None:
    """Owners and admins anywhere; managers and clerks at their own stores."""
    principal.require_staff(*STAFF)
    if not principal.brand_wide and location_id not in principal.location_ids:
        raise DomainError(
            OrderErrorCode.WRONG_STORE,
            "this order is served by another store",
            field="fulfilmentId",
        )


async def _order(uow: UnitOfWork, order_id: int) -> OrderRecord:
    order = await uow.orders.get(order_id, for_update=True)
    if order is None:
        raise NotFound("order", field="orderId")
    return order


async def _move(
    uow: UnitOfWork,
    *,
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
        await points.earn_for_order(uow, order, at=datetime.now(UTC), actor=actor)
        await refresh_tags(uow, order, clock=_UTC_CLOCK)


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


def _result(order_id: int) -> dict[str, Any]:
    return {"order_id": order_id}


async def fulfil(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    fulfilment_id: int,
    action: str,
    idempotency_key: str | None,
    code: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> dict[str, Any]:
    """Move a fulfilment on: READY (for pick-up), PICKED_UP (with the buyer's code), SHIPPED,
    DISPATCHED (local delivery) or DELIVERED."""

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        f = await uow.orders.fulfilment(fulfilment_id)
        if f is None:
            raise NotFound("fulfilment", field="fulfilmentId")
        _require_store_staff(principal, f.location_id)
        order = await _order(uow, f.order_id)
        status = OrderStatus(order.status)
        actor = principal.subject
        if action == "READY":
            _expect(f.method == "PICKUP" and f.status == "OPEN", "not an open pick-up")
            await uow.orders.update_fulfilment(f.id, status="READY")
            await _move(
                uow,
                order_id=order.id,
                status=transition(status, OrderStatus.READY_FOR_PICKUP),
                actor=actor,
                kind="READY_FOR_PICKUP",
                data={"locationId": f.location_id},
            )
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
            await _move(
                uow,
                order_id=order.id,
                status=transition(status, OrderStatus.PICKED_UP),
                actor=actor,
                kind="PICKED_UP",
                data={"locationId": f.location_id},
            )
            paid: dict[str, Any] = {"payment_status": PaymentStatus.PAID.value}  # paid at the till
            await _move(
                uow,
                order_id=order.id,
                status=OrderStatus.COMPLETED,
                actor=actor,
                kind="COMPLETED",
                **paid,
            )
        elif action in ("SHIPPED", "DISPATCHED"):
            wanted = "SHIP" if action == "SHIPPED" else "LOCAL_DELIVERY"
            _expect(f.method == wanted and f.status == "OPEN", f"not an open {wanted.lower()}")
            await _sell_reserved(uow, order.id, f.location_id, actor)
            await uow.orders.update_fulfilment(
                f.id, status=action, carrier=carrier, tracking_number=tracking_number
            )
            others = [x for x in order.fulfilments if x.id != f.id and x.status == "OPEN"]
            await uow.orders.add_event(
                order.id,
                kind=action,
                actor=actor,
                data={"fulfilmentId": f.id, "carrier": carrier, "trackingNumber": tracking_number},
            )
            if not others:
                await _move(
                    uow,
                    order_id=order.id,
                    status=transition(status, OrderStatus.FULFILLED),
                    actor=actor,
                    kind="FULFILLED",
                )
        elif action == "DELIVERED":
            _expect(f.status in ("SHIPPED", "DISPATCHED"), "not on its way")
            await uow.orders.update_fulfilment(f.id, status="DELIVERED")
            others = [x for x in order.fulfilments if x.id != f.id and x.status != "DELIVERED"]
            if not others:
                await _move(
                    uow,
                    order_id=order.id,
                    status=transition(status, OrderStatus.DELIVERED),
                    actor=actor,
                    kind="DELIVERED",
                )
                await _move(
                    uow,
                    order_id=order.id,
                    status=OrderStatus.COMPLETED,
                    actor=actor,
                    kind="COMPLETED",
                )
        else:
            raise DomainError("INVALID", "unknown fulfilment action", field="action")
        return _result(order.id)

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
    uow_factory: UnitOfWorkFactory, principal: Principal, *, order_id: int, reference: str
) -> dict[str, Any]:
    """Staff record a payment taken outside the gateway (until payment providers arrive)."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
    async with uow_factory() as uow:
        order = await _order(uow, order_id)
        if not may_see(principal, order, None):
            raise PermissionDenied("not an order of your stores", field="orderId")
        if order.payment_status == PaymentStatus.PAID.value:
            return _result(order.id)  # already paid: marking again changes nothing
        status = OrderStatus(order.status)
        new = transition(status, OrderStatus.PAID) if status is OrderStatus.PLACED else status
        await _move(
            uow,
            order_id=order.id,
            status=new,
            actor=principal.subject,
            kind="PAID",
            data={"reference": reference[:120]},
            payment_status=PaymentStatus.PAID.value,
        )
        return _result(order.id)


async def cancel(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    order_id: int,
    reason: str,
    idempotency_key: str | None,
    access_token: str | None = None,
) -> dict[str, Any]:
    """Cancel before the goods leave: reservations are released, a paid amount becomes due."""

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        order = await _order(uow, order_id)
        if not may_see(principal, order, access_token):
            raise PermissionDenied("not your order", field="orderId")
        status = transition(OrderStatus(order.status), OrderStatus.CANCELLED)
        await _release_all(uow, order.id, principal.subject, reason or "cancelled")
        await points.give_back_for_cancel(uow, order, at=datetime.now(UTC), actor=principal.subject)
        paid = order.payment_status == PaymentStatus.PAID.value
        money = {"payment_status": PaymentStatus.REFUND_DUE.value} if paid else {}
        await _move(
            uow,
            order_id=order.id,
            status=status,
            actor=principal.subject,
            kind="CANCELLED",
            data={"reason": reason},
            **money,
        )
        return _result(order.id)

    return await run_once(
        uow_factory,
        scope=f"cancel:{order_id}",
        key=idempotency_key,
        payload={"o": order_id, "r": reason},
        work=work,
    )


async def create_return(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    order_id: int,
    location_id: int,
    lines: dict[int, int],
    restock: bool,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Take goods back at any store: restock there or write off, and record the refund due."""
    _require_store_staff(principal, location_id)

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        order = await _order(uow, order_id)
        if order.status not in ("PICKED_UP", "DELIVERED", "COMPLETED"):
            raise DomainError(OrderErrorCode.INVALID_STATE, "only served orders are returned")
        if await uow.locations.location(location_id) is None:
            raise NotFound("location", field="locationId")
        by_id = {ln.id: ln for ln in order.lines}
        refund = refund_for_return(
            unit_prices={
                i: Money((ln.line_total - ln.discount) // ln.quantity, order.currency)
                for i, ln in by_id.items()
            },
            returned=lines,
            ordered={i: ln.quantity for i, ln in by_id.items()},
            already_returned={i: ln.returned_quantity for i, ln in by_id.items()},
        )
        if restock:
            keys = [(by_id[i].variant_id, location_id) for i in lines]
            levels = await uow.inventory.lock(keys)
            for line_id, qty in lines.items():
                key = (by_id[line_id].variant_id, location_id)
                level = levels[key]
                level = StockLevel(
                    level.location_id, level.on_hand + qty, level.reserved, level.safety_stock
                )
                levels[key] = level
                await uow.inventory.save(key[0], level)
                await uow.inventory.record(
                    variant_id=key[0],
                    location_id=location_id,
                    kind=MovementKind.RETURN,
                    delta=qty,
                    on_hand_after=level.on_hand,
                    reason="customer return",
                    actor=principal.subject,
                    reference=f"order:{order.id}",
                )
            uow.touched.add("stock")
        return_id = await uow.orders.add_return(
            order_id=order.id,
            location_id=location_id,
            lines=[{"orderLineId": i, "quantity": q} for i, q in lines.items()],
            restock=restock,
            refund_due=refund.amount,
            currency=order.currency,
            actor=principal.subject,
        )
        _, _, points_money = await points.reverse_for_order_return(
            uow,
            order,
            returned_value=refund.amount,
            return_id=return_id,
            at=datetime.now(UTC),
            actor=principal.subject,
        )
        refund = Money(max(0, refund.amount - points_money.amount), refund.currency)
        await uow.orders.set_return_refund(return_id, refund.amount)
        await uow.orders.add_line_returns(lines)
        all_back = all(
            ln.returned_quantity + lines.get(ln.id, 0) >= ln.quantity for ln in order.lines
        )
        fields: dict[str, Any] = {"refunded_total": order.refunded_total + refund.amount}
        if order.payment_status == PaymentStatus.PAID.value:
            fields["payment_status"] = PaymentStatus.REFUND_DUE.value
        data = {"returnId": return_id, "refundDue": refund.amount, "locationId": location_id}
        status = OrderStatus.RETURNED if all_back else OrderStatus(order.status)
        if status is OrderStatus.RETURNED:
            transition(OrderStatus(order.status), status)
        await _move(
            uow,
            order_id=order.id,
            status=status,
            actor=principal.subject,
            kind="RETURNED",
            data=data,
            **fields,
        )
        return {"order_id": order.id, "return_id": return_id, "refund_due": refund.amount}

    return await run_once(
        uow_factory,
        scope=f"return:{order_id}",
        key=idempotency_key,
        payload={"o": order_id, "l": location_id, "lines": sorted(lines.items()), "r": restock},
        work=work,
    )


async def pos_sale(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    location_id: int,
    lines: Sequence[tuple[int, int]],
    buyer: dict[str, Any],
    tender: str,
    idempotency_key: str | None,
    clock: Clock,
    member_code: str | None = None,
    points_to_redeem: int = 0,
    discount_codes: Sequence[str] = (),
) -> dict[str, Any]:
    """A sale at a store's till: a completed order of the store's channel, stock taken there;
    with a scanned member code the member earns (and may spend) points like online, and coupon
    codes and the member's vouchers apply as in the web shop."""
    _require_store_staff(principal, location_id)
    if tender not in ("CASH", "CARD_TERMINAL"):
        raise DomainError("INVALID", "tender is CASH or CARD_TERMINAL", field="tender")
    if not lines:
        raise DomainError(OrderErrorCode.EMPTY_CART, "sell at least one line", field="lines")

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        channel = await uow.locations.store_channel(location_id)
        if channel is None:
            raise DomainError(
                "UNKNOWN_CHANNEL", "this store has no till channel", field="locationId"
            )
        wanted: dict[int, int] = {}
        for i, (variant_id, qty) in enumerate(lines):
            if not 0 < qty <= 999:
                raise DomainError(
                    OrderErrorCode.INVALID_QUANTITY, "1 to 999", field=f"lines.{i}.quantity"
                )
            wanted[variant_id] = wanted.get(variant_id, 0) + qty
        member = None
        if member_code:
            member = await uow.members.by_code(check_member_code(member_code))
            if member is None:
                raise NotFound("member", field="memberCode")
        elif points_to_redeem:
            raise DomainError("INVALID", "scan the member's code to use points", field="memberCode")
        titles = await uow.catalog.variants_with_titles(list(wanted))
        rules = await uow.prices.rules_for(list(wanted))
        levels = await uow.inventory.lock([(v, location_id) for v in wanted])
        priced, subtotal = [], Money(0, channel.currency)
        for i, (variant_id, qty) in enumerate(wanted.items()):
            if variant_id not in titles:
                raise NotFound("variant", field=f"lines.{i}.variantId")
            quote = price_for(
                rules.get(variant_id, []),
                currency=channel.currency,
                channel=channel.handle,
                tier=member.tier if member else None,
                at=clock.now(),
            )
            if quote is None:
                raise DomainError(
                    OrderErrorCode.NOT_SOLD_IN_CHANNEL,
                    "no price here",
                    field=f"lines.{i}.variantId",
                )
            level = levels[(variant_id, location_id)]
            if level.on_hand - level.reserved < qty:
                raise DomainError(
                    OrderErrorCode.OUT_OF_STOCK,
                    "not enough on the shelf",
                    field=f"lines.{i}.quantity",
                )
            priced.append((variant_id, qty, quote))
            subtotal = subtotal + quote.price.times(qty)
        t = totals(
            subtotal=subtotal,
            delivery=Money(0, channel.currency),
            tax_rate_bp=channel.tax_rate_bp,
            prices_include_tax=channel.prices_include_tax,
        )
        cart_lines = tuple(
            PricedLine(
                variant_id=v,
                title=titles[v][1],
                sku=titles[v][0].sku,
                quantity=q,
                unit_price=quote.price,
                compare_at=quote.compare_at,
                line_total=quote.price.times(q),
                available_in_channel=q,
                available_at_store=None,
                nearest_stores_with_stock=(),
            )
            for v, q, quote in priced
        )
        found = await promotions.discounts(
            uow,
            channel=channel,
            priced=PricedCart(cart_lines, t),
            codes=[c.strip().upper() for c in discount_codes if c.strip()],
            member_id=member.id if member else None,
            tier=member.tier if member else None,
            store_id=location_id,
            at=clock.now(),
        )
        t = found.totals
        staff_id = (
            int(principal.subject.split(":")[1]) if principal.subject.startswith("staff:") else None
        )
        order_id = await uow.orders.add(
            channel_id=channel.id,
            channel_handle=channel.handle,
            source=OrderSource.STORE_TILL.value,
            status=OrderStatus.COMPLETED.value,
            payment_status=PaymentStatus.PAID.value,
            currency=channel.currency,
            subtotal=t.subtotal.amount,
            delivery_total=0,
            tax_total=t.tax.amount,
            total=t.total.amount,
            buyer=buyer,
            delivery={"method": "IN_STORE", "locationId": location_id},
            routing={"reason": "sold at the till", "split": False, "locationIds": [location_id]},
            location_ids=[location_id],
            attributed_location_id=location_id,
            attributed_staff_id=staff_id,
            access_token=secrets.token_urlsafe(24),
            member_id=member.id if member else None,
            discount_total=found.evaluation.total_discount.amount,
            discounts=[
                {
                    "promotionId": d.promotion_id,
                    "variantId": d.line_id,
                    "amount": d.amount.amount,
                    "why": d.explanation,
                }
                for d in found.evaluation.line_discounts
            ],
        )
        await uow.orders.add_lines(
            order_id,
            [
                {
                    "variant_id": v,
                    "sku": titles[v][0].sku,
                    "title": titles[v][1],
                    "quantity": q,
                    "unit_price": quote.price.amount,
                    "compare_at_price": quote.compare_at.amount if quote.compare_at else None,
                    "line_total": quote.price.amount * q,
                    "discount": found.by_line.get(v, 0),
                }
                for v, q, quote in priced
            ],
        )
        await promotions.claim(
            uow, found.evaluation, order_id=order_id, member_id=member.id if member else None
        )
        await uow.orders.add_fulfilment(
            order_id,
            location_id=location_id,
            method="IN_STORE",
            status="HANDED_OVER",
            lines=[{"variantId": v, "quantity": q} for v, q, _ in priced],
        )
        for variant_id, qty, _ in priced:
            level = levels[(variant_id, location_id)]
            level = StockLevel(
                level.location_id, level.on_hand - qty, level.reserved, level.safety_stock
            )
            await uow.inventory.save(variant_id, level)
            await uow.inventory.record(
                variant_id=variant_id,
                location_id=location_id,
                kind=MovementKind.SALE,
                delta=-qty,
                on_hand_after=level.on_hand,
                reason=f"till sale ({tender.lower()})",
                actor=principal.subject,
                reference=f"order:{order_id}",
            )
        await uow.orders.add_event(
            order_id,
            kind="COMPLETED",
            actor=principal.subject,
            data={"tender": tender, "total": t.total.amount},
        )
        await uow.outbox.publish(
            "order.completed",
            aggregate_id=str(order_id),
            payload={
                "orderId": order_id,
                "channel": channel.handle,
                "total": t.total.amount,
                "source": "STORE_TILL",
            },
        )
        if member is not None:
            if points_to_redeem:
                value = await points.redeem(
                    uow,
                    member_id=member.id,
                    order_id=order_id,
                    points=points_to_redeem,
                    order_total=t.total,
                    at=clock.now(),
                    actor=principal.subject,
                )
                await uow.orders.update(
                    order_id, points_redeemed=points_to_redeem, points_value=value.amount
                )
            order = await uow.orders.get(order_id)
            assert order is not None
            await points.earn_for_order(uow, order, at=clock.now(), actor=principal.subject)
            await refresh_tags(uow, order, clock=clock)
        uow.touched.add("stock")
        return _result(order_id)

    return await run_once(
        uow_factory,
        scope=f"pos:{principal.subject}",
        key=idempotency_key,
        payload={
            "l": location_id,
            "lines": list(lines),
            "b": buyer,
            "t": tender,
            "m": member_code,
            "p": points_to_redeem,
            "d": sorted(discount_codes),
        },
        work=work,
    )


async def release_expired(uow_factory: UnitOfWorkFactory, *, clock: Clock, limit: int = 100) -> int:
    """Cancel unpaid orders whose reservations expired; returns how many were released."""
    async with uow_factory() as uow:
        order_ids = await uow.orders.expired_reservation_orders(now=clock.now(), limit=limit)
    system = Principal(kind=PrincipalKind.STAFF, role=Role.OWNER, subject="system:expiry")
    released = 0
    for order_id in order_ids:
        async with uow_factory() as uow:
            order = await _order(uow, order_id)
            if order.payment_status == PaymentStatus.PAID.value or order.status not in (
                "PLACED",
                "READY_FOR_PICKUP",
            ):
                continue
            await _release_all(uow, order.id, system.subject, "reservation expired")
            await _move(
                uow,
                order_id=order.id,
                status=OrderStatus.CANCELLED,
                actor=system.subject,
                kind="EXPIRED",
            )
            released += 1
    return released


__all__ = [
    "Scope",
    "cancel",
    "create_return",
    "fulfil",
    "mark_paid",
    "may_see",
    "pos_sale",
    "release_expired",
]
