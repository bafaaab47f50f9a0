"""Attribution and commission types: an order's attributions, commission rules, entries and
totals, with their inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from domain.commissions.ports import Total
from domain.commissions.rules import CommissionRule as DRule
from domain.commissions.rules import Entry
from domain.money import Money
from resolvers.attributions import Shown
from resolvers.context import Context
from schema.channels.types import Location
from schema.common import MoneyV2, UserError
from schema.relay import to_global_id

# the global id type of each kind of beneficiary
BENEFICIARY_TYPES = {
    "STAFF": "StaffUser",
    "LOCATION": "Location",
    "FRANCHISEE": "Franchisee",
    "VENUE": "AttributionCode",
}


@strawberry.type(description="A staff member credited by an attribution.")
class Clerk:
    id: strawberry.ID
    name: str


@strawberry.type(description="A dealer owning franchised stores.")
class FranchiseeRef:
    id: strawberry.ID
    name: str


@strawberry.type(
    description="Who an order is credited to, in which role, and the rule that said so."
)
class OrderAttribution:
    role: str = strawberry.field(
        description="SELLING_CLERK SELLING_STORE BOUND_CLERK REFERRING_STORE FULFILLING_STORE "
        "CAMPAIGN VENUE_PARTNER FRANCHISEE"
    )
    clerk: Clerk | None
    franchisee: FranchiseeRef | None
    code: str | None = strawberry.field(description="The attribution code behind it, if any.")
    rule: str = strawberry.field(description="Why, in words.")
    _location_id: strawberry.Private[int | None]

    @strawberry.field
    async def store(self, info: Info[Context, None]) -> Location | None:
        if self._location_id is None:
            return None
        found = (await info.context.locations()).get(self._location_id)
        return Location(_location=found) if found else None

    @classmethod
    def of(cls, shown: Shown) -> OrderAttribution:
        a = shown.attribution
        clerk = None
        if a.staff_id is not None:
            clerk = Clerk(
                id=strawberry.ID(to_global_id("StaffUser", a.staff_id)),
                name=shown.clerk or "",
            )
        franchisee = None
        if a.franchisee_id is not None:
            franchisee = FranchiseeRef(
                id=strawberry.ID(to_global_id("Franchisee", a.franchisee_id)),
                name=shown.franchisee or "",
            )
        return cls(
            role=a.role.value,
            clerk=clerk,
            franchisee=franchisee,
            code=shown.code,
            rule=a.rule,
            _location_id=a.location_id,
        )


@strawberry.type(
    description="A commission for one role: a percentage of the net paid amount "
    "or a fixed amount per unit; the most specific active rule per role wins."
)
class CommissionRule:
    id: strawberry.ID
    role: str
    channel_kind: str | None
    channel_handle: str | None
    category_id: strawberry.ID | None
    percent_bp: int | None = strawberry.field(description="Basis points: 300 is 3 %.")
    fixed_amount: MoneyV2 | None = strawberry.field(description="Per unit sold.")
    active: bool

    @classmethod
    def of(cls, rule: DRule) -> CommissionRule:
        fixed = None
        if rule.fixed_amount is not None and rule.currency is not None:
            fixed = MoneyV2.of(Money(rule.fixed_amount, rule.currency))
        return cls(
            id=strawberry.ID(to_global_id("CommissionRule", rule.id)),
            role=rule.role.value,
            channel_kind=rule.channel_kind,
            channel_handle=rule.channel_handle,
            category_id=strawberry.ID(to_global_id("Category", rule.category_id))
            if rule.category_id is not None
            else None,
            percent_bp=rule.percent_bp,
            fixed_amount=fixed,
            active=rule.active,
        )


@strawberry.input(description="A commission rule: a role, where it applies, how much.")
class CommissionRuleInput:
    role: str = strawberry.field(
        description="SELLING_CLERK SELLING_STORE BOUND_CLERK REFERRING_STORE FULFILLING_STORE "
        "VENUE_PARTNER FRANCHISEE"
    )
    channel_kind: str | None = strawberry.field(
        default=None, description="WEB APP STORE MARKETPLACE; null: any"
    )
    channel_handle: str | None = strawberry.field(default=None, description="null: any")
    category_id: strawberry.ID | None = strawberry.field(default=None, description="null: any")
    percent_bp: int | None = strawberry.field(
        default=None, description="Basis points of the net paid amount (300 = 3 %)."
    )
    fixed_amount: str | None = strawberry.field(
        default=None, description='Per unit sold, a decimal string ("1.50"); with currencyCode.'
    )
    currency_code: str | None = None
    active: bool = True


@strawberry.type
class CommissionRulePayload:
    commission_rule: CommissionRule | None = None
    user_errors: list[UserError]


@strawberry.type(
    description="Money owed to a beneficiary for one order line (accrued when the "
    "order completed) or taken back (a return), in the period it happened."
)
class CommissionEntry:
    id: strawberry.ID
    order_id: strawberry.ID
    order_line_id: strawberry.ID | None
    role: str
    beneficiary_kind: str
    beneficiary_id: strawberry.ID
    kind: str = strawberry.field(description="ACCRUAL or REVERSAL")
    base_amount: MoneyV2 = strawberry.field(description="The net paid amount it is computed on.")
    amount: MoneyV2 = strawberry.field(description="Negative for a reversal.")
    period: str
    at: datetime
    return_id: strawberry.ID | None
    on_statement: bool

    @classmethod
    def of(cls, e: Entry) -> CommissionEntry:
        return cls(
            id=strawberry.ID(to_global_id("CommissionEntry", e.id)),
            order_id=strawberry.ID(to_global_id("Order", e.order_id)),
            order_line_id=strawberry.ID(to_global_id("OrderLine", e.order_line_id))
            if e.order_line_id
            else None,
            role=e.role.value,
            beneficiary_kind=e.beneficiary_kind.value,
            beneficiary_id=beneficiary_gid(e.beneficiary_kind.value, e.beneficiary_id),
            kind=e.kind.value,
            base_amount=MoneyV2.of(Money(e.base_amount, e.currency)),
            amount=MoneyV2.of(Money(e.amount, e.currency)),
            period=e.period,
            at=e.at,
            return_id=strawberry.ID(to_global_id("OrderReturn", e.return_id))
            if e.return_id
            else None,
            on_statement=e.statement_id is not None,
        )


def beneficiary_gid(kind: str, ident: int) -> strawberry.ID:
    """A beneficiary's global id (its type follows its kind)."""
    return strawberry.ID(to_global_id(BENEFICIARY_TYPES[kind], ident))


@strawberry.type(description="What one beneficiary accrued and had reversed, in one currency.")
class CommissionTotal:
    beneficiary_kind: str
    beneficiary_id: strawberry.ID
    accrued: MoneyV2
    reversed: MoneyV2
    net: MoneyV2

    @classmethod
    def of(cls, t: Total) -> CommissionTotal:
        def money(amount: int) -> MoneyV2:
            return MoneyV2.of(Money(amount, t.currency))

        return cls(
            beneficiary_kind=t.beneficiary_kind.value,
            beneficiary_id=beneficiary_gid(t.beneficiary_kind.value, t.beneficiary_id),
            accrued=money(t.accrued),
            reversed=money(t.reversed),
            net=money(t.accrued + t.reversed),
        )


@strawberry.type(description="Commissions the caller may see: entries (newest first) and totals.")
class CommissionReport:
    period: str | None
    entries: list[CommissionEntry]
    totals: list[CommissionTotal] = strawberry.field(
        description="Per beneficiary and currency, over every entry matching (not only those "
        "listed)."
    )
