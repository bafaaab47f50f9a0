"""Resolvers of staff insight: members by tag, a member's RFM profile, retention cohorts."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.insights import services as svc
from domain.members.services import member_view
from resolvers.context import Context
from schema.insights.types import Cohort, MemberInsights
from schema.members.types import Member
from schema.policy import member_audience
from schema.relay import expect_id


async def members(
    info: Info[Context, None],
    tag: str,
    first: int = 50,
    after_id: strawberry.ID | None = None,
) -> list[Member]:
    """Staff: members carrying a tag, by id."""
    ctx = info.context
    ctx.check_first(first)
    found = await svc.members_by_tag(
        ctx.services.uow,
        ctx.principal,
        tag=tag,
        limit=first,
        after_id=expect_id(after_id, "Member", field="afterId") if after_id else None,
    )
    viewers = [(r, member_audience(ctx.principal, member_view(ctx.principal, r))) for r in found]
    return [Member.of(r, viewer=v) for r, v in viewers if v]


async def member_insights(info: Info[Context, None], member_id: strawberry.ID) -> MemberInsights:
    """Staff: how one member buys across every channel."""
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


async def retention_report(
    info: Info[Context, None], location_id: strawberry.ID | None = None, months: int = 6
) -> list[Cohort]:
    """Staff: monthly cohorts of a store's members (or the brand's) and their repeat rate."""
    ctx = info.context
    cohorts = await svc.retention_report(
        ctx.services.uow,
        ctx.principal,
        location_id=expect_id(location_id, "Location", field="locationId") if location_id else None,
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
