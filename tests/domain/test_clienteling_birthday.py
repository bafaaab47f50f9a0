"""Birthday tasks: a bound member's birthday within the next week puts them on their clerk's
list once a year (29 February falls on 28 February in common years); a birthday is checked."""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from domain.clienteling.model import (
    BIRTHDAY_AHEAD_DAYS,
    TaskKind,
    birthday_reason,
    next_birthday,
    tasks_for,
)
from domain.clienteling.services import build_tasks
from domain.errors import DomainError
from domain.insights.model import member_insight
from domain.members.model import MemberRecord, check_birthday


def test_the_reason_names_the_member_and_the_day() -> None:
    born = date(1990, 12, 12)
    assert birthday_reason("Ada", born, day=date(2026, 12, 5)) == "Ada's birthday is on 12 December"
    assert birthday_reason("Ada", born, day=date(2026, 12, 12)) is not None  # the day itself
    assert birthday_reason("Ada", born, day=date(2026, 12, 4)) is None  # 8 days ahead
    assert birthday_reason("Ada", born, day=date(2026, 12, 13)) is None  # just past
    assert birthday_reason("", born, day=date(2026, 12, 12)) == "Birthday is on 12 December"
    # across the new year
    assert birthday_reason("Bo", date(1985, 1, 3), day=date(2026, 12, 30)) == (
        "Bo's birthday is on 3 January"
    )


def test_a_leap_day_birthday_falls_on_28_february_in_common_years() -> None:
    leap = date(2000, 2, 29)
    assert next_birthday(leap, day=date(2027, 2, 20)) == date(2027, 2, 28)
    assert next_birthday(leap, day=date(2028, 2, 20)) == date(2028, 2, 29)
    assert next_birthday(leap, day=date(2027, 3, 1)) == date(2028, 2, 29)
    assert birthday_reason("Ada", leap, day=date(2027, 2, 22)) == "Ada's birthday is on 28 February"


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 31)),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_the_next_birthday_is_the_first_on_or_after_the_day(born: date, day: date) -> None:
    when = next_birthday(born, day=day)
    assert day <= when < day + timedelta(days=366)
    if (born.month, born.day) == (2, 29) and not calendar.isleap(when.year):
        assert (when.month, when.day) == (2, 28)
    else:
        assert (when.month, when.day) == (born.month, born.day)
    # no earlier day in between is a birthday
    assert next_birthday(born, day=day) == next_birthday(born, day=when)
    soon = birthday_reason("X", born, day=day) is not None
    assert soon == ((when - day).days <= BIRTHDAY_AHEAD_DAYS)


def test_tasks_for_adds_a_birthday_task() -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    quiet = member_insight([], now=now)
    drafts = tasks_for(
        staff_id=4, member_id=1, insight=quiet, restocked=set(), handles={}, day=now.date(),
        birthday=("Ada", date(1990, 12, 12)),
    )  # fmt: skip
    assert [(d.kind, d.reason) for d in drafts] == [
        (TaskKind.BIRTHDAY, "Ada's birthday is on 12 December")
    ]


def test_a_birthday_is_from_1900_to_today() -> None:
    today = date(2026, 12, 2)
    assert check_birthday(None, today=today) is None
    assert check_birthday(date(1900, 1, 1), today=today) == date(1900, 1, 1)
    assert check_birthday(today, today=today) == today
    for bad in (date(1899, 12, 31), today + timedelta(days=1)):
        with pytest.raises(DomainError) as refused:
            check_birthday(bad, today=today)
        assert (refused.value.code, refused.value.field) == ("INVALID", "birthday")


def _member(i: int, birthday: date | None) -> MemberRecord:
    return MemberRecord(
        id=i, email=None, phone=None, email_verified=False, phone_verified=False,
        name=f"M{i}", password_hash="x", member_code=f"M{i}", tier="BRONZE",
        referral_location_id=None, referral_staff_id=None, tags=(), addresses=(),
        created_at=datetime(2025, 1, 1, tzinfo=UTC), birthday=birthday,
    )  # fmt: skip


async def test_the_daily_build_adds_a_birthday_task_once_a_year() -> None:
    uow = InMemoryUnitOfWorkFactory()
    state = uow.state
    state.members = {1: _member(1, date(2000, 2, 29)), 2: _member(2, None), 3: _member(3, None)}
    state.clerk_bindings = [(4, 1), (4, 2)]  # member 3 is bound to nobody
    state.members[3] = replace(state.members[3], birthday=date(1990, 2, 28))
    tz = "Europe/Paris"
    day = date(2027, 2, 21)  # 28 February, Member 1's day in 2027, is 7 days ahead
    assert await build_tasks(uow, day=day, tz=tz) == 1
    assert await build_tasks(uow, day=day, tz=tz) == 0  # the same day again
    for later in range(1, 8):  # the rest of the week
        assert await build_tasks(uow, day=day + timedelta(days=later), tz=tz) == 0
    tasks = list(state.clienteling_tasks.values())
    assert [(t.staff_id, t.member_id, t.kind, t.reason) for t in tasks] == [
        (4, 1, TaskKind.BIRTHDAY, "M1's birthday is on 28 February")
    ]
    # the next year, on 29 February (a leap year), a week ahead
    assert await build_tasks(uow, day=date(2028, 2, 21), tz=tz) == 0  # 8 days ahead
    assert await build_tasks(uow, day=date(2028, 2, 22), tz=tz) == 1
    assert list(state.clienteling_tasks.values())[-1].reason == "M1's birthday is on 29 February"
