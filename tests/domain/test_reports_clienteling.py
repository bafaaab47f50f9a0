"""Pure rules of the reports (periods, ratios) and of clienteling (which tasks a member gives),
and the daily build over the in-memory fakes: idempotent per clerk, member, kind and day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from domain.clienteling.model import TaskKind, tasks_for
from domain.clienteling.services import build_tasks
from domain.errors import DomainError
from domain.insights.model import OrderSummary, member_insight
from domain.members.model import MemberRecord
from domain.reports.model import period_of, ratio_half_up


def test_a_month_is_its_days_in_the_brands_time_zone() -> None:
    p = period_of(month="2026-02", first=None, last=None, tz="Europe/Paris")
    assert (p.first_day, p.last_day) == (date(2026, 2, 1), date(2026, 2, 28))
    assert p.start == datetime(2026, 1, 31, 23, tzinfo=UTC)
    assert p.end == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert p.months == ("2026-02", "2026-02")
    summer = period_of(month=None, first=date(2026, 7, 1), last=date(2026, 8, 3), tz="Europe/Paris")
    assert summer.start == datetime(2026, 6, 30, 22, tzinfo=UTC)
    assert summer.months == ("2026-07", "2026-08")


@pytest.mark.parametrize(
    ("month", "first", "last"),
    [
        ("2026-00", None, None),
        ("26-01", None, None),
        ("2026-01", date(2026, 1, 1), None),
        (None, date(2026, 1, 2), date(2026, 1, 1)),
        (None, date(2024, 12, 1), date(2026, 1, 1)),
        (None, None, date(2026, 1, 1)),
    ],
)
def test_bad_periods_are_refused(month: str | None, first: date | None, last: date | None) -> None:
    with pytest.raises(DomainError) as refused:
        period_of(month=month, first=first, last=last, tz="Europe/Paris")
    assert refused.value.code == "BAD_PERIOD"


@given(st.integers(0, 10**12), st.integers(1, 10**6))
def test_ratios_round_half_up(numerator: int, denominator: int) -> None:
    got = ratio_half_up(numerator, denominator)
    assert abs(got * denominator - numerator) * 2 <= denominator
    assert (got - 0.5) * denominator <= numerator < (got + 0.5) * denominator or got == 0


def _history(member: int, days_ago: list[int], now: datetime) -> list[OrderSummary]:
    return [OrderSummary(member, now - timedelta(days=d), 5_000, "web", (7,)) for d in days_ago]


def test_a_lapsing_member_and_a_favourite_back_in_stock_make_tasks() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    lapsing = member_insight(_history(1, [100, 110, 120], now), now=now)
    drafts = tasks_for(
        staff_id=4, member_id=1, insight=lapsing, restocked={7}, handles={7: "shirts"},
        day=now.date(),
    )  # fmt: skip
    assert [(d.kind, d.reason) for d in drafts] == [
        (TaskKind.CHURN_RISK, "no purchase for 100 days (usually every 10 days)"),
        (TaskKind.BACK_IN_STOCK, "back in stock: shirts"),
    ]
    regular = member_insight(_history(1, [3, 13, 23], now), now=now)
    assert (
        tasks_for(
            staff_id=4, member_id=1, insight=regular, restocked={8}, handles={}, day=now.date()
        )
        == []
    )


def _member(i: int) -> MemberRecord:
    return MemberRecord(
        id=i, email=None, phone=None, email_verified=False, phone_verified=False,
        name=f"M{i}", password_hash="x", member_code=f"M{i}", tier="BRONZE",
        referral_location_id=None, referral_staff_id=None, tags=(), addresses=(),
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )  # fmt: skip


async def test_the_daily_build_adds_each_task_once_and_waits_out_the_cooldown() -> None:
    uow = InMemoryUnitOfWorkFactory()
    state = uow.state
    state.members = {1: _member(1), 2: _member(2)}
    state.clerk_bindings = [(4, 1), (4, 2)]
    now = datetime(2026, 12, 2, tzinfo=UTC)

    async def history(*, member_ids: object, location_ids: object) -> list[OrderSummary]:
        """Member 1 bought three times, ten days apart, 100 days ago and before."""
        return _history(1, [100, 110, 120], now)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "adapters.memory.members.InMemoryMemberRepository.order_summaries",
            lambda self, **kw: history(**kw),
        )
        day = date(2026, 12, 2)
        assert await build_tasks(uow, day=day, tz="Europe/Paris") == 1
        assert await build_tasks(uow, day=day, tz="Europe/Paris") == 0
        assert await build_tasks(uow, day=day + timedelta(days=1), tz="Europe/Paris") == 0
        assert await build_tasks(uow, day=day + timedelta(days=31), tz="Europe/Paris") == 1
    assert [(t.member_id, t.kind) for t in state.clienteling_tasks.values()] == [
        (1, TaskKind.CHURN_RISK),
        (1, TaskKind.CHURN_RISK),
    ]
