"""Cart and checkout use cases: the cart is repriced by the domain on every read, and checkout
routes, reserves stock under row locks and places the order in one transaction."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from domain import points_services as points
from domain import promotion_services as promotions
from domain.cart import MAX_LINE_QUANTITY, MAX_LINES, PricedCart, price_cart
from domain.channels import Channel, Location, check_coordinates
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.idempotency import run_once
from domain.identity import Principal
from domain.inventory import MovementKind, StockLevel, available_to_sell
from domain.money import Money
from domain.orders import (
    OrderErrorCode,
    OrderSource,
    OrderStatus,
    PaymentStatus,
    Totals,
    pickup_code,
)
from domain.points import balance, check_redemption, redemption_value
from domain.ports import CartLineRecord, CartRecord, Clock, UnitOfWork, UnitOfWorkFactory
from domain.promotion_services import Discounts
from domain.routing import DeliveryMethod, RoutingDecision, Site, route

CART_LIFETIME = timedelta(days=10)
RESERVATION_HOLD = {  # how long stock is held for an order not yet served
    DeliveryMethod.PICKUP: timedelta(days=3),
    DeliveryMethod.SHIP: timedelta(days=2),
    DeliveryMethod.LOCAL_DELIVERY: timedelta(hours=6),
}
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
SOURCES = {
    "WEB": OrderSource.WEB,
    "APP": OrderSource.APP,
    "STORE": OrderSource.STORE_TILL,
    "MARKETPLACE": OrderSource.MARKETPLACE,
}


@dataclass(frozen=True, slots=True)
class CartView:
    """A cart as stored plus its repricing, and what its points will pay."""

    cart: CartRecord
    channel: Channel
    priced: PricedCart
    discounts: Discounts
    points_value: Money | None = None

    @property
    def totals(self) -> Totals:
        """The cart's totals after promotions."""
        return self.discounts.totals

    @property
    def amount_due(self) -> Money:
        """What remains to pay in money after points."""
        total = self.totals.total
        return total - self.points_value if self.points_value else total


def new_token() -> str:
    """An unguessable cart id."""
    return "c_" + secrets.token_urlsafe(24)


def clean_buyer(buyer: dict[str, Any]) -> dict[str, Any]:
    """Normalised buyer identity (email lower-cased, phone without spaces)."""
    result: dict[str, Any] = {}
    if buyer.get("email"):
        email = str(buyer["email"]).strip().lower()
        if "@" not in email or len(email) > 254:
            raise DomainError("INVALID_EMAIL", "not an email address", field="buyerIdentity.email")
        result["email"] = email
    if buyer.get("phone"):
        phone = str(buyer["phone"]).strip()
        if not _PHONE.match(phone):
            raise DomainError("INVALID_PHONE", "not a phone number", field="buyerIdentity.phone")
        result["phone"] = re.sub(r"[ ()-]", "", phone)
    if buyer.get("name"):
        result["name"] = str(buyer["name"]).strip()[:200]
    return result


async def clean_delivery(uow: UnitOfWork, delivery: dict[str, Any]) -> dict[str, Any]:
    """A delivery choice that names an existing store for pick-up, an address otherwise."""
    if not delivery:
        return {}
    try:
        method = DeliveryMethod(str(delivery.get("method", "")).upper())
    except ValueError:
        raise DomainError(
            "INVALID", "method is SHIP, PICKUP or LOCAL_DELIVERY", field="delivery.method"
        ) from None
    result: dict[str, Any] = {"method": method.value}
    if method is DeliveryMethod.PICKUP:
        location_id = delivery.get("locationId")
        location = await uow.locations.location(location_id) if location_id else None
        if location is None or location.kind != "STORE" or not location.pickup_enabled:
            raise DomainError(
                "PICKUP_NOT_AVAILABLE",
                "choose a store that offers pick-up",
                field="delivery.locationId",
            )
        result["locationId"] = location.id
    else:
        address = delivery.get("address") or {}
        if not isinstance(address, dict):
            raise DomainError("INVALID", "address is an object", field="delivery.address")
        lat, lon = address.get("latitude"), address.get("longitude")
        if lat is not None and lon is not None:
            check_coordinates(float(lat), float(lon), field_name="delivery.address")
        result["address"] = address
    return result


def _check_lines(lines: Sequence[tuple[int, int]]) -> None:
    for i, (_, quantity) in enumerate(lines):
        if not 0 < quantity <= MAX_LINE_QUANTITY:
            raise DomainError(
                OrderErrorCode.INVALID_QUANTITY,
                f"quantity is 1 to {MAX_LINE_QUANTITY}",
                field=f"lines.{i}.quantity",
            )


async def _check_variants(uow: UnitOfWork, variant_ids: Sequence[int]) -> None:
    known = await uow.catalog.variants_with_titles(variant_ids)
    for i, variant_id in enumerate(variant_ids):
        if variant_id not in known:
            raise NotFound("variant", field=f"lines.{i}.merchandiseId")


