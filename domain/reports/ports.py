"""What the performance reports read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.reports.model import Acquired, Period, Sales, Scope


class PerformanceQueries(Protocol):
    """The read side of the reports. Each method reads one figure of ``scope`` over
    ``period`` (instants [start, end), days first..last); amounts are minor units of
    ``currency``."""

    async def sales(self, scope: Scope, period: Period, *, currency: str) -> Sales:
        """The scope's completed orders placed in the period, their net and their buyers."""
        ...

    async def online_influenced(self, scope: Scope, period: Period, *, currency: str) -> Sales:
        """Completed orders placed in the period outside the tills, of members bound to the
        store or the clerk (any binding for a channel or the brand)."""
        ...

    async def acquired(self, scope: Scope, period: Period) -> Sequence[Acquired]:
        """Members bound in the period by sign-up or scan, per code (most first)."""
        ...

    async def commission(self, scope: Scope, period: Period, *, currency: str) -> int:
        """Commission entries dated in the period: the store's or clerk's own, or those of the
        channel's orders (the brand: all)."""
        ...

    async def tasks_done(self, scope: Scope, period: Period) -> int | None:
        """Clienteling tasks of the period's days marked done: the clerk's, or those of the
        store's clerks; None for a channel."""
        ...
