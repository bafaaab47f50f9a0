"""Admin promotions and coupon codes; members' vouchers (issue, transfer, list)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from domain.errors import DomainError
from domain.money import Money
from domain.ports import VoucherRecord
from domain.promotions import services as svc
from domain.promotions.model import Promotion, PromotionKind, Scope
from resolvers.context import Context
from schema.common import MoneyV2, UserError
from schema.errors import authenticated
from schema.relay import expect_id, to_global_id


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
    promotion_id: strawberry.ID | None
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
    voucher: Voucher | None
    user_errors: list[UserError]


def _money(value: str | None, currency: str, field: str) -> Money | None:
    if value is None:
        return None
    try:
        return Money.from_decimal_string(value, currency.upper())
    except (ValueError, ArithmeticError):
        raise DomainError("INVALID", "a decimal amount such as 10.00", field=field) from None


def _ids(values: list[strawberry.ID], type_name: str, field: str) -> tuple[int, ...]:
    return tuple(expect_id(v, type_name, field=f"scope.{field}") for v in values)


def _promotion(data: PromotionInput, promotion_id: int | None) -> Promotion:
    try:
        kind = PromotionKind(data.kind.upper())
    except ValueError:
        raise DomainError("INVALID", "unknown kind", field="kind") from None
    scope = data.scope or PromotionScopeInput()
    return Promotion(
        id=promotion_id or 0,
        name=data.name.strip(),
        kind=kind,
        percent=data.percent,
        amount=_money(data.amount, data.currency_code, "amount"),
        threshold=_money(data.threshold, data.currency_code, "threshold"),
        repeat=data.repeat,
        buy_quantity=data.buy_quantity,
        get_quantity=data.get_quantity,
        get_percent=data.get_percent,
        scope=Scope(
            product_ids=_ids(scope.product_ids, "Product", "productIds"),
            category_ids=_ids(scope.category_ids, "Category", "categoryIds"),
            collection_ids=_ids(scope.collection_ids, "Collection", "collectionIds"),
            channels=tuple(scope.channels),
            store_ids=_ids(scope.store_ids, "Location", "storeIds"),
            tiers=tuple(t.upper() for t in scope.tiers),
        ),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        code=data.code,
        exclusive=data.exclusive,
        priority=data.priority,
    )


async def _save(
    info: Info[Context, None], promotion_id: int | None, data: PromotionInput
) -> PromotionPayload:
    ctx = info.context
    try:
        saved = await svc.save_promotion(
            ctx.services.uow,
            ctx.principal,
            promotion_id=promotion_id,
            promotion=_promotion(data, promotion_id),
            usage_limit=data.usage_limit,
            per_member_limit=data.per_member_limit,
            active=data.active,
        )
    except DomainError as error:
        return PromotionPayload(promotion_id=None, user_errors=[UserError.of(error)])
    return PromotionPayload(
        promotion_id=strawberry.ID(to_global_id("Promotion", saved)), user_errors=[]
    )


@strawberry.type
class PromotionMutation:
    @strawberry.mutation(extensions=[authenticated()])
    async def promotion_create(
        self, info: Info[Context, None], input: PromotionInput
    ) -> PromotionPayload:
        return await _save(info, None, input)

    @strawberry.mutation(extensions=[authenticated()])
    async def promotion_update(
        self, info: Info[Context, None], id: strawberry.ID, input: PromotionInput
    ) -> PromotionPayload:
        try:
            ident = expect_id(id, "Promotion")
        except DomainError as error:
            return PromotionPayload(promotion_id=None, user_errors=[UserError.of(error)])
        return await _save(info, ident, input)

    @strawberry.mutation(extensions=[authenticated()], description="Staff: a voucher for a member.")
    async def voucher_issue(
        self,
        info: Info[Context, None],
        member_id: strawberry.ID,
        amount: str,
        currency_code: str = "EUR",
        expires_at: datetime | None = None,
    ) -> VoucherPayload:
        ctx = info.context
        try:
            value = _money(amount, currency_code, "amount")
            assert value is not None
            voucher = await svc.issue_voucher(
                ctx.services.uow,
                ctx.principal,
                member_id=expect_id(member_id, "Member", field="memberId"),
                amount=value,
                expires_at=expires_at,
            )
        except DomainError as error:
            return VoucherPayload(voucher=None, user_errors=[UserError.of(error)])
        return VoucherPayload(voucher=Voucher.of(voucher), user_errors=[])

    @strawberry.mutation(description="A member gives one of their vouchers to another member.")
    async def voucher_transfer(
        self, info: Info[Context, None], code: str, to_member_code: str
    ) -> VoucherPayload:
        ctx = info.context
        try:
            voucher = await svc.transfer_voucher(
                ctx.services.uow, ctx.principal, code=code, to_member_code=to_member_code
            )
        except DomainError as error:
            return VoucherPayload(voucher=None, user_errors=[UserError.of(error)])
        return VoucherPayload(voucher=Voucher.of(voucher), user_errors=[])
