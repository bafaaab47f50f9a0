"""Attribution: codes behind QRs, members bound to a store and a clerk, and the roles an order
credits. Rules are data (``BindingPolicy``); this module holds the pure decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import DomainError


class CodeKind(StrEnum):
    """Whose code a QR carries."""

    STORE = "STORE"
    CLERK = "CLERK"
    CAMPAIGN = "CAMPAIGN"
    VENUE = "VENUE"  # a partner venue: a restaurant, a gym (a QR on their counter)


class BindingSource(StrEnum):
    """How a member came to be bound."""

    SCAN = "SCAN"  # the first code they scanned
    SIGNUP = "SIGNUP"  # the referral code they signed up with
    TILL = "TILL"  # a clerk who served them at the till took the binding over
    MANUAL = "MANUAL"  # staff set it


class AttributionRole(StrEnum):
    """The part someone played in an order."""

    SELLING_CLERK = "SELLING_CLERK"  # rang the till sale
    SELLING_STORE = "SELLING_STORE"  # the store of the till sale
    BOUND_CLERK = "BOUND_CLERK"  # the clerk the buyer is bound to (any channel)
    REFERRING_STORE = "REFERRING_STORE"  # the store the buyer is bound to (any channel)
    FULFILLING_STORE = "FULFILLING_STORE"  # hands over or sends the goods (pick-up, ship, deliver)
    CAMPAIGN = "CAMPAIGN"  # the last campaign code scanned within the window
    VENUE_PARTNER = "VENUE_PARTNER"  # the last venue code scanned within the window
    FRANCHISEE = "FRANCHISEE"  # the dealer owning a store credited above


class BeneficiaryKind(StrEnum):
    """Who is paid."""

    STAFF = "STAFF"
    LOCATION = "LOCATION"  # a company-owned store
    VENUE = "VENUE"  # a partner venue (its code)
    FRANCHISEE = "FRANCHISEE"


class AttributionErrorCode(StrEnum):
    """Stable codes of attribution userErrors."""

    UNKNOWN_CODE = "UNKNOWN_CODE"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    CODE_INACTIVE = "CODE_INACTIVE"
    INVALID_CODE = "INVALID_CODE"  # a code's text or its owner (store, clerk) is not acceptable
    DUPLICATE_CODE = "DUPLICATE_CODE"
    INVALID_POLICY = "INVALID_POLICY"
    INVALID_VISITOR = "INVALID_VISITOR"


@dataclass(frozen=True, slots=True)
class BindingPolicy:
    """The binding and attribution rules, as staff set them."""

    bind_days: int = 365  # a binding lasts this long from its last renewal
    takeover_after_days: int = 90  # a clerk serving the member at the till takes over after
    last_touch_days: int = 30  # a campaign or venue scan counts for orders within this window
    bind_on_scan: bool = True
    bind_on_signup: bool = True
    bind_at_till: bool = True


@dataclass(frozen=True, slots=True)
class Binding:
    """The store and clerk a member is bound to."""

    member_id: int
    location_id: int | None
    staff_id: int | None
    source: BindingSource
    bound_at: datetime
    expires_at: datetime | None
    code_id: int | None = None
    rule: str = ""

    def live(self, at: datetime) -> bool:
        """Still in force at ``at``."""
        return self.expires_at is None or at < self.expires_at


def may_take_over(current: Binding | None, policy: BindingPolicy, *, at: datetime) -> bool:
    """Whether a clerk serving the member at the till may take the binding: when there is
    none (or it expired), or it is older than the policy's takeover delay."""
    if not policy.bind_at_till:
        return False
    if current is None or not current.live(at):
        return True
    return at - current.bound_at >= timedelta(days=policy.takeover_after_days)


@dataclass(frozen=True, slots=True)
class Attribution:
    """One credit of an order: a role, who, and the rule (in words) that gave it."""

    role: AttributionRole
    location_id: int | None = None
    staff_id: int | None = None
    code_id: int | None = None
    franchisee_id: int | None = None
    rule: str = ""


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """An attribution code as stored: whose it is and where its QR leads."""

    id: int
    code: str
    kind: CodeKind
    name: str
    location_id: int | None
    staff_id: int | None
    landing_path: str
    active: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CodeDraft:
    """A new attribution code, checked, before it is stored."""

    code: str
    kind: CodeKind
    name: str
    location_id: int | None
    staff_id: int | None
    landing_path: str
    created_by: str


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One scan: which code, by whom (a member or an anonymous visitor id), when."""

    id: int
    code_id: int
    member_id: int | None
    visitor: str | None
    at: datetime


# the code of a store's or a clerk's scan: (code id, kind, location id, staff id)
ScanTouch = tuple[int, CodeKind, int | None, int | None]
BINDING_KINDS = (CodeKind.STORE, CodeKind.CLERK)


def bound_until(policy: BindingPolicy, at: datetime) -> datetime:
    """When a binding made at ``at`` ends under ``policy``."""
    return at + timedelta(days=policy.bind_days)


def binding_rule(
    source: BindingSource,
    *,
    at: datetime,
    policy: BindingPolicy,
    who: str = "",
    code: str = "",
    place: str = "",
    previous: Binding | None = None,
) -> str:
    """Why a member is bound, in words, for the staff reading the binding."""
    day = at.date().isoformat()
    days = f"bound {policy.bind_days} days"
    if source is BindingSource.SIGNUP:
        return f"signed up with {who}'s code ({code}) on {day}; {days}"
    if source is BindingSource.SCAN:
        return f"first scanned {who}'s code ({code}) on {day}; {days}"
    if source is BindingSource.TILL:
        if previous is None or not previous.live(at):
            before = "not bound before"
        else:
            held = (at - previous.bound_at).days
            before = (
                f"took over after {held} days (takeover after {policy.takeover_after_days} days)"
            )
        return f"served by {who} at the till of {place} on {day}, {before}; {days}"
    return f"bound by hand by {who} on {day}; {days}"


def check_policy(policy: BindingPolicy) -> BindingPolicy:
    """Refuse a policy out of range: days 1..3650, windows 0..3650."""
    checks = (
        ("bindDays", policy.bind_days, 1),
        ("takeoverAfterDays", policy.takeover_after_days, 0),
        ("lastTouchDays", policy.last_touch_days, 0),
    )
    for name, value, low in checks:
        if not low <= value <= 3650:
            raise DomainError(
                AttributionErrorCode.INVALID_POLICY, f"{name} is {low} to 3650", field=name
            )
    return policy
