"""Cart use cases: the cart is repriced by the domain on every read (prices, availability,
promotions, points), and changed by the storefront's cart mutations."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from domain.cart.model import MAX_LINE_QUANTITY, MAX_LINES, PricedCart, price_cart
from domain.cart.ports import Cart, CartLine, NewCart
from domain.catalog.model import Variant
from domain.channels.model import Channel, Location, check_coordinates
from domain.contact import canonical_email, canonical_phone
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.identity.model import Principal
from domain.loyalty import services as points
from domain.loyalty.model import balance, check_redemption, redemption_value
from domain.members.model import MemberRecord
from domain.money import Money
from domain.orders.errors import OrderErrorCode
from domain.orders.model import Address, Buyer, Delivery, Totals
from domain.orders.routing import DeliveryMethod
from domain.orders.states import FulfilmentMethod
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.promotions import services as promotions
from domain.promotions.services import Discounts

CART_LIFETIME = timedelta(days=10)
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")


@dataclass(frozen=True, slots=True)
class CartView:
    """A cart as stored plus its repricing, and what its points will pay."""

    cart: Cart
    channel: Channel
    priced: PricedCart
    discounts: Discounts
    points_value: Money | None = None
    locations: dict[int, Location] | None = None  # every location, as the pricing read them
    variants: dict[int, Variant] | None = None  # the lines' variants, as the pricing read them

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


@dataclass(frozen=True, slots=True)
class DeliveryChoice:
    """A delivery as the shopper asked for it, before it is checked."""

    method: str
    location_id: int | None = None
    address: Address | None = None


def clean_buyer(buyer: Buyer) -> Buyer:
    """Buyer identity in canonical form (domain/contact.py: email case-folded, phone E.164), so
    guest orders, look-ups and per-buyer limits see one spelling."""
    email = phone = None
    if buyer.email:
        email = canonical_email(buyer.email) or ""
        if "@" not in email or len(email) > 254:
            raise DomainError("INVALID_EMAIL", "not an email address", field="buyerIdentity.email")
    if buyer.phone:
        phone = canonical_phone(buyer.phone)
        if phone is None or not _PHONE.match(buyer.phone.strip()):
            raise DomainError("INVALID_PHONE", "not a phone number", field="buyerIdentity.phone")
    name = buyer.name.strip()[:200] if buyer.name else None
    return Buyer(email=email, phone=phone, name=name or None)


def known_buyer(given: Buyer, member: Buyer) -> Buyer:
    """What the shopper gave, completed by what the member's account knows."""
    return Buyer(
        email=given.email or member.email,
        phone=given.phone or member.phone,
        name=given.name or member.name,
    )


async def clean_delivery(uow: UnitOfWork, choice: DeliveryChoice | None) -> Delivery:
    """A delivery choice that names an existing store for pick-up, an address otherwise."""
    if choice is None:
        return Delivery()
    try:
        method = DeliveryMethod(choice.method.upper())
    except ValueError:
        raise DomainError(
            "INVALID", "method is SHIP, PICKUP or LOCAL_DELIVERY", field="delivery.method"
        ) from None
    if method is DeliveryMethod.PICKUP:
        location_id = choice.location_id
        location = await uow.locations.location(location_id) if location_id else None
        if location is None or location.kind != "STORE" or not location.pickup_enabled:
            raise DomainError(
                "PICKUP_NOT_AVAILABLE",
                "choose a store that offers pick-up",
                field="delivery.locationId",
            )
        return Delivery(method=FulfilmentMethod.PICKUP, location_id=location.id)
    address = choice.address or Address()
    if address.coordinates is not None:
        check_coordinates(*address.coordinates, field_name="delivery.address")
    return Delivery(method=FulfilmentMethod(method.value), address=address)