async def _load(uow: UnitOfWork, token: str, clock: Clock, *, lock: bool = False) -> CartRecord:
    cart = await uow.carts.get(token, for_update=lock)
    if cart is None:
        raise NotFound("cart", field="cartId")
    if cart.order_id is not None:
        raise DomainError(
            OrderErrorCode.CART_COMPLETED, "this cart became an order", field="cartId"
        )
    if cart.expires_at <= clock.now():
        raise DomainError(OrderErrorCode.CART_EXPIRED, "this cart has expired", field="cartId")
    return cart


async def view(uow: UnitOfWork, cart: CartRecord, clock: Clock) -> CartView:
    """Reprice a cart now for its channel."""
    channel = await uow.locations.channel(cart.channel_handle)
    if channel is None:
        raise DomainError("UNKNOWN_CHANNEL", "the cart's channel is gone", field="cartId")
    ids = [line.variant_id for line in cart.lines]
    tier = None
    if cart.member_id is not None:
        member = await uow.members.by_id(cart.member_id)
        tier = member.tier if member else None
    titles = await uow.catalog.variants_with_titles(ids)
    priced = price_cart(
        [
            (ln.variant_id, ln.quantity, titles[ln.variant_id][1], titles[ln.variant_id][0].sku)
            for ln in cart.lines
            if ln.variant_id in titles
        ],
        channel=channel,
        rules=await uow.prices.rules_for(ids),
        levels=await uow.inventory.levels(ids),
        locations=await uow.locations.all_locations(),
        delivery_method=cart.delivery.get("method"),
        store_id=_store_of(cart.delivery),
        at=clock.now(),
        tier=tier,
    )
    found = await promotions.discounts(
        uow,
        channel=channel,
        priced=priced,
        codes=cart.discount_codes,
        member_id=cart.member_id,
        tier=tier,
        store_id=_store_of(cart.delivery),
        at=clock.now(),
    )
    points_value = None
    if cart.points_to_redeem > 0:
        rules = await points.program(uow)
        points_value = redemption_value(
            cart.points_to_redeem, rule=rules.redeem, currency=channel.currency
        )
    return CartView(cart, channel, priced, found, points_value)


def _store_of(delivery: dict[str, Any]) -> int | None:
    location_id = delivery.get("locationId")
    return int(location_id) if delivery.get("method") == "PICKUP" and location_id else None


async def create_cart(
    uow_factory: UnitOfWorkFactory,
    *,
    channel_handle: str | None,
    lines: Sequence[tuple[int, int]],
    buyer: dict[str, Any],
    delivery: dict[str, Any],
    clock: Clock,
    member_id: int | None = None,
) -> CartView:
    """A new cart in a channel (default web), optionally with lines, buyer and delivery; a
    logged-in member's cart starts with their email and phone."""
    _check_lines(lines)
    async with uow_factory() as uow:
        channel = await uow.locations.channel(channel_handle or "web")
        if channel is None:
            raise DomainError("UNKNOWN_CHANNEL", "no such channel", field="channel")
        await _check_variants(uow, [v for v, _ in lines])
        if member_id is not None:
            member = await uow.members.by_id(member_id)
            known = {"email": member.email, "phone": member.phone, "name": member.name}
            given = {k: v for k, v in buyer.items() if v}
            buyer = {**{k: v for k, v in known.items() if v}, **given}
        cart = await uow.carts.create(
            token=new_token(),
            channel_id=channel.id,
            buyer=clean_buyer(buyer),
            delivery=await clean_delivery(uow, delivery),
            expires_at=clock.now() + CART_LIFETIME,
            member_id=member_id,
        )
        merged = _merge([], lines)
        await uow.carts.set_lines(cart.id, merged)
        cart = await _load(uow, cart.token, clock)
        return await view(uow, cart, clock)


def _merge(
    current: Sequence[CartLineRecord], added: Sequence[tuple[int, int]]
) -> list[CartLineRecord]:
    quantities = {line.variant_id: line.quantity for line in current}
    for variant_id, quantity in added:
        quantities[variant_id] = quantities.get(variant_id, 0) + quantity
    if len(quantities) > MAX_LINES:
        raise DomainError("TOO_MANY_LINES", f"at most {MAX_LINES} lines", field="lines")
    for i, quantity in enumerate(quantities.values()):
        if quantity > MAX_LINE_QUANTITY:
            raise DomainError(
                OrderErrorCode.INVALID_QUANTITY,
                f"at most {MAX_LINE_QUANTITY} per line",
                field=f"lines.{i}.quantity",
            )
    return [CartLineRecord(v, q) for v, q in quantities.items()]


