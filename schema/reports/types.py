"""Types of the performance reports."""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry

from domain.money import Money
from domain.reports import model as rm
from schema.common import MoneyV2
from schema.relay import to_global_id

PerformanceScopeKind = strawberry.enum(
    Enum("PerformanceScopeKind", {k.name: k.value for k in rm.ScopeKind}),  # type: ignore[misc]
    description="BRAND, STORE, CLERK or CHANNEL.",
)
_SCOPE_TYPE = {
    rm.ScopeKind.STORE: "Location",
    rm.ScopeKind.CLERK: "StaffUser",
    rm.ScopeKind.CHANNEL: "Channel",
}


@strawberry.type(description="Completed orders, their net amount (less refunds) and buyers.")
class PerformanceSales:
    orders: int
    net: MoneyV2
    buyers: int = strawberry.field(description="Members with 1 or more of these orders.")
    repeat_buyers: int = strawberry.field(description="Members with 2 or more of these orders.")

    @classmethod
    def of(cls, sales: rm.Sales, currency: str) -> PerformanceSales:
        return cls(
            orders=sales.orders,
            net=MoneyV2.of(Money(sales.net, currency)),
            buyers=sales.buyers,
            repeat_buyers=sales.repeat_buyers,
        )


@strawberry.type(description="Members bound in the period by signing up or scanning a code.")
class MembersAcquired:
    code_id: strawberry.ID
    code: str
    kind: str = strawberry.field(description="STORE, CLERK, CAMPAIGN or VENUE.")
    members: int


@strawberry.type(description="What a store, a clerk or a channel (or the brand) did in a period.")
class PerformanceReport:
    scope: PerformanceScopeKind  # type: ignore[valid-type]
    scope_id: strawberry.ID | None
    first_day: date
    last_day: date
    currency: str
    sales: PerformanceSales = strawberry.field(
        description="Orders placed in the period and completed: a store's sold at its till or "
        "handed over there, a clerk's rung up by them, a channel's placed in it."
    )
    online_influenced: PerformanceSales = strawberry.field(
        description="Completed orders placed outside the tills by members bound to the store "
        "or the clerk (any bound member for a channel or the brand)."
    )
    average_basket: MoneyV2
    repeat_rate: float = strawberry.field(description="Repeat buyers per buyer (0 to 1).")
    members_acquired: int
    acquired_by_code: list[MembersAcquired]
    commission: MoneyV2 = strawberry.field(
        description="Earned by the store or the clerk (commission entries dated in the "
        "period); for a channel or the brand: paid on its orders."
    )
    tasks_done: int | None = strawberry.field(
        description="Clienteling tasks of the period done (a clerk's, or a store's clerks')."
    )

    @classmethod
    def of(cls, report: rm.Performance) -> PerformanceReport:
        scope = report.scope
        kind = _SCOPE_TYPE.get(scope.kind)
        currency = report.currency
        return cls(
            scope=scope.kind,
            scope_id=strawberry.ID(to_global_id(kind, scope.id))
            if kind is not None and scope.id is not None
            else None,
            first_day=report.period.first_day,
            last_day=report.period.last_day,
            currency=currency,
            sales=PerformanceSales.of(report.sales, currency),
            online_influenced=PerformanceSales.of(report.online_influenced, currency),
            average_basket=MoneyV2.of(Money(report.average_basket, currency)),
            repeat_rate=report.repeat_rate_bp / 10_000,
            members_acquired=report.members_acquired,
            acquired_by_code=[
                MembersAcquired(
                    code_id=strawberry.ID(to_global_id("AttributionCode", a.code_id)),
                    code=a.code,
                    kind=a.kind,
                    members=a.members,
                )
                for a in report.acquired
            ],
            commission=MoneyV2.of(Money(report.commission, currency)),
            tasks_done=report.tasks_done,
        )
