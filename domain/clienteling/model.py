"""Clienteling tasks: whom a clerk should reach today, and why, from the member insight that
exists (churn risk from the purchase history; back in stock of a category the member buys
from; a birthday in the next few days)."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.insights.model import Insight


class TaskKind(StrEnum):
    """Why a member is on a clerk's list."""

    CHURN_RISK = "CHURN_RISK"  # buying much later than they used to
    BACK_IN_STOCK = "BACK_IN_STOCK"  # a category they buy from got stock back
    BIRTHDAY = "BIRTHDAY"  # their birthday is within BIRTHDAY_AHEAD_DAYS


class TaskAction(StrEnum):
    """What the clerk did."""

    VOUCHER = "VOUCHER"
    MESSAGE = "MESSAGE"
    CALL = "CALL"


class TaskState(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    SKIPPED = "SKIPPED"


class ClientelingErrorCode(StrEnum):
    """Stable codes of clienteling userErrors."""

    NO_CONSENT = "NO_CONSENT"  # the member did not accept marketing messages
    NO_CONTACT = "NO_CONTACT"  # no email nor phone to send to
    NOT_A_CLERK = "NOT_A_CLERK"  # the caller has no staff account of their own


# a member is not put on the list again for the same reason within these days
# (a birthday: once a year, whichever day of its window the list was first built)
COOLDOWN_DAYS = {TaskKind.CHURN_RISK: 30, TaskKind.BACK_IN_STOCK: 7, TaskKind.BIRTHDAY: 300}
# a birthday goes on the list this many days ahead: a week to send a voucher or a word
BIRTHDAY_AHEAD_DAYS = 7
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
MESSAGE_MAX = 1_000


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """A task to create (at most one per clerk, member, kind and day)."""

    staff_id: int
    member_id: int
    kind: TaskKind
    reason: str
    day: date


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task as stored, with its member's name for the clerk."""

    id: int
    staff_id: int
    member_id: int
    kind: TaskKind
    reason: str
    day: date
    state: TaskState
    action: TaskAction | None = None
    done_at: datetime | None = None
    member_name: str = ""


def next_birthday(birthday: date, *, day: date) -> date:
    """The first birthday on or after ``day`` (29 February falls on 28 February in the years
    without one)."""
    for year in (day.year, day.year + 1):
        try:
            when = birthday.replace(year=year)
        except ValueError:  # 29 February in a common year
            when = date(year, 2, 28)
        if when >= day:
            return when
    raise AssertionError("a birthday comes within a year")  # pragma: no cover


def birthday_reason(name: str, birthday: date, *, day: date) -> str | None:
    """Why a member with this birthday is on the list on ``day`` ("Ada's birthday is on 12
    December"), or None when it is not within BIRTHDAY_AHEAD_DAYS."""
    when = next_birthday(birthday, day=day)
    if (when - day) > timedelta(days=BIRTHDAY_AHEAD_DAYS):
        return None
    whose = f"{name}'s birthday" if name.strip() else "Birthday"
    return f"{whose} is on {when.day} {_MONTHS[when.month - 1]}"


def tasks_for(
    *,
    staff_id: int,
    member_id: int,
    insight: Insight,
    restocked: Set[int],
    handles: Mapping[int, str],
    day: date,
    birthday: tuple[str, date] | None = None,
) -> list[TaskDraft]:
    """The tasks one bound member gives their clerk today: at HIGH churn risk; a category
    among their favourites back in stock; their birthday (``(name, birthday)``) within
    BIRTHDAY_AHEAD_DAYS."""
    drafts = []
    if insight.churn_risk == "HIGH":
        usual = insight.average_days_between_orders
        why = f"no purchase for {insight.days_since_last_purchase} days"
        if usual is not None:
            why += f" (usually every {round(usual)} days)"
        drafts.append(TaskDraft(staff_id, member_id, TaskKind.CHURN_RISK, why, day))
    back = [c for c in insight.top_category_ids if c in restocked]
    if back:
        names = ", ".join(handles.get(c, str(c)) for c in back)
        drafts.append(
            TaskDraft(staff_id, member_id, TaskKind.BACK_IN_STOCK, f"back in stock: {names}", day)
        )
    if birthday is not None:
        why_birthday = birthday_reason(birthday[0], birthday[1], day=day)
        if why_birthday is not None:
            drafts.append(TaskDraft(staff_id, member_id, TaskKind.BIRTHDAY, why_birthday, day))
    return drafts
