"""Checkout: validate the cart, route it, reserve stock under row locks and place the order,
all in one transaction; a replay with the same key returns the same order."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from domain.cart.services import CartView, load_cart, store_of, view
from domain.channels.model import Channel, Location
from domain.errors import DomainError
from domain.idempotency import run_once
from domain.identity.model import Principal
from domain.inventory.model import MovementKind, StockLevel, available_to_sell
from domain.loyalty import services as points
from domain.orders.model import (
    OrderErrorCode,
    OrderSource,
    OrderStatus,
    PaymentStatus,
    pickup_code,
)
from domain.orders.routing import DeliveryMethod, RoutingDecision, Site, route
from domain.ports import CartRecord, Clock, UnitOfWork, UnitOfWorkFactory
from domain.promotions import services as promotions

RESERVATION_HOLD = {  # how long stock is held for an order not yet served
    DeliveryMethod.PICKUP: timedelta(days=3),
    DeliveryMethod.SHIP: timedelta(days=2),
    DeliveryMethod.LOCAL_DELIVERY: timedelta(hours=6),
}
SOURCES = {
    "WEB": OrderSource.WEB,
    "APP": OrderSource.APP,
    "STORE": OrderSource.STORE_TILL,
    "MARKETPLACE": OrderSource.MARKETPLACE,
}


def _sites(
    channel: Channel, levels: dict[tuple[int, int], StockLevel], locations: dict[int, Location]
) -> list[Site]:
    sites = []
    for location_id in channel.location_ids:
        location = locations.get(location_id)
        if location is None or not location.active:
            continue
        available = {v: lv.available for (v, loc), lv in levels.items() if loc == location_id}
        sites.append(
            Site(
                location_id=location_id,
                name=location.name,
                is_store=location.kind == "STORE",
                coordinates=location.coordinates,
                available=available,
                pickup_enabled=location.pickup_enabled,
                local_delivery_radius_km=location.local_delivery_radius_km,
            )
        )
    return sites


def _destination(delivery: dict[str, Any]) -> tuple[float, float] | None:
    address = delivery.get("address") or {}
    lat, lon = address.get("latitude"), address.get("longitude")
    return (float(lat), float(lon)) if lat is not None and lon is not None else None


async def checkout_complete(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    token: str,
    idempotency_key: str | None,
    clock: Clock,
) -> dict[str, Any]:
    """Validate, route, reserve and place the order; a replay returns the same order."""

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        cart = await load_cart(uow, token, clock, lock=True)
        current = await view(uow, cart, clock)
        if not current.priced.lines:
            raise DomainError(OrderErrorCode.EMPTY_CART, "the cart is empty", field="cartId")
        if not cart.buyer.get("email") and not cart.buyer.get("phone"):
            raise DomainError(
                OrderErrorCode.BUYER_REQUIRED,
                "an email or a phone number is needed",
                field="buyerIdentity",
            )
        if not cart.delivery.get("method"):
            raise DomainError(
                OrderErrorCode.DELIVERY_REQUIRED,
                "choose shipping, pick-up or local delivery",
                field="delivery",
            )
        channel = current.channel
        for i, line in enumerate(current.priced.lines):
            if line.unit_price is None:
                raise DomainError(
                    OrderErrorCode.NOT_SOLD_IN_CHANNEL,
                    f"{line.sku} is not sold here",
                    field=f"lines.{i}",
                )
        wanted = {ln.variant_id: ln.quantity for ln in current.priced.lines}
        for i, line in enumerate(current.priced.lines):
            # refused without waiting for the stock locks when already sold out (flash sales)
            if line.available_in_channel < line.quantity:
                raise DomainError(
                    OrderErrorCode.OUT_OF_STOCK,
                    "not enough stock for this line",
                    field=f"lines.{i}.quantity",
                )
        keys = [(v, loc) for v in wanted for loc in channel.location_ids]
        levels = await uow.inventory.lock(keys)  # row locks in primary-key order
        for i, (variant_id, quantity) in enumerate(wanted.items()):
            held = [lv for (v, _), lv in levels.items() if v == variant_id]
            if available_to_sell(held, rule=channel.rule, serving=channel.location_ids) < quantity:
                raise DomainError(
                    OrderErrorCode.OUT_OF_STOCK,
                    "not enough stock for this line",
                    field=f"lines.{i}.quantity",
                )
        method = DeliveryMethod(cart.delivery["method"])
        decision = route(
            wanted,
            method=method,
            sites=_sites(channel, levels, await uow.locations.all_locations()),
            pickup_location_id=store_of(cart.delivery),
            destination=_destination(cart.delivery),
        )
        order_id = await _place(uow, principal, cart, current, decision, levels, clock)
        await promotions.claim(
            uow, current.discounts.evaluation, order_id=order_id, member_id=cart.member_id
        )
        if cart.points_to_redeem > 0 and cart.member_id is not None:
            value = await points.redeem(
                uow,
                member_id=cart.member_id,
                order_id=order_id,
                points=cart.points_to_redeem,
                order_total=current.totals.total,
                at=clock.now(),
                actor=principal.subject,
            )
            await uow.orders.update(
                order_id, points_redeemed=cart.points_to_redeem, points_value=value.amount
            )
        await uow.carts.update(cart.id, order_id=order_id)
        order = await uow.orders.get(order_id)
        assert order is not None
        return {"order_id": order_id, "number": order.number, "access_token": order.access_token}

    return await run_once(
        uow_factory,
        scope=f"checkout:{token}",
        key=idempotency_key,
        payload={"cart": token},
        work=work,
    )


async def _place(
    uow: UnitOfWork,
    principal: Principal,
    cart: CartRecord,
    current: CartView,
    decision: RoutingDecision,
    levels: dict[tuple[int, int], StockLevel],
    clock: Clock,
) -> int:
    channel, priced, now = current.channel, current.priced, clock.now()
    method = DeliveryMethod(cart.delivery["method"])
    order_id = await uow.orders.add(
        channel_id=channel.id,
        channel_handle=channel.handle,
        source=SOURCES.get(channel.kind.value, OrderSource.WEB).value,
        status=OrderStatus.PLACED.value,
        payment_status=PaymentStatus.PENDING.value,
        currency=channel.currency,
        subtotal=current.totals.subtotal.amount,
        delivery_total=current.totals.delivery.amount,
        tax_total=current.totals.tax.amount,
        total=current.totals.total.amount,
        discount_total=current.discounts.evaluation.total_discount.amount,
        discounts=[
            {
                "promotionId": d.promotion_id,
                "variantId": d.line_id,
                "amount": d.amount.amount,
                "why": d.explanation,
            }
            for d in current.discounts.evaluation.line_discounts
        ],
        buyer=cart.buyer,
        delivery=cart.delivery,
        routing={
            "reason": decision.reason,
            "split": decision.split,
            "locationIds": list(decision.location_ids),
        },
        location_ids=list(decision.location_ids),
        attributed_location_id=store_of(cart.delivery),
        access_token=secrets.token_urlsafe(24),
        member_id=cart.member_id,
    )
    await uow.orders.add_lines(
        order_id,
        [
            {
                "variant_id": ln.variant_id,
                "sku": ln.sku,
                "title": ln.title,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price.amount if ln.unit_price else 0,
                "compare_at_price": ln.compare_at.amount if ln.compare_at else None,
                "line_total": ln.line_total.amount if ln.line_total else 0,
                "discount": current.discounts.by_line.get(ln.variant_id, 0),
            }
            for ln in priced.lines
        ],
    )
    hold_until = now + RESERVATION_HOLD[method]
    reservations = []
    for location_id in decision.location_ids:
        mine = [a for a in decision.allocations if a.location_id == location_id]
        await uow.orders.add_fulfilment(
            order_id,
            location_id=location_id,
            method=method.value,
            status="OPEN",
            lines=[{"variantId": a.variant_id, "quantity": a.quantity} for a in mine],
            pickup_code=pickup_code() if method is DeliveryMethod.PICKUP else None,
        )
        for a in mine:
            level = levels[(a.variant_id, a.location_id)]
            held = StockLevel(
                level.location_id, level.on_hand, level.reserved + a.quantity, level.safety_stock
            )
            levels[(a.variant_id, a.location_id)] = held
            await uow.inventory.save(a.variant_id, held)
            await uow.inventory.record(
                variant_id=a.variant_id,
                location_id=a.location_id,
                kind=MovementKind.RESERVATION,
                delta=a.quantity,
                on_hand_after=held.on_hand,
                reason="checkout",
                actor=principal.subject,
                reference=f"order:{order_id}",
            )
            reservations.append(
                {
                    "order_id": order_id,
                    "variant_id": a.variant_id,
                    "location_id": a.location_id,
                    "quantity": a.quantity,
                    "expires_at": hold_until,
                }
            )
    await uow.orders.add_reservations(reservations)
    await uow.orders.add_event(
        order_id,
        kind="PLACED",
        actor=principal.subject,
        data={"routing": decision.reason, "total": current.totals.total.amount},
    )
    await uow.outbox.publish(
        "order.placed",
        aggregate_id=str(order_id),
        payload={
            "orderId": order_id,
            "channel": channel.handle,
            "total": current.totals.total.amount,
            "currency": channel.currency,
        },
    )
    uow.touched.add("stock")
    return order_id
