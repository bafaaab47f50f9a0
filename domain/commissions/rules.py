"""Commission rules as data, and the entries they produce.

A rule pays one attribution role, optionally narrowed to a channel kind, one channel (by its
handle) and a category (the product's), a percentage (basis points) of the net paid amount or a
fixed amount per unit in one currency. For each role the most specific active rule that matches
wins: the channel first (a channel handle beats a channel kind beats any channel), then the
category (a category beats any category); equals are refused when the rule is saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.attribution.model import Attribution, AttributionRole, BeneficiaryKind
from domain.commissions.model import Rate
from domain.errors import DomainError


class CommissionErrorCode(StrEnum):
    """Stable codes of commission userErrors."""

    INVALID_ROLE = "INVALID_ROLE"
    INVALID_RATE = "INVALID_RATE"
    INVALID_CURRENCY = "INVALID_CURRENCY"
    INVALID_CHANNEL = "INVALID_CHANNEL"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
    DUPLICATE_RULE = "DUPLICATE_RULE"
    INVALID_PERIOD = "INVALID_PERIOD"


class EntryKind(StrEnum):
    """An entry accrues (order completed) or takes back (goods returned)."""

    ACCRUAL = "ACCRUAL"
    REVERSAL = "REVERSAL"


CHANNEL_KINDS = ("WEB", "APP", "STORE", "MARKETPLACE")
# a campaign is the brand's own: it is recorded on the order, nobody is paid for it
PAID_ROLES = tuple(r for r in AttributionRole if r is not AttributionRole.CAMPAIGN)
CLERK_ROLES = (AttributionRole.SELLING_CLERK, AttributionRole.BOUND_CLERK)
STORE_ROLES = (
    AttributionRole.SELLING_STORE,
    AttributionRole.REFERRING_STORE,
    AttributionRole.FULFILLING_STORE,
)


@dataclass(frozen=True, slots=True)
class CommissionRule:
    """One rule; ``id`` 0 for a rule not stored yet."""

    id: int
    role: AttributionRole
    channel_kind: str | None = None
    channel_handle: str | None = None
    category_id: int | None = None
    percent_bp: int | None = None
    fixed_amount: int | None = None  # minor units per unit sold
    currency: str | None = None  # of the fixed amount
    active: bool = True

    @property
    def rate(self) -> Rate:
        """The money part, for ``model.accrual``."""
        return Rate(percent_bp=self.percent_bp, fixed=self.fixed_amount)

    @property
    def key(self) -> tuple[object, ...]:
        """What two active rules may not share."""
        fixed_in = self.currency if self.fixed_amount is not None else None
        return (self.role, self.channel_kind, self.channel_handle, self.category_id, fixed_in)

    @property
    def specificity(self) -> tuple[int, int]:
        """(channel: 2 handle, 1 kind, 0 any; category: 1 or 0), compared in that order."""
        channel = 2 if self.channel_handle else 1 if self.channel_kind else 0
        return (channel, 1 if self.category_id is not None else 0)

    def matches(self, sale: Sale, category_ids: Iterable[int]) -> bool:
        """Does the rule apply to a line of ``sale`` in these categories?"""
        if not self.active:
            return False
        if self.channel_handle is not None and self.channel_handle != sale.channel_handle:
            return False
        if self.channel_kind is not None and self.channel_kind != sale.channel_kind:
            return False
        if self.category_id is not None and self.category_id not in set(category_ids):
            return False
        return self.fixed_amount is None or self.currency == sale.currency


@dataclass(frozen=True, slots=True)
class Sale:
    """What rules are matched against: the order's channel and currency."""

    channel_handle: str
    channel_kind: str | None
    currency: str


def pick(
    rules: Iterable[CommissionRule],
    role: AttributionRole,
    sale: Sale,
    category_ids: Iterable[int] = (),
) -> CommissionRule | None:
    """The most specific active rule of ``role`` matching the line (the oldest among equals)."""
    cats = tuple(category_ids)
    found = [r for r in rules if r.role is role and r.matches(sale, cats)]
    if not found:
        return None
    return max(found, key=lambda r: (r.specificity, -r.id))


def validate(rule: CommissionRule) -> None:
    """Refuse a rule that could not be applied: a paid role, one kind of rate, a currency
    with a fixed amount only, a known channel kind."""
    if rule.role not in PAID_ROLES:
        raise DomainError(
            CommissionErrorCode.INVALID_ROLE,
            "a campaign is the brand's own: no commission",
            field="role",
        )
    if (rule.percent_bp is None) == (rule.fixed_amount is None):
        raise DomainError(
            CommissionErrorCode.INVALID_RATE,
            "give a percentage or a fixed amount (one of them)",
            field="percentBp",
        )
    if rule.percent_bp is not None:
        if not 0 < rule.percent_bp <= 10_000:
            raise DomainError(
                CommissionErrorCode.INVALID_RATE,
                "1 to 10000 basis points (0.01 % to 100 %)",
                field="percentBp",
            )
        if rule.currency is not None:
            raise DomainError(
                CommissionErrorCode.INVALID_CURRENCY,
                "a percentage has no currency",
                field="currency",
            )
    if rule.fixed_amount is not None:
        if rule.fixed_amount <= 0:
            raise DomainError(
                CommissionErrorCode.INVALID_RATE,
                "a fixed amount is more than 0",
                field="fixedAmount",
            )
        if rule.currency is None or len(rule.currency) != 3 or not rule.currency.isalpha():
            raise DomainError(
                CommissionErrorCode.INVALID_CURRENCY,
                "a fixed amount needs its currency (EUR)",
                field="currency",
            )
    if rule.channel_kind is not None and rule.channel_kind not in CHANNEL_KINDS:
        raise DomainError(
            CommissionErrorCode.INVALID_CHANNEL,
            "WEB, APP, STORE or MARKETPLACE",
            field="channelKind",
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """A row of commission_entry: signed money for one beneficiary, one order line, one role."""

    order_id: int
    order_line_id: int | None
    role: AttributionRole
    beneficiary_kind: BeneficiaryKind
    beneficiary_id: int
    rule_id: int | None
    kind: EntryKind
    base_amount: int
    amount: int
    currency: str
    period: str
    at: datetime
    return_id: int | None = None
    statement_id: int | None = None
    id: int = 0


def beneficiary(attribution: Attribution) -> tuple[BeneficiaryKind, int] | None:
    """Who is paid for an attribution: the clerk, the company-owned store, the franchisee
    (of a franchised store, or in the FRANCHISEE role), the venue (its code); None: nobody."""
    a = attribution
    if a.role in CLERK_ROLES:
        return (BeneficiaryKind.STAFF, a.staff_id) if a.staff_id is not None else None
    if a.role in STORE_ROLES:
        if a.franchisee_id is not None:
            return BeneficiaryKind.FRANCHISEE, a.franchisee_id
        return (BeneficiaryKind.LOCATION, a.location_id) if a.location_id is not None else None
    if a.role is AttributionRole.FRANCHISEE and a.franchisee_id is not None:
        return BeneficiaryKind.FRANCHISEE, a.franchisee_id
    if a.role is AttributionRole.VENUE_PARTNER and a.code_id is not None:
        return BeneficiaryKind.VENUE, a.code_id
    return None
