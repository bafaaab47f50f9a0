"""A clock that tells the time it is set to (for tests of expiry, tiers and time windows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FixedClock:
    """The current time, as set; ``advance`` moves it on."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2025, 6, 2, 9, 30, tzinfo=UTC)

    def now(self) -> datetime:
        """The time it was set to."""
        return self.at

    def advance(self, **delta: float) -> datetime:
        """Move the clock on by ``timedelta(**delta)`` and return the new time."""
        self.at += timedelta(**delta)
        return self.at
