"""Cart use cases: the cart is repriced by the domain on every read (prices, availability,
promotions, points), and changed by the storefront's cart mutations."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from domain.cart.model import MAX_LINE_QUANTITY, MAX_LINES, PricedCart, price_cart
from domain.channels.model import Channel, check_coordinates
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.identity.model import Principal
from domain.loyalty import services as points
from domain.loyalty.model import balance, check_redemption, redemption_value
from domain.money import Money
from domain.orders.model import (
    OrderErrorCode,
    Totals,
)
from domain.orders.routing import DeliveryMethod
from domain.ports import CartLineRecord, CartRecord, Clock, UnitOfWork, UnitOfWorkFactory
from domain.promotions import services as promotions
from domain.promotions.services import Discounts

CART_LIFETIME = timedelta(days=10)
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")


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


async def load_cart(uow: UnitOfWork, token: str, clock: Clock, *, lock: bool = False) -> CartRecord:
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
        store_id=store_of(cart.delivery),
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
        store_id=store_of(cart.delivery),
        at=clock.now(),
    )
    points_value = None
    if cart.points_to_redeem > 0:
        rules = await points.program(uow)
        points_value = redemption_value(
            cart.points_to_redeem, rule=rules.redeem, currency=channel.currency
        )
    return CartView(cart, channel, priced, found, points_value)


def store_of(delivery: dict[str, Any]) -> int | None:
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
        cart = await load_cart(uow, cart.token, clock)
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
        cart = await load_cart(uow, token, clock, lock=True)
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
        return await view(uow, await load_cart(uow, token, clock), clock)


async def adopt_cart(
    uow_factory: UnitOfWorkFactory, *, token: str, member: Any, clock: Clock
) -> str:
    """At login: the anonymous cart joins the member's open cart of its channel (lines added),
    or becomes the member's cart; returns the cart to use from now on."""
    async with uow_factory() as uow:
        cart = await load_cart(uow, token, clock, lock=True)
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
        target = await load_cart(uow, mine, clock, lock=True)
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
        cart = await load_cart(uow, token, clock, lock=True)
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
        return await view(uow, await load_cart(uow, token, clock), clock)


async def read_cart(uow_factory: UnitOfWorkFactory, *, token: str, clock: Clock) -> CartView | None:
    """The repriced cart, or None when there is no such (live) cart."""
    async with uow_factory() as uow:
        cart = await uow.carts.get(token)
        if cart is None:
            return None
        return await view(uow, cart, clock)
