"""Member insight from the whole purchase history across channels: RFM segment, purchase
frequency, channels used, churn risk, category preferences; and monthly retention cohorts.

Pure: the caller passes order summaries (member, date, amount, channel, categories)."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# Score edges (ascending) for recency in days (lower is better), frequency and spend (minor).
RECENCY_DAYS = (30, 60, 120, 240)
FREQUENCY = (2, 3, 5, 9)  # 1 order scores 1, 9 or more score 5
MONETARY = (5_000, 15_000, 40_000, 100_000)


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """What insight needs of one order."""

    member_id: int
    placed_at: datetime
    amount: int  # minor units, net of refunds
    channel: str
    category_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Insight:
    """One member's profile from their orders."""

    orders: int
    orders_12_months: int
    spend_12_months: int
    last_purchase_at: datetime | None
    days_since_last_purchase: int | None
    average_days_between_orders: float | None
    channels: tuple[str, ...]
    recency_score: int
    frequency_score: int
    monetary_score: int
    segment: str
    churn_risk: str  # LOW | MEDIUM | HIGH | UNKNOWN
    top_category_ids: tuple[int, ...]


def _score(value: float, edges: tuple[int, ...], *, lower_is_better: bool = False) -> int:
    rank = sum(1 for edge in edges if value >= edge)  # 0..4
    return 5 - rank if lower_is_better else rank + 1


def segment(r: int, f: int, m: int) -> str:
    """A name for an RFM triple, as marketing teams use them."""
    if r >= 4 and f >= 4:
        return "CHAMPION"
    if r >= 3 and f >= 3:
        return "LOYAL"
    if r >= 4 and f <= 1:
        return "NEW"
    if r >= 3:
        return "PROMISING"
    if f >= 3 or m >= 4:
        return "AT_RISK"
    return "HIBERNATING"


def member_insight(orders: Sequence[OrderSummary], *, now: datetime) -> Insight:
    """RFM, frequency, channels, churn risk and preferred categories of one member."""
    ordered = sorted(orders, key=lambda o: o.placed_at)
    year_ago = now - timedelta(days=365)
    recent = [o for o in ordered if o.placed_at >= year_ago]
    last = ordered[-1].placed_at if ordered else None
    days = (now - last).days if last else None
    gaps = [(b.placed_at - a.placed_at).days for a, b in itertools.pairwise(ordered)]
    average = sum(gaps) / len(gaps) if gaps else None
    spend = sum(o.amount for o in recent)
    r = _score(days, RECENCY_DAYS, lower_is_better=True) if days is not None else 1
    f = _score(len(recent), FREQUENCY) if recent else 1
    m = _score(spend, MONETARY)
    if days is None:
        risk = "UNKNOWN"
    elif average is None:
        risk = "HIGH" if days > 180 else "MEDIUM" if days > 90 else "LOW"
    else:
        risk = "HIGH" if days > 2 * average + 30 else "MEDIUM" if days > average + 14 else "LOW"
    spend_by_category: Counter[int] = Counter()
    for order in ordered:
        for category in order.category_ids:
            spend_by_category[category] += order.amount // max(len(order.category_ids), 1)
    return Insight(
        orders=len(ordered),
        orders_12_months=len(recent),
        spend_12_months=spend,
        last_purchase_at=last,
        days_since_last_purchase=days,
        average_days_between_orders=round(average, 1) if average is not None else None,
        channels=tuple(sorted({o.channel for o in ordered})),
        recency_score=r,
        frequency_score=f,
        monetary_score=m,
        segment=segment(r, f, m) if ordered else "NONE",
        churn_risk=risk,
        top_category_ids=tuple(c for c, _ in spend_by_category.most_common(3)),
    )


def preference_tags(insight: Insight, handles: dict[int, str]) -> tuple[str, ...]:
    """Tags a member earns from what they buy: their top categories."""
    return tuple(f"likes:{handles[c]}" for c in insight.top_category_ids if c in handles)


@dataclass(frozen=True, slots=True)
class Cohort:
    """Members whose first order fell in one month, and how many came back later."""

    month: str  # YYYY-MM
    members: int
    repeat_members: int  # bought again in any later month
    retained: tuple[int, ...]  # members buying in month +1, +2, ... after the cohort month

    @property
    def repeat_rate(self) -> float:
        return round(self.repeat_members / self.members, 4) if self.members else 0.0


def _month(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def _months_between(a: str, b: str) -> int:
    return (int(b[:4]) - int(a[:4])) * 12 + int(b[5:]) - int(a[5:])


def retention(orders: Sequence[OrderSummary], *, horizon_months: int = 6) -> tuple[Cohort, ...]:
    """Monthly cohorts by first order, with repeat rate and month-by-month retention."""
    months: dict[int, set[str]] = defaultdict(set)
    for order in orders:
        months[order.member_id].add(_month(order.placed_at))
    cohorts: dict[str, list[set[str]]] = defaultdict(list)
    for seen in months.values():
        cohorts[min(seen)].append(seen)
    result = []
    for month in sorted(cohorts):
        members = cohorts[month]
        retained = tuple(
            sum(1 for seen in members if any(_months_between(month, s) == k for s in seen))
            for k in range(1, horizon_months + 1)
        )
        repeat = sum(1 for seen in members if len(seen) > 1)
        result.append(Cohort(month, len(members), repeat, retained))
    return tuple(result)
