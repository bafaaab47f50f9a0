"""RFM segments, churn risk, preferences and retention cohorts from order summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.insights.model import OrderSummary, member_insight, preference_tags, retention

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def order(days_ago: int, amount: int = 5000, channel: str = "web", member: int = 1, cats=(1,)):
    return OrderSummary(member, NOW - timedelta(days=days_ago), amount, channel, cats)


def test_a_frequent_recent_buyer_is_a_champion_with_low_churn_risk():
    orders = [
        order(d, channel=c)
        for d, c in [
            (5, "web"),
            (20, "store-part-dieu"),
            (40, "app"),
            (60, "web"),
            (80, "web"),
            (100, "web"),
            (130, "web"),
            (160, "web"),
        ]
    ]
    insight = member_insight(orders, now=NOW)
    assert insight.segment == "CHAMPION" and insight.churn_risk == "LOW"
    assert insight.channels == ("app", "store-part-dieu", "web")
    assert insight.orders_12_months == 8 and insight.days_since_last_purchase == 5


def test_a_lapsed_regular_is_at_risk():
    orders = [order(d) for d in (300, 320, 340, 360)]
    insight = member_insight(orders, now=NOW)
    assert insight.churn_risk == "HIGH" and insight.segment in {"AT_RISK", "HIBERNATING"}


def test_preferences_come_from_spend_per_category():
    orders = [order(10, 9000, cats=(7,)), order(20, 1000, cats=(3,)), order(30, 8000, cats=(7,))]
    insight = member_insight(orders, now=NOW)
    assert insight.top_category_ids[0] == 7
    assert preference_tags(insight, {7: "dresses", 3: "socks"})[0] == "likes:dresses"


def test_retention_cohorts_count_repeat_buyers():
    orders = [
        OrderSummary(1, datetime(2026, 1, 5, tzinfo=UTC), 100, "web"),
        OrderSummary(1, datetime(2026, 2, 9, tzinfo=UTC), 100, "web"),
        OrderSummary(2, datetime(2026, 1, 20, tzinfo=UTC), 100, "web"),
        OrderSummary(3, datetime(2026, 2, 1, tzinfo=UTC), 100, "web"),
    ]
    jan, feb = retention(orders, horizon_months=2)
    assert (jan.month, jan.members, jan.repeat_members, jan.retained) == ("2026-01", 2, 1, (1, 0))
    assert jan.repeat_rate == 0.5 and (feb.members, feb.repeat_members) == (1, 0)


@given(
    st.lists(st.tuples(st.integers(1, 20), st.integers(0, 700), st.integers(0, 10**6)), max_size=40)
)
def test_every_member_is_in_exactly_one_cohort(rows):
    orders = [OrderSummary(m, NOW - timedelta(days=d), a, "web") for m, d, a in rows]
    cohorts = retention(orders)
    assert sum(c.members for c in cohorts) == len({m for m, _, _ in rows})
    assert all(0 <= c.repeat_members <= c.members for c in cohorts)
    for member in {m for m, _, _ in rows}:
        insight = member_insight([o for o in orders if o.member_id == member], now=NOW)
        assert 1 <= insight.recency_score <= 5 and 1 <= insight.frequency_score <= 5
