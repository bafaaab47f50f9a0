"""Payment fields of the Mutation root."""

from __future__ import annotations

import strawberry

from resolvers import payments as resolve
from schema.payments.types import CheckoutPaymentPayload


@strawberry.type
class PaymentMutation:
    checkout_payment_confirm: CheckoutPaymentPayload = strawberry.mutation(
        resolver=resolve.checkout_payment_confirm,
        description="The buyer (with the order's access token) pays an order placed at "
        "checkout: another card after a decline, or back from a redirect or QR scan.",
    )