def _check_lines(lines: Sequence[tuple[int, int]]) -> None:
    for i, (_, quantity) in enumerate(lines):
        if not 0 < quantity <= MAX_LINE_QUANTITY:
            raise DomainError(
                OrderErrorCode.INVALID_QUANTITY,
                f"quantity is 1 to {MAX_LINE_QUANTITY}",
                field=f"lines.{i}.quantity",
            )


async def _check_variants(uow: UnitOfWork, variant_ids: Sequence[int]) -> None:
    """Only variants on sale may enter a cart: a draft or archived product's, or an archived
    variant, is not found (shoppers do not see it either)."""
    known = await uow.catalog.variants_for_cart(variant_ids)
    for i, variant_id in enumerate(variant_ids):
        if variant_id not in known or not known[variant_id][2]:
            raise NotFound("variant", field=f"lines.{i}.merchandiseId")


async def load_cart(uow: UnitOfWork, token: str, clock: Clock, *, lock: bool = False) -> Cart:
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


async def view(uow: UnitOfWork, cart: Cart, clock: Clock) -> CartView:
    """Reprice a cart now for its channel."""
    channel = await uow.locations.channel(cart.channel_handle)
    if channel is None:
        raise DomainError("UNKNOWN_CHANNEL", "the cart's channel is gone", field="cartId")
    ids = [line.variant_id for line in cart.lines]
    tier = None
    if cart.member_id is not None:
        member = await uow.members.by_id(cart.member_id)
        tier = member.tier if member else None
    titles = await uow.catalog.variants_for_cart(ids)
    # a line whose product was archived or unpublished since is priced as not sold here
    # (NOT_SOLD_IN_CHANNEL), so checkout refuses it
    every_rule = await uow.prices.rules_for(ids)
    on_sale = {v: r for v, r in every_rule.items() if v in titles and titles[v][2]}
    priced = price_cart(
        [
            (ln.variant_id, ln.quantity, titles[ln.variant_id][1], titles[ln.variant_id][0].sku)
            for ln in cart.lines
            if ln.variant_id in titles
        ],
        channel=channel,
        rules=on_sale,
        levels=await uow.inventory.levels(ids),
        locations=(locations := await uow.locations.all_locations()),
        delivery_method=cart.delivery.method.value if cart.delivery.method else None,
        store_id=cart.delivery.pickup_store,
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
        store_id=cart.delivery.pickup_store,
        at=clock.now(),
    )
    points_value = None
    if cart.points_to_redeem > 0:
        rules = await points.program(uow)
        points_value = redemption_value(
            cart.points_to_redeem, rule=rules.redeem, currency=channel.currency
        )
    variants = {variant_id: known[0] for variant_id, known in titles.items()}
    return CartView(cart, channel, priced, found, points_value, locations, variants)


