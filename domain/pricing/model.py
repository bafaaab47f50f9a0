"""The one pricing function: what a variant costs for a channel, a member tier, at a time.

Every channel (web, app, stores, marketplaces, POS) prices through :func:`price_for`; nothing
else decides a price.

Rules of :func:`price_for`:

- Only rules whose amount is in the requested ``currency`` count.
- A rule is *active* at ``at`` when ``starts_at <= at < ends_at``; a ``None`` bound is open.
  All datetimes are timezone-aware (a naive ``at`` is a programming error: ``ValueError``).
- Rules that :func:`validate_rule` would reject (negative amount, empty window, a TIER rule
  without a tier, a BASE rule with a channel, …) are ignored, so one bad row never sets a price.
- The *regular* price is the active CHANNEL rule for ``channel`` if there is one, else the
  active BASE rule. When several of the same kind are active, the most recently started wins
  (an open start counts as the oldest); on a tie the lowest amount wins.
- Without a regular price the result is ``None``: the variant is not sold in that currency.
- Discount candidates are the active SALE rules whose channel is ``None`` or ``channel``, and
  the active TIER rules whose tier equals ``tier`` (never when ``tier`` is ``None``) and whose
  channel is ``None`` or ``channel``.
- The price is the minimum of the regular price and the candidates. On a tie the regular price
  wins (no ``compare_at``); among tied candidates the one that ends latest wins (an open end is
  latest), then TIER before SALE, so the quote is deterministic.
- ``compare_at`` is the regular price when the price is lower, else ``None``; ``ends_at`` is the
  winning discount's end (``None`` when it does not end or when the regular price wins).

:func:`validate_rule` is the check on write, with a ``PricingErrorCode``: NEGATIVE_PRICE (amount
< 0), INVALID_WINDOW (end not after start, or a naive datetime), TIER_REQUIRED (TIER without a
tier), TIER_NOT_ALLOWED (a tier on any other kind), CHANNEL_REQUIRED (CHANNEL without a channel),
CHANNEL_NOT_ALLOWED (BASE with a channel).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import DomainError
from domain.money import Money


class PriceKind(StrEnum):
    """What a price rule is: the base price, a channel override, a member-tier or a sale price."""

    BASE = "BASE"
    CHANNEL = "CHANNEL"
    TIER = "TIER"
    SALE = "SALE"


class PricingErrorCode(StrEnum):
    """Why a price rule was refused."""

    NEGATIVE_PRICE = "NEGATIVE_PRICE"
    INVALID_WINDOW = "INVALID_WINDOW"
    TIER_REQUIRED = "TIER_REQUIRED"
    CHANNEL_REQUIRED = "CHANNEL_REQUIRED"
    TIER_NOT_ALLOWED = "TIER_NOT_ALLOWED"
    CHANNEL_NOT_ALLOWED = "CHANNEL_NOT_ALLOWED"


@dataclass(frozen=True, slots=True)
class PriceRule:
    """One price of a variant in one currency, optionally scoped to a channel, tier or window."""

    kind: PriceKind
    amount: Money
    channel: str | None = None  # channel handle; None = every channel
    tier: str | None = None  # member tier code, TIER rules only
    starts_at: datetime | None = None  # None = open
    ends_at: datetime | None = None  # exclusive; None = open

    def is_active(self, at: datetime) -> bool:
        """Whether ``starts_at <= at < ends_at`` (open bounds always match)."""
        if self.starts_at is not None and at < self.starts_at:
            return False
        return self.ends_at is None or at < self.ends_at


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """The price a buyer pays per unit, with the regular price it is compared to."""

    price: Money  # what the buyer pays per unit
    compare_at: Money | None  # the regular price when price is lower, else None
    source: PriceKind  # which rule won
    ends_at: datetime | None  # when the winning discount ends, else None


def _is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None


def _problem(rule: PriceRule) -> DomainError | None:
    """The first reason the rule is invalid, or None when it is valid."""
    if rule.amount.amount < 0:
        return DomainError(
            PricingErrorCode.NEGATIVE_PRICE, "a price cannot be negative", field="amount"
        )
    starts, ends = rule.starts_at, rule.ends_at
    if starts is not None and not _is_aware(starts):
        return DomainError(
            PricingErrorCode.INVALID_WINDOW, "dates must carry a time zone", field="startsAt"
        )
    if ends is not None and not _is_aware(ends):
        return DomainError(
            PricingErrorCode.INVALID_WINDOW, "dates must carry a time zone", field="endsAt"
        )
    if starts is not None and ends is not None and ends <= starts:
        return DomainError(
            PricingErrorCode.INVALID_WINDOW, "the end must be after the start", field="endsAt"
        )
    if rule.kind is PriceKind.TIER and not rule.tier:
        return DomainError(
            PricingErrorCode.TIER_REQUIRED, "a tier price needs a member tier", field="tier"
        )
    if rule.kind is not PriceKind.TIER and rule.tier is not None:
        return DomainError(
            PricingErrorCode.TIER_NOT_ALLOWED,
            f"a {rule.kind} price cannot have a member tier",
            field="tier",
        )
    if rule.kind is PriceKind.CHANNEL and not rule.channel:
        return DomainError(
            PricingErrorCode.CHANNEL_REQUIRED, "a channel price needs a channel", field="channel"
        )
    if rule.kind is PriceKind.BASE and rule.channel is not None:
        # A channel-specific base price is what a CHANNEL rule is for.
        return DomainError(
            PricingErrorCode.CHANNEL_NOT_ALLOWED,
            "a base price applies to every channel; use a channel price instead",
            field="channel",
        )
    return None


def validate_rule(rule: PriceRule) -> None:
    """Raise ``DomainError`` (a ``PricingErrorCode``) when the rule cannot be stored."""
    problem = _problem(rule)
    if problem is not None:
        raise problem


def _latest_started(rules: list[PriceRule]) -> PriceRule | None:
    """The most recently started rule (open start = oldest); ties go to the lowest amount."""
    if not rules:
        return None
    return max(
        rules,
        key=lambda r: (r.starts_at is not None, r.starts_at or datetime.min, -r.amount.amount),
    )


def _best_discount(candidates: list[PriceRule]) -> PriceRule | None:
    """The cheapest candidate; ties go to the latest end (open = latest), then TIER over SALE."""
    if not candidates:
        return None
    lowest = min(r.amount.amount for r in candidates)
    tied = [r for r in candidates if r.amount.amount == lowest]
    return max(
        tied,
        key=lambda r: (r.ends_at is None, r.ends_at or datetime.min, r.kind is PriceKind.TIER),
    )


def price_for(
    rules: Iterable[PriceRule],
    *,
    currency: str,
    channel: str | None,
    tier: str | None,
    at: datetime,
) -> PriceQuote | None:
    """The unit price for this channel, member tier and time; None when not sold in currency."""
    if not _is_aware(at):
        raise ValueError("price_for needs a timezone-aware 'at'")
    currency = currency.upper()
    active = [
        r
        for r in rules
        if r.amount.currency == currency and _problem(r) is None and r.is_active(at)
    ]
    overrides = [r for r in active if r.kind is PriceKind.CHANNEL and r.channel == channel]
    bases = [r for r in active if r.kind is PriceKind.BASE]
    regular = _latest_started(overrides) or _latest_started(bases)
    if regular is None:
        return None
    candidates = [
        r
        for r in active
        if r.channel in (None, channel)
        and (
            r.kind is PriceKind.SALE
            or (r.kind is PriceKind.TIER and tier is not None and r.tier == tier)
        )
    ]
    best = _best_discount(candidates)
    if best is None or best.amount.amount >= regular.amount.amount:
        return PriceQuote(price=regular.amount, compare_at=None, source=regular.kind, ends_at=None)
    return PriceQuote(
        price=best.amount, compare_at=regular.amount, source=best.kind, ends_at=best.ends_at
    )
