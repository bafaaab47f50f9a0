"""Performance reports: what a store, a clerk or a channel did in a period.

Definitions (the README states them too):
- sales: the scope's orders placed in the period and COMPLETED, net = total less refunds; a
  store's are those it sold at its till or handed over (``attributed_location_id``), a clerk's
  those they rang up (``attributed_staff_id``), a channel's those placed in it;
- online-influenced: COMPLETED orders placed in the period in any channel but a till, of
  members bound to the store (REFERRING_STORE) or the clerk (BOUND_CLERK);
- members acquired: members bound in the period by signing up or scanning one of the codes;
- repeat rate: buyers with 2 or more such orders among buyers with 1 or more;
- commission earned: the store's or clerk's commission entries dated in the period (for a
  channel or the brand: the entries dated in the period of its orders, whoever earned them);
- tasks done: the clienteling tasks of the period marked done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.errors import DomainError

MAX_DAYS = 366  # a report covers at most a year
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class ReportErrorCode(StrEnum):
    """Stable codes of report errors."""

    BAD_PERIOD = "BAD_PERIOD"
    BAD_SCOPE = "BAD_SCOPE"


class ScopeKind(StrEnum):
    """What a report is about."""

    BRAND = "BRAND"
    STORE = "STORE"
    CLERK = "CLERK"
    CHANNEL = "CHANNEL"


@dataclass(frozen=True, slots=True)
class Scope:
    """The subject of a report: the brand, a store (location id), a clerk (staff id) or a
    channel (channel id)."""

    kind: ScopeKind
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """The days ``first_day``..``last_day`` (inclusive) in the brand's time zone, as the
    instants [start, end)."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime

    @property
    def months(self) -> tuple[str, str]:
        """The first and last months (YYYY-MM) the period touches."""
        return (self.first_day.strftime("%Y-%m"), self.last_day.strftime("%Y-%m"))


def period_of(*, month: str | None, first: date | None, last: date | None, tz: str) -> Period:
    """A month (YYYY-MM) or a date range (both ends included), at most a year long."""
    if month is not None:
        if first is not None or last is not None:
            raise DomainError(
                ReportErrorCode.BAD_PERIOD, "give a month or a date range, not both", field="month"
            )
        found = _MONTH.match(month.strip())
        if found is None:
            raise DomainError(ReportErrorCode.BAD_PERIOD, "a month is YYYY-MM", field="month")
        first = date(int(found.group(1)), int(found.group(2)), 1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if first is None or last is None:
        raise DomainError(
            ReportErrorCode.BAD_PERIOD, "give a month, or both from and to", field="from"
        )
    if last < first:
        raise DomainError(ReportErrorCode.BAD_PERIOD, "to is before from", field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise DomainError(ReportErrorCode.BAD_PERIOD, "a report covers at most a year", field="to")
    zone = ZoneInfo(tz)
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    return Period(first, last, start, end)


@dataclass(frozen=True, slots=True)
class Sales:
    """Completed orders and their net amount (minor units), with their buyers."""

    orders: int = 0
    net: int = 0
    buyers: int = 0  # members with 1+ of these orders
    repeat_buyers: int = 0  # members with 2+ of these orders


@dataclass(frozen=True, slots=True)
class Acquired:
    """Members bound in the period through one code."""

    code_id: int
    code: str
    kind: str
    members: int


@dataclass(frozen=True, slots=True)
class Performance:
    """One scope's report for one period, in one currency."""

    scope: Scope
    period: Period
    currency: str
    sales: Sales
    online_influenced: Sales
    acquired: tuple[Acquired, ...]
    commission: int  # earned (a store, a clerk), or paid on its orders (a channel, the brand)
    tasks_done: int | None  # None: tasks belong to clerks and stores

    @property
    def average_basket(self) -> int:
        """Net sales per order, rounded half up (minor units)."""
        return ratio_half_up(self.sales.net, self.sales.orders)

    @property
    def repeat_rate_bp(self) -> int:
        """Repeat buyers per buyer, in basis points (half up)."""
        return ratio_half_up(self.sales.repeat_buyers * 10_000, self.sales.buyers)

    @property
    def members_acquired(self) -> int:
        return sum(a.members for a in self.acquired)


def ratio_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up (0 when there is nothing to divide by)."""
    if denominator <= 0:
        return 0
    return (2 * numerator + denominator) // (2 * denominator)
