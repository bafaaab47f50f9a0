"""Clienteling tasks: whom a clerk should reach today, and why, from the member insight that
exists (churn risk from the purchase history; back in stock of a category the member buys
from). Members carry no birthday, so there is no birthday task."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from domain.insights.model import Insight


class TaskKind(StrEnum):
    """Why a member is on a clerk's list."""

    CHURN_RISK = "CHURN_RISK"  # buying much later than they used to
    BACK_IN_STOCK = "BACK_IN_STOCK"  # a category they buy from got stock back


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
COOLDOWN_DAYS = {TaskKind.CHURN_RISK: 30, TaskKind.BACK_IN_STOCK: 7}
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


def tasks_for(
    *,
    staff_id: int,
    member_id: int,
    insight: Insight,
    restocked: Set[int],
    handles: Mapping[int, str],
    day: date,
) -> list[TaskDraft]:
    """The tasks one bound member gives their clerk today: at HIGH churn risk; a category
    among their favourites back in stock."""
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
    return drafts
