"""The audit trail and value grants as plain data, with their pure rules: what a mutation's input
looks like in the log (secrets and passwords left out) and when a manager's grant needs an owner."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class TrustErrorCode(StrEnum):
    """Stable codes of the value-grant userErrors."""

    OUTSIDE_YOUR_STORES = "OUTSIDE_YOUR_STORES"
    APPROVAL_REQUIRED = "APPROVAL_REQUIRED"
    NOT_PENDING = "NOT_PENDING"


class GrantKind(StrEnum):
    """What staff give a member."""

    POINTS = "POINTS"
    VOUCHER = "VOUCHER"


class GrantStatus(StrEnum):
    """APPLIED within the caps; PENDING above them until an owner APPROVES or REJECTS."""

    APPLIED = "APPLIED"
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class GrantLimits:
    """What one store manager may give per (UTC) day without an owner's approval."""

    points_per_day: int = 5_000
    voucher_minor_per_day: int = 20_000


@dataclass(frozen=True, slots=True)
class ValueGrant:
    """Points or a voucher given by staff (``value``: points, or the voucher in minor units)."""

    kind: GrantKind
    member_id: int
    requested_by: str
    value: int
    currency: str
    reason: str
    status: GrantStatus
    created_at: datetime
    voucher_expires_at: datetime | None = None
    id: int = 0
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One staff or partner mutation as the log keeps it."""

    actor: str
    role: str
    field: str
    summary: dict[str, Any]
    result: str  # OK or the userError code
    client: str
    at: datetime | None = None
    id: int = 0


_SECRET = re.compile(r"password|secret|token|presence|code|key", re.IGNORECASE)
REDACTED = "[redacted]"


def summarise(value: Any, *, depth: int = 0) -> Any:
    """A mutation's input as the audit log shows it: names kept, secrets (passwords, tokens,
    codes, keys) redacted, long strings and lists cut."""
    if depth > 4:
        return "…"
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _SECRET.search(str(k)) else summarise(v, depth=depth + 1)
            for k, v in list(value.items())[:30]
        }
    if isinstance(value, list | tuple):
        return [summarise(v, depth=depth + 1) for v in value[:20]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:200]


def over_cap(*, used_today: int, value: int, cap: int) -> bool:
    """Would this grant take the manager past their daily cap?"""
    return used_today + value > cap
