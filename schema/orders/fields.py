"""Order fields of the Query and Mutation roots."""

from __future__ import annotations

import strawberry

from resolvers import orders as resolve
from schema.common import Connection
from schema.errors import authenticated
from schema.orders.types import CheckoutCompletePayload, Order, OrderPayload, OrderReturnPayload


@strawberry.type
class OrderQuery:
    order: Order | None = strawberry.field(
        resolver=resolve.order,
        description="An order for its buyer (with accessToken) or for staff.",
    )
    orders: Connection[Order] = strawberry.field(
        resolver=resolve.orders,
        extensions=[authenticated()],
        description="Staff: orders newest first; store staff see their stores' orders only.",
    )


@strawberry.type
class OrderMutation:
    fulfilment_ready_for_pickup: OrderPayload = strawberry.mutation(
        resolver=resolve.fulfilment_ready_for_pickup,
        extensions=[authenticated()],
        description="Store staff: the order waits at the counter; the buyer gets the code.",
    )
    fulfilment_dispatch: OrderPayload = strawberry.mutation(
        resolver=resolve.fulfilment_dispatch,
        extensions=[authenticated()],
        description="Store staff: a local delivery left the store.",
    )
    fulfilment_deliver: OrderPayload = strawberry.mutation(
        resolver=resolve.fulfilment_deliver,
        extensions=[authenticated()],
        description="Staff: a shipment or local delivery arrived (cashCollected: paid there).",
    )
    fulfilment_cancel: OrderPayload = strawberry.mutation(
        resolver=resolve.fulfilment_cancel,
        extensions=[authenticated()],
        description="Store staff: a part that has not left will not be served.",
    )
    checkout_complete: CheckoutCompletePayload = strawberry.mutation(
        resolver=resolve.checkout_complete,
        description="Place the order of a cart (shoppers; replay-safe).",
    )
    pickup_confirm: OrderPayload = strawberry.mutation(
        resolver=resolve.pickup_confirm, extensions=[authenticated()]
    )
    fulfilment_ship: OrderPayload = strawberry.mutation(
        resolver=resolve.fulfilment_ship, extensions=[authenticated()]
    )
    order_mark_paid: OrderPayload = strawberry.mutation(
        resolver=resolve.order_mark_paid, extensions=[authenticated()]
    )
    order_cancel: OrderPayload = strawberry.mutation(
        resolver=resolve.order_cancel,
        description="Staff, or the buyer with the order's access token.",
    )
    pos_order_create: OrderPayload = strawberry.mutation(
        resolver=resolve.pos_order_create,
        extensions=[authenticated()],
        description="Clerk: a sale at the till.",
    )
    order_return_create: OrderReturnPayload = strawberry.mutation(
        resolver=resolve.order_return_create,
        extensions=[authenticated()],
        description="Store staff: take goods back.",
    )
