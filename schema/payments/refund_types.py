"""The payload of the refund mutations (fields: schema/payments/refunds.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.common import UserError
from schema.payments.types import OrderRefund

if TYPE_CHECKING:
    from schema.orders.types import Order


@strawberry.type(description="A refund after staff acted on it, and its order.")
class RefundPayload:
    refund: OrderRefund | None = None
    order: Annotated[Order, strawberry.lazy("schema.orders.types")] | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
