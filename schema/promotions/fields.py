"""Promotion and voucher fields of the Mutation root."""

from __future__ import annotations

import strawberry

from resolvers import promotions as resolve
from schema.errors import authenticated
from schema.promotions.types import PromotionPayload, VoucherPayload


@strawberry.type
class PromotionMutation:
    promotion_create: PromotionPayload = strawberry.mutation(
        resolver=resolve.promotion_create, extensions=[authenticated()]
    )
    promotion_update: PromotionPayload = strawberry.mutation(
        resolver=resolve.promotion_update, extensions=[authenticated()]
    )
    voucher_issue: VoucherPayload = strawberry.mutation(
        resolver=resolve.voucher_issue,
        extensions=[authenticated()],
        description="Staff: a voucher for a member.",
    )
    voucher_transfer: VoucherPayload = strawberry.mutation(
        resolver=resolve.voucher_transfer,
        description="A member gives one of their vouchers to another member.",
    )