async def change_cart(
    uow_factory: UnitOfWorkFactory,
    *,
    token: str,
    clock: Clock,
    add: Sequence[tuple[int, int]] = (),
    set_quantities: Sequence[tuple[int, int]] = (),
    remove: Sequence[int] = (),
    buyer: dict[str, Any] | None = None,
    delivery: dict[str, Any] | None = None,
    codes: Sequence[str] | None = None,
) -> CartView:
    """Add, update or remove lines, or change the buyer, the delivery or the discount codes."""
    _check_lines(add)
    for i, (_, quantity) in enumerate(set_quantities):
        if not 0 <= quantity <= MAX_LINE_QUANTITY:
            raise DomainError(
                OrderErrorCode.INVALID_QUANTITY,
                f"quantity is 0 to {MAX_LINE_QUANTITY}",
                field=f"lines.{i}.quantity",
            )
    async with uow_factory() as uow:
        cart = await _load(uow, token, clock, lock=True)
        if add or set_quantities or remove:
            await _check_variants(uow, [v for v, _ in add])
            lines = _merge(cart.lines, add)
            wanted = dict(set_quantities)
            present = {line.variant_id for line in lines}
            for i, variant_id in enumerate([*wanted, *remove]):
                if variant_id not in present:
                    raise NotFound("cart line", field=f"lineIds.{i}")
            lines = [
                CartLineRecord(ln.variant_id, wanted.get(ln.variant_id, ln.quantity))
                for ln in lines
                if ln.variant_id not in remove and wanted.get(ln.variant_id, 1) > 0
            ]
            await uow.carts.set_lines(cart.id, lines)
        changes: dict[str, Any] = {"expires_at": clock.now() + CART_LIFETIME}
        if buyer is not None:
            changes["buyer"] = clean_buyer(buyer)
        if delivery is not None:
            changes["delivery"] = await clean_delivery(uow, delivery)
        if codes is not None:
            clean = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
            if len(clean) > 10 or any(len(c) > 64 for c in clean):
                raise DomainError(
                    "INVALID", "at most 10 codes of 64 characters", field="discountCodes"
                )
            changes["discount_codes"] = clean
        await uow.carts.update(cart.id, **changes)
        return await view(uow, await _load(uow, token, clock), clock)


async def adopt_cart(
    uow_factory: UnitOfWorkFactory, *, token: str, member: Any, clock: Clock
) -> str:
    """At login: the anonymous cart joins the member's open cart of its channel (lines added),
    or becomes the member's cart; returns the cart to use from now on."""
    async with uow_factory() as uow:
        cart = await _load(uow, token, clock, lock=True)
        if cart.member_id not in (None, member.id):
            raise NotFound("cart", field="cartId")
        channel = await uow.locations.channel(cart.channel_handle)
        assert channel is not None
        mine = await uow.members.open_cart_token(member.id, channel_id=channel.id, now=clock.now())
        buyer = {
            **{"email": member.email, "phone": member.phone, "name": member.name},
            **cart.buyer,
        }
        if mine is None or mine == token:
            await uow.carts.update(
                cart.id,
                member_id=member.id,
                buyer=clean_buyer(buyer),
                expires_at=clock.now() + CART_LIFETIME,
            )
            return token
        target = await _load(uow, mine, clock, lock=True)
        merged = _merge(target.lines, [(ln.variant_id, ln.quantity) for ln in cart.lines])
        await uow.carts.set_lines(target.id, merged)
        await uow.carts.set_lines(cart.id, [])
        await uow.carts.update(target.id, expires_at=clock.now() + CART_LIFETIME)
        await uow.carts.update(cart.id, expires_at=clock.now())
        return mine


async def apply_points(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    token: str,
    points_wanted: int,
    clock: Clock,
) -> CartView:
    """A logged-in member chooses how many points pay this cart (0 clears); checked against
    the balance and the cap now, and again under lock at checkout."""
    member_id = principal.member_id
    if member_id is None:
        raise PermissionDenied("log in as a member to use points", field="cartId")
    async with uow_factory() as uow:
        cart = await _load(uow, token, clock, lock=True)
        if cart.member_id != member_id:
            raise PermissionDenied("not your cart", field="cartId")
        if points_wanted:
            current = await view(uow, cart, clock)
            rules = await points.program(uow)
            lots = await uow.points.lots(member_id)
            check_redemption(
                points_wanted,
                order_total=current.totals.total,
                available=balance(lots, at=clock.now()),
                rule=rules.redeem,
            )
        await uow.carts.update(cart.id, points_to_redeem=max(points_wanted, 0))
        return await view(uow, await _load(uow, token, clock), clock)


async def read_cart(uow_factory: UnitOfWorkFactory, *, token: str, clock: Clock) -> CartView | None:
    """The repriced cart, or None when there is no such (live) cart."""
    async with uow_factory() as uow:
        cart = await uow.carts.get(token)
        if cart is None:
            return None
        return await view(uow, cart, clock)


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
        cart = await _load(uow, token, clock, lock=True)
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
            pickup_location_id=_store_of(cart.delivery),
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
        attributed_location_id=_store_of(cart.delivery),
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
