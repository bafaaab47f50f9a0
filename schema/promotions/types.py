"""Promotion types: the promotion input, Voucher, and their payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.money import Money
from domain.promotions.ports import VoucherRecord
from schema.common import MoneyV2, UserError


@strawberry.input
class PromotionScopeInput:
    product_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    category_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    collection_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    channels: list[str] = strawberry.field(default_factory=list)
    store_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    tiers: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="A promotion: automatic, or by `code` (a coupon).")
class PromotionInput:
    name: str
    kind: str = strawberry.field(
        description="PERCENTAGE, FIXED_AMOUNT, SPEND_THRESHOLD, BUY_X_GET_Y or FREE_DELIVERY"
    )
    currency_code: str = "EUR"
    percent: int = 0
    amount: str | None = strawberry.field(default=None, description="Decimal, e.g. 10.00")
    threshold: str | None = strawberry.field(default=None, description="Spend this, e.g. 100.00")
    repeat: bool = False
    buy_quantity: int = 0
    get_quantity: int = 0
    get_percent: int = 100
    scope: PromotionScopeInput | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    code: str | None = None
    usage_limit: int | None = None
    per_member_limit: int | None = None
    exclusive: bool = False
    priority: int = 0
    active: bool = True


@strawberry.type
class PromotionPayload:
    promotion_id: strawberry.ID | None = None
    user_errors: list[UserError]


@strawberry.type
class Voucher:
    code: str
    value: MoneyV2
    status: str
    expires_at: datetime | None

    @classmethod
    def of(cls, v: VoucherRecord) -> Voucher:
        value = MoneyV2.of(Money(v.amount, v.currency))
        assert value is not None
        return cls(code=v.code, value=value, status=v.status, expires_at=v.expires_at)


@strawberry.type
class VoucherPayload:
    voucher: Voucher | None = None
    user_errors: list[UserError]
