"""Resolvers of commissions: the rules (owners and admins) and the commissions staff may read."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.attribution.model import AttributionRole, BeneficiaryKind
from domain.commissions import services as svc
from domain.commissions.rules import CommissionErrorCode, CommissionRule
from domain.errors import CommonErrorCode, DomainError
from resolvers.context import Context
from resolvers.inputs import decimal_money
from schema.commissions.types import (
    BENEFICIARY_TYPES,
    CommissionEntry,
    CommissionReport,
    CommissionRuleInput,
    CommissionRulePayload,
    CommissionTotal,
)
from schema.commissions.types import CommissionRule as RuleType
from schema.relay import InvalidId, expect_id

MAX_ENTRIES = 500


def _id(value: strawberry.ID, type_name: str, field: str) -> int:
    """The database id of a global ID of ``type_name``; INVALID_ID on ``field`` otherwise."""
    try:
        return expect_id(value, type_name, field=field)
    except InvalidId as error:
        raise InvalidId(error.message, field=field) from None


def _rule(data: CommissionRuleInput, rule_id: int) -> CommissionRule:
    try:
        role = AttributionRole(data.role.strip().upper())
    except ValueError:
        raise DomainError(CommissionErrorCode.INVALID_ROLE, "unknown role", field="role") from None
    fixed, currency = None, None
    if data.fixed_amount is not None:
        if not data.currency_code:
            raise DomainError(
                CommissionErrorCode.INVALID_CURRENCY, "a fixed amount needs its currency",
                field="currencyCode",
            )  # fmt: skip
        money = decimal_money(data.fixed_amount, data.currency_code, field="fixedAmount",
                              example="1.50")  # fmt: skip
        fixed, currency = money.amount, money.currency
    elif data.currency_code:
        currency = data.currency_code.strip().upper()
    handle = data.channel_handle.strip() if data.channel_handle else None
    kind = data.channel_kind.strip().upper() if data.channel_kind else None
    category = _id(data.category_id, "Category", "categoryId") if data.category_id else None
    return CommissionRule(
        id=rule_id,
        role=role,
        channel_kind=kind or None,
        channel_handle=handle or None,
        category_id=category,
        percent_bp=data.percent_bp,
        fixed_amount=fixed,
        currency=currency,
        active=data.active,
    )


async def commission_rules(info: Info[Context, None]) -> list[RuleType]:
    """Owners and admins: every commission rule, active or not."""
    ctx = info.context
    return [RuleType.of(r) for r in await svc.list_rules(ctx.services.uow, ctx.principal)]


async def commission_rule_create(
    info: Info[Context, None], input: CommissionRuleInput, idempotency_key: str | None = None
) -> CommissionRulePayload:
    """Owners and admins: a commission rule for a role."""
    ctx = info.context
    saved = await svc.save_rule(
        ctx.services.uow, ctx.principal, _rule(input, 0), idempotency_key=idempotency_key
    )
    return CommissionRulePayload(commission_rule=RuleType.of(saved), user_errors=[])


async def commission_rule_update(
    info: Info[Context, None], id: strawberry.ID, input: CommissionRuleInput
) -> CommissionRulePayload:
    """Owners and admins: replace a rule (``active: false`` deactivates it)."""
    ctx = info.context
    rule = _rule(input, expect_id(id, "CommissionRule"))
    saved = await svc.save_rule(ctx.services.uow, ctx.principal, rule)
    return CommissionRulePayload(commission_rule=RuleType.of(saved), user_errors=[])


async def commissions(
    info: Info[Context, None],
    period: str | None = None,
    beneficiary_kind: str | None = None,
    beneficiary_id: strawberry.ID | None = None,
    first: int = 100,
) -> CommissionReport:
    """Staff: commissions of a period (YYYY-MM, the brand's timezone) — a clerk their own, a
    store manager their stores' and their clerks', owners and admins everyone's."""
    ctx = info.context
    if not 1 <= first <= MAX_ENTRIES:
        raise DomainError(CommonErrorCode.MAX_PAGE_SIZE_EXCEEDED, "1 to 500", field="first")
    who = None
    if (beneficiary_kind is None) != (beneficiary_id is None):
        raise DomainError(
            CommonErrorCode.INVALID, "give beneficiaryKind and beneficiaryId together",
            field="beneficiaryId",
        )  # fmt: skip
    if beneficiary_kind is not None and beneficiary_id is not None:
        kind = beneficiary_kind.strip().upper()
        if kind not in BENEFICIARY_TYPES:
            raise DomainError(
                CommonErrorCode.INVALID, "STAFF, LOCATION, FRANCHISEE or VENUE",
                field="beneficiaryKind",
            )  # fmt: skip
        ident = _id(beneficiary_id, BENEFICIARY_TYPES[kind], "beneficiaryId")
        who = (BeneficiaryKind(kind), ident)
    entries, totals = await svc.read_commissions(
        ctx.services.uow, ctx.principal, period=period, beneficiary=who, limit=first
    )
    return CommissionReport(
        period=period,
        entries=[CommissionEntry.of(e) for e in entries],
        totals=[CommissionTotal.of(t) for t in totals],
    )
