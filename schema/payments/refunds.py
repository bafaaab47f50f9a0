"""Refund fields of the Mutation root: staff retry a failed refund, a clerk pays one out at
the till (payload: schema/payments/refund_types.py)."""

from __future__ import annotations

import strawberry

from resolvers import refunds as resolve
from schema.payments.refund_types import RefundPayload


@strawberry.type
class RefundMutation:
    refund_retry: RefundPayload = strawberry.mutation(
        resolver=resolve.refund_retry,
        description="Staff of the order's stores: a FAILED refund goes back to PENDING and the "
        "payment worker sends it again (REFUND_NOT_FAILED for any other state).",
    )
    refund_pay_out: RefundPayload = strawberry.mutation(
        resolver=resolve.refund_pay_out,
        description="A clerk with an open till session (at locationId, else at the store the "
        "goods came back to or their own) pays out a PENDING cash refund, or a card-terminal "
        "refund with the buyer's card at the terminal: SUCCEEDED in that till session "
        "(TILL_SESSION_REQUIRED without one; REFUND_NOT_AT_THE_TILL for online refunds).",
    )
