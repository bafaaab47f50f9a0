"""Staff insight: members by tag, one member's RFM profile, retention cohorts."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from domain.errors import DomainError
from domain.insights import services as svc
from resolvers.context import Context
from schema.errors import authenticated
from schema.members import Member
from schema.relay import expect_id


@strawberry.type(description="How a member buys, across every channel.")
class MemberInsights:
    orders: int
    orders_12_months: int
    spend_12_months: int = strawberry.field(description="Minor units of the brand's currency.")
    last_purchase_at: datetime | None
    days_since_last_purchase: int | None
    average_days_between_orders: float | None
    channels: list[str]
    recency_score: int
    frequency_score: int
    monetary_score: int
    segment: str = strawberry.field(
        description="CHAMPION, LOYAL, NEW, PROMISING, AT_RISK, HIBERNATING or NONE"
    )
    churn_risk: str = strawberry.field(description="LOW, MEDIUM, HIGH or UNKNOWN")


@strawberry.type(description="Members whose first order fell in one month.")
class Cohort:
    month: str
    members: int
    repeat_members: int
    repeat_rate: float
    retained: list[int] = strawberry.field(description="Buying again in month +1, +2, …")


@strawberry.type
class InsightQuery:
    @strawberry.field(extensions=[authenticated()], description="Staff: members with a tag.")
    async def members(
        self,
        info: Info[Context, None],
        tag: str,
        first: int = 50,
        after_id: strawberry.ID | None = None,
    ) -> list[Member]:
        ctx = info.context
        if not 1 <= first <= ctx.services.settings.max_page_size:
            raise DomainError("MAX_PAGE_SIZE_EXCEEDED", "first is out of range", field="first")
        found = await svc.members_by_tag(
            ctx.services.uow,
            ctx.principal,
            tag=tag,
            limit=first,
            after_id=expect_id(after_id, "Member", field="afterId") if after_id else None,
        )
        return [Member.of(r) for r in found]

    @strawberry.field(extensions=[authenticated()])
    async def member_insights(
        self, info: Info[Context, None], member_id: strawberry.ID
    ) -> MemberInsights:
        ctx = info.context
        found = await svc.insight(
            ctx.services.uow,
            ctx.principal,
            member_id=expect_id(member_id, "Member", field="memberId"),
            clock=ctx.services.clock,
        )
        return MemberInsights(
            orders=found.orders,
            orders_12_months=found.orders_12_months,
            spend_12_months=found.spend_12_months,
            last_purchase_at=found.last_purchase_at,
            days_since_last_purchase=found.days_since_last_purchase,
            average_days_between_orders=found.average_days_between_orders,
            channels=list(found.channels),
            recency_score=found.recency_score,
            frequency_score=found.frequency_score,
            monetary_score=found.monetary_score,
            segment=found.segment,
            churn_risk=found.churn_risk,
        )

    @strawberry.field(
        extensions=[authenticated()],
        description="Monthly cohorts and repeat rate of a store's members (or the brand's).",
    )
    async def retention_report(
        self, info: Info[Context, None], location_id: strawberry.ID | None = None, months: int = 6
    ) -> list[Cohort]:
        ctx = info.context
        cohorts = await svc.retention_report(
            ctx.services.uow,
            ctx.principal,
            location_id=expect_id(location_id, "Location", field="locationId")
            if location_id
            else None,
            horizon_months=months,
        )
        return [
            Cohort(
                month=c.month,
                members=c.members,
                repeat_members=c.repeat_members,
                repeat_rate=c.repeat_rate,
                retained=list(c.retained),
            )
            for c in cohorts
        ]
