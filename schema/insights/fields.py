"""Insight fields of the Query root (staff only)."""

from __future__ import annotations

import strawberry

from resolvers import insights as resolve
from schema.insights.types import Cohort, MemberInsights
from schema.members.types import Member


@strawberry.type
class InsightQuery:
    members: list[Member] = strawberry.field(
        resolver=resolve.members,
        description="Staff: members with a tag.",
    )
    member_insights: MemberInsights = strawberry.field(resolver=resolve.member_insights)
    retention_report: list[Cohort] = strawberry.field(
        resolver=resolve.retention_report,
        description="Monthly cohorts and repeat rate of a store's members (or the brand's).",
    )
