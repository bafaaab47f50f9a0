"""Resolvers of payments: the buyer confirms (or retries) an order's online payment."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.errors import DomainError
from domain.payments import services as payments
from domain.payments.model import PaymentErrorCode
from resolvers.context import Context
from schema.orders.types import Order
from schema.payments.types import CheckoutPayment, CheckoutPaymentInput, CheckoutPaymentPayload
from schema.relay import expect_id


async def checkout_payment_confirm(
    info: Info[Context, None],
    order_id: strawberry.ID,
    payment: CheckoutPaymentInput,
    access_token: str | None = None,
) -> CheckoutPaymentPayload:
    """The buyer pays an order placed at checkout: another card after a decline, or back from
    a redirect / QR scan to learn where the payment stands."""
    ctx = info.context
    gateway = ctx.services.payments
    if gateway is None:
        raise DomainError(
            PaymentErrorCode.PROVIDER_UNAVAILABLE, "online payment is not configured here"
        )
    ident = expect_id(order_id, "Order", field="orderId")
    step = await payments.confirm_payment(
        ctx.services.uow,
        gateway,
        ctx.principal,
        order_id=ident,
        request=payment.request(),
        access_token=access_token,
        clock=ctx.services.clock,
    )
    found = await ctx.services.orders.order(ident)
    assert found is not None
    return CheckoutPaymentPayload(
        order=Order.of(found, staff=ctx.principal.role is not None),
        payment=CheckoutPayment.of(step),
        user_errors=[],
    )
