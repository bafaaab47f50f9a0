"""Resolvers of refunds: each calls one use case of domain/payments/refunds.py."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.payments import refunds
from resolvers.context import Context
from schema.orders.types import Order
from schema.payments.refund_types import RefundPayload
from schema.payments.types import OrderRefund
from schema.relay import expect_id


async def _payload(ctx: Context, done: refunds.RefundResult) -> RefundPayload:
    found = await ctx.services.orders.order(done.order_id)
    refund = next(r for r in await ctx.refunds_of(done.order_id) if r.id == done.refund_id)
    assert found is not None
    return RefundPayload(
        refund=OrderRefund.of(refund), order=Order.of(found, staff=True), user_errors=[]
    )


async def refund_retry(
    info: Info[Context, None], refund_id: strawberry.ID, idempotency_key: str | None = None
) -> RefundPayload:
    """Staff: send a FAILED refund again."""
    ctx = info.context
    done = await refunds.retry_refund(
        ctx.services.uow,
        ctx.principal,
        refund_id=expect_id(refund_id, "Refund", field="refundId"),
        idempotency_key=idempotency_key,
    )
    return await _payload(ctx, done)


async def refund_pay_out(
    info: Info[Context, None],
    refund_id: strawberry.ID,
    location_id: strawberry.ID | None = None,
    idempotency_key: str | None = None,
) -> RefundPayload:
    """A clerk pays a cash (or card-terminal) refund out at their till."""
    ctx = info.context
    done = await refunds.pay_out(
        ctx.services.uow,
        ctx.principal,
        refund_id=expect_id(refund_id, "Refund", field="refundId"),
        location_id=expect_id(location_id, "Location", field="locationId")
        if location_id is not None
        else None,
        idempotency_key=idempotency_key,
        terminal=ctx.services.terminal,
    )
    return await _payload(ctx, done)
