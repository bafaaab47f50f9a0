"""Insight types: a member's RFM profile (MemberInsights) and retention cohorts."""

from __future__ import annotations

from datetime import datetime

import strawberry


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
