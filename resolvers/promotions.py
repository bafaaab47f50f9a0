"""Resolvers of promotions: admin promotions and coupon codes, members' vouchers."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from domain.errors import CommonErrorCode, DomainError
from domain.money import Money
from domain.promotions import services as svc
from domain.promotions.model import Promotion, PromotionKind, Scope
from resolvers.audit import grant_limits
from resolvers.context import Context
from resolvers.inputs import decimal_money
from schema.promotions.types import (
    PromotionInput,
    PromotionPayload,
    PromotionScopeInput,
    Voucher,
    VoucherPayload,
)
from schema.relay import expect_id, to_global_id


def _money(value: str | None, currency: str, field: str) -> Money | None:
    if value is None:
        return None
    return decimal_money(value, currency, field=field, example="10.00")


def _ids(values: list[strawberry.ID], type_name: str, field: str) -> tuple[int, ...]:
    return tuple(expect_id(v, type_name, field=f"scope.{field}") for v in values)


def _promotion(data: PromotionInput, promotion_id: int | None) -> Promotion:
    try:
        kind = PromotionKind(data.kind.upper())
    except ValueError:
        raise DomainError(CommonErrorCode.INVALID, "unknown kind", field="kind") from None
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
    saved = await svc.save_promotion(
        ctx.services.uow,
        ctx.principal,
        promotion_id=promotion_id,
        promotion=_promotion(data, promotion_id),
        usage_limit=data.usage_limit,
        per_member_limit=data.per_member_limit,
        active=data.active,
    )
    return PromotionPayload(
        promotion_id=strawberry.ID(to_global_id("Promotion", saved)), user_errors=[]
    )


async def promotion_create(info: Info[Context, None], input: PromotionInput) -> PromotionPayload:
    """Staff: an automatic promotion, or a coupon when `code` is given."""
    return await _save(info, None, input)


async def promotion_update(
    info: Info[Context, None], id: strawberry.ID, input: PromotionInput
) -> PromotionPayload:
    """Staff: replace a promotion's rule, limits and schedule."""
    return await _save(info, expect_id(id, "Promotion"), input)


async def voucher_issue(
    info: Info[Context, None],
    member_id: strawberry.ID,
    amount: str,
    currency_code: str = "EUR",
    expires_at: datetime | None = None,
) -> VoucherPayload:
    """Staff: a single-use voucher for a member."""
    ctx = info.context
    value = decimal_money(amount, currency_code, field="amount", example="10.00")
    voucher = await svc.issue_voucher(
        ctx.services.uow,
        ctx.principal,
        member_id=expect_id(member_id, "Member", field="memberId"),
        amount=value,
        expires_at=expires_at,
        limits=grant_limits(ctx.services.settings),
        at=ctx.services.clock.now(),
    )
    return VoucherPayload(voucher=Voucher.of(voucher), user_errors=[])


async def voucher_transfer(
    info: Info[Context, None], code: str, to_member_code: str
) -> VoucherPayload:
    """A member gives one of their vouchers to another member."""
    ctx = info.context
    voucher = await svc.transfer_voucher(
        ctx.services.uow, ctx.principal, code=code, to_member_code=to_member_code
    )
    return VoucherPayload(voucher=Voucher.of(voucher), user_errors=[])
