"""Cart fields of the Query and Mutation roots (storefront: no staff login needed)."""

from __future__ import annotations

import strawberry

from resolvers import cart as resolve
from schema.cart.types import Cart, CartPayload


@strawberry.type
class CartQuery:
    cart: Cart | None = strawberry.field(
        resolver=resolve.cart, description="A cart by its ID; null when unknown."
    )


@strawberry.type
class CartMutation:
    cart_create: CartPayload = strawberry.mutation(resolver=resolve.cart_create)
    cart_lines_add: CartPayload = strawberry.mutation(resolver=resolve.cart_lines_add)
    cart_lines_update: CartPayload = strawberry.mutation(
        resolver=resolve.cart_lines_update,
        description="Set quantities by CartLine ID; 0 removes the line.",
    )
    cart_lines_remove: CartPayload = strawberry.mutation(resolver=resolve.cart_lines_remove)
    cart_buyer_identity_update: CartPayload = strawberry.mutation(
        resolver=resolve.cart_buyer_identity_update
    )
    cart_points_apply: CartPayload = strawberry.mutation(
        resolver=resolve.cart_points_apply,
        description="A logged-in member pays part of the cart with points.",
    )
    cart_discount_codes_update: CartPayload = strawberry.mutation(
        resolver=resolve.cart_discount_codes_update,
        description="Replace the cart's discount codes (and vouchers).",
    )
    cart_delivery_update: CartPayload = strawberry.mutation(resolver=resolve.cart_delivery_update)
