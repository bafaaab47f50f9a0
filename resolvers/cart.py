"""Resolvers of the storefront cart: read, create, change lines, buyer, delivery, codes, points.
Each decodes its input, calls one use case of domain/cart/services.py and maps the CartView."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from domain.cart import services as svc
from domain.orders.model import Address, Buyer
from resolvers.context import Context
from schema.cart.types import (
    BuyerIdentityInput,
    Cart,
    CartDeliveryInput,
    CartInput,
    CartLineInput,
    CartLineUpdateInput,
    CartPayload,
)
from schema.relay import expect_id


def _lines(lines: list[CartLineInput]) -> list[tuple[int, int]]:
    return [
        (
            expect_id(ln.merchandise_id, "ProductVariant", field=f"lines.{i}.merchandiseId"),
            ln.quantity,
        )
        for i, ln in enumerate(lines)
    ]


def _buyer(data: BuyerIdentityInput | None) -> Buyer:
    if data is None:
        return Buyer()
    return Buyer(email=data.email, phone=data.phone, name=data.name)


def _delivery(data: CartDeliveryInput | None) -> svc.DeliveryChoice | None:
    if data is None:
        return None
    address = None
    if data.address is not None:
        address = Address(**{k: v for k, v in vars(data.address).items() if v is not None})
    location_id = None
    if data.location_id:
        location_id = expect_id(data.location_id, "Location", field="delivery.locationId")
    return svc.DeliveryChoice(method=data.method, location_id=location_id, address=address)


async def _cart_payload(info: Info[Context, None], view: svc.CartView) -> CartPayload:
    return CartPayload(cart=Cart.of(view, await _locations(info, view)), user_errors=[])


async def _locations(info: Info[Context, None], view: svc.CartView) -> dict[int, Any]:
    """Every location: those the cart was priced with, else the request's. The variants the
    pricing read answer the lines' merchandise too."""
    if view.variants:
        info.context.loaders.variant_by_id.prime_many(view.variants)
    if view.locations is not None:
        return view.locations
    return await info.context.locations()


async def cart(info: Info[Context, None], id: strawberry.ID) -> Cart | None:
    """A cart by its ID, repriced now; None when unknown or expired."""
    s = info.context.services
    view = await svc.read_cart(s.uow, token=str(id), clock=s.clock)
    return Cart.of(view, await _locations(info, view)) if view else None


async def cart_create(info: Info[Context, None], input: CartInput) -> CartPayload:
    """A new cart in a channel (a logged-in member's own), with its first lines."""
    s = info.context.services
    view = await svc.create_cart(
        s.uow,
        channel_handle=input.channel,
        lines=_lines(input.lines),
        buyer=_buyer(input.buyer_identity),
        delivery=_delivery(input.delivery),
        clock=s.clock,
        member_id=info.context.principal.member_id,
    )
    return await _cart_payload(info, view)


async def cart_lines_add(
    info: Info[Context, None], cart_id: strawberry.ID, lines: list[CartLineInput]
) -> CartPayload:
    """Add variants; a variant already in the cart adds to its line."""
    s = info.context.services
    view = await svc.change_cart(s.uow, token=str(cart_id), clock=s.clock, add=_lines(lines))
    return await _cart_payload(info, view)


async def cart_lines_update(
    info: Info[Context, None], cart_id: strawberry.ID, lines: list[CartLineUpdateInput]
) -> CartPayload:
    """Set line quantities; 0 removes the line."""
    quantities = [
        (expect_id(ln.id, "CartLine", field=f"lines.{i}.id"), ln.quantity)
        for i, ln in enumerate(lines)
    ]
    s = info.context.services
    view = await svc.change_cart(
        s.uow, token=str(cart_id), clock=s.clock, set_quantities=quantities
    )
    return await _cart_payload(info, view)


async def cart_lines_remove(
    info: Info[Context, None], cart_id: strawberry.ID, line_ids: list[strawberry.ID]
) -> CartPayload:
    """Remove lines by CartLine ID."""
    remove = [expect_id(i, "CartLine", field="lineIds") for i in line_ids]
    s = info.context.services
    view = await svc.change_cart(s.uow, token=str(cart_id), clock=s.clock, remove=remove)
    return await _cart_payload(info, view)


async def cart_buyer_identity_update(
    info: Info[Context, None], cart_id: strawberry.ID, buyer_identity: BuyerIdentityInput
) -> CartPayload:
    """Who buys: email, phone, name."""
    s = info.context.services
    view = await svc.change_cart(
        s.uow, token=str(cart_id), clock=s.clock, buyer=_buyer(buyer_identity)
    )
    return await _cart_payload(info, view)


async def cart_points_apply(
    info: Info[Context, None], cart_id: strawberry.ID, points: int
) -> CartPayload:
    """A logged-in member pays part of the cart with points."""
    ctx = info.context
    view = await svc.apply_points(
        ctx.services.uow,
        ctx.principal,
        token=str(cart_id),
        points_wanted=points,
        clock=ctx.services.clock,
    )
    return await _cart_payload(info, view)


async def cart_discount_codes_update(
    info: Info[Context, None], cart_id: strawberry.ID, discount_codes: list[str]
) -> CartPayload:
    """Replace the cart's coupon codes and vouchers."""
    s = info.context.services
    view = await svc.change_cart(s.uow, token=str(cart_id), clock=s.clock, codes=discount_codes)
    return await _cart_payload(info, view)


async def cart_delivery_update(
    info: Info[Context, None], cart_id: strawberry.ID, delivery: CartDeliveryInput
) -> CartPayload:
    """Ship, pick up at a store, or local delivery from a store."""
    s = info.context.services
    view = await svc.change_cart(
        s.uow, token=str(cart_id), clock=s.clock, delivery=_delivery(delivery)
    )
    return await _cart_payload(info, view)