async def create_cart(
    uow_factory: UnitOfWorkFactory,
    *,
    channel_handle: str | None,
    lines: Sequence[tuple[int, int]],
    buyer: Buyer,
    delivery: DeliveryChoice | None,
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
            if member is not None:
                buyer = known_buyer(buyer, Buyer(member.email, member.phone, member.name))
        new = NewCart(
            token=new_token(),
            channel_id=channel.id,
            buyer=clean_buyer(buyer),
            delivery=await clean_delivery(uow, delivery),
            expires_at=clock.now() + CART_LIFETIME,
            member_id=member_id,
        )
        cart = await uow.carts.create(new)
        merged = _merge([], lines)
        await uow.carts.set_lines(cart.id, merged)
        return await view(uow, replace(cart, lines=tuple(merged)), clock)


def _merge(current: Sequence[CartLine], added: Sequence[tuple[int, int]]) -> list[CartLine]:
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
    return [CartLine(v, q) for v, q in quantities.items()]


async def change_cart(
    uow_factory: UnitOfWorkFactory,
    *,
    token: str,
    clock: Clock,
    add: Sequence[tuple[int, int]] = (),
    set_quantities: Sequence[tuple[int, int]] = (),
    remove: Sequence[int] = (),
    buyer: Buyer | None = None,
    delivery: DeliveryChoice | None = None,
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
        lines_now = cart.lines
        if add or set_quantities or remove:
            # one read for the added variants and the lines priced next (the repository keeps
            # what it read for the rest of the unit of work)
            await uow.catalog.variants_for_cart(
                [*(v for v, _ in add), *(ln.variant_id for ln in cart.lines)]
            )
            await _check_variants(uow, [v for v, _ in add])
            lines = _merge(cart.lines, add)
            wanted = dict(set_quantities)
            present = {line.variant_id for line in lines}
            for i, variant_id in enumerate([*wanted, *remove]):
                if variant_id not in present:
                    raise NotFound("cart line", field=f"lineIds.{i}")
            lines = [
                CartLine(ln.variant_id, wanted.get(ln.variant_id, ln.quantity))
                for ln in lines
                if ln.variant_id not in remove and wanted.get(ln.variant_id, 1) > 0
            ]
            await uow.carts.set_lines(cart.id, lines)
            lines_now = tuple(lines)
        # the cart as now stored (read under lock, changed here): no second read
        cart = replace(cart, lines=lines_now, expires_at=clock.now() + CART_LIFETIME)
        if buyer is not None:
            cart = replace(cart, buyer=clean_buyer(buyer))
        if delivery is not None:
            cart = replace(cart, delivery=await clean_delivery(uow, delivery))
        if codes is not None:
            clean = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
            if len(clean) > 10 or any(len(c) > 64 for c in clean):
                raise DomainError(
                    "INVALID", "at most 10 codes of 64 characters", field="discountCodes"
                )
            cart = replace(cart, discount_codes=tuple(clean))
        await uow.carts.save(cart)
        return await view(uow, cart, clock)


async def adopt_cart(
    uow_factory: UnitOfWorkFactory, *, token: str, member: MemberRecord, clock: Clock
) -> str | None:
    """At login: the anonymous cart joins the member's open cart of its channel (lines added),
    or becomes the member's cart; returns the cart to use from now on. None when the cart
    cannot be adopted (gone, expired, ordered, another member's, too many lines to merge):
    a stale cart never makes a login fail."""
    try:
        return await _adopt(uow_factory, token=token, member=member, clock=clock)
    except DomainError:
        return None


async def _adopt(
    uow_factory: UnitOfWorkFactory, *, token: str, member: MemberRecord, clock: Clock
) -> str:
    async with uow_factory() as uow:
        cart = await load_cart(uow, token, clock, lock=True)
        if cart.member_id not in (None, member.id):
            raise NotFound("cart", field="cartId")
        channel = await uow.locations.channel(cart.channel_handle)
        assert channel is not None
        mine = await uow.members.open_cart_token(member.id, channel_id=channel.id, now=clock.now())
        buyer = known_buyer(cart.buyer, Buyer(member.email, member.phone, member.name))
        if mine is None or mine == token:
            await uow.carts.save(
                replace(
                    cart,
                    member_id=member.id,
                    buyer=clean_buyer(buyer),
                    expires_at=clock.now() + CART_LIFETIME,
                )
            )
            return token
        target = await load_cart(uow, mine, clock, lock=True)
        merged = _merge(target.lines, [(ln.variant_id, ln.quantity) for ln in cart.lines])
        await uow.carts.set_lines(target.id, merged)
        await uow.carts.set_lines(cart.id, [])
        await uow.carts.save(replace(target, expires_at=clock.now() + CART_LIFETIME))
        await uow.carts.save(replace(cart, expires_at=clock.now()))
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
        await uow.carts.save(replace(cart, points_to_redeem=max(points_wanted, 0)))
        return await view(uow, await load_cart(uow, token, clock), clock)


async def read_cart(uow_factory: UnitOfWorkFactory, *, token: str, clock: Clock) -> CartView | None:
    """The repriced cart, or None when there is no such (live) cart."""
    async with uow_factory() as uow:
        cart = await uow.carts.get(token)
        if cart is None:
            return None
        return await view(uow, cart, clock)
