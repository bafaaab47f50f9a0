"""The pure points rules: earning, balance, burning (oldest-expiring first), expiry, redemption
and the proportional reversal of a return.

The points of a member are an append-only ledger (``EntryKind``). Entries that add points create a
:class:`Lot` (EARN, a positive ADJUST, BURN_REVERSAL); entries that take points (BURN, EXPIRE,
EARN_REVERSAL, a negative ADJUST) consume lots, recorded as :class:`Consumption` rows. A lot's
``remaining`` is its points minus what was consumed from it; it never goes below zero, so the
balance never does either. This module decides amounts and which lots; storing entries, making
earning idempotent per order (``ALREADY_EARNED``) and locking are the caller's job.

Rules:

- **Live lot**: ``expires_at is None or expires_at > at``. Expiry is exclusive: at the instant
  ``expires_at`` the lot is dead. :func:`balance` is the sum of ``remaining`` of live lots.
- **Order of consumption** (:func:`plan_burn`, :func:`reversal_consumption`): live lots with
  something remaining, soonest ``expires_at`` first (``None`` = never, last), then oldest
  ``earned_at``, then lowest ``id``.
- :func:`expire` takes the whole ``remaining`` of every lot with ``expires_at <= at``.
- **Earning** (:func:`earn_points`), per line of what the member paid after discounts, all in
  integers and floored once per line: ``units * points_per_unit * channel * tier
  * (100 + bonus) // 100**3``, where ``units`` is the line's whole major currency units (floor:
  19.99 EUR is 19, 1500 JPY is 1500), ``channel`` is ``channel_multipliers[channel]`` (percent,
  default 100), ``tier`` is ``tier_multipliers[tier]`` (percent, default 100, also for
  ``tier=None``), and ``bonus`` is the largest ``category_bonus`` among the line's categories
  (0 if none) plus ``campaign_bonus_percent``. Lines are all in one currency.
  A line of zero or negative amount earns nothing. The result is the sum over lines.
  A new lot expires ``lot_lifetime_days`` after it was earned (:func:`new_lot`); a given-back
  burn (BURN_REVERSAL) is a new lot with a fresh lifetime too.
- **Redemption**: ``points_per_currency_unit`` points are worth one major unit, so a point is
  worth ``10**exponent / points_per_currency_unit`` minor units; :func:`redemption_value` floors
  to the minor unit (100 points = 1.00 EUR = 1 JPY by default). The cap is on the points' face
  value: at most ``floor(order_total * max_share_percent / 100)`` minor units, i.e. at most
  ``floor(cap * points_per_currency_unit / 10**exponent)`` points. A redemption of fewer than
  ``minimum_points`` is refused (INVALID_POINTS). :func:`max_redeemable` is
  ``min(available, cap points)``, or 0 when that is below ``minimum_points``.
- **Returns** (:func:`reverse_for_return`) work on cumulative shares so that partial returns add
  up exactly: after returns worth ``R`` in total out of ``T``, ``floor(earned * R / T)`` earned
  points are reversed and ``floor(burned * R / T)`` burned points are given back in total; each
  call returns the difference to what was already done. ``R`` is clamped to ``[0, T]``; a
  ``T <= 0`` counts as a full return.
- **Taking back earned points** (:func:`reversal_consumption`) never drives the balance below
  zero: if the member already spent them, only what is left is taken; the caller records the
  shortfall (``points - sum of consumptions``).

Invalid configuration (negative multipliers, a ``remaining`` above ``points``, a naive ``at``) is a
programming error (``ValueError``); a refused request is a ``DomainError`` with a
``PointsErrorCode`` on ``field="points"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import DomainError
from domain.money import Money, exponent

# Order statuses whose total, less refunds, counts as a member's spend (tiers, insight).
SPEND_STATUSES = ("COMPLETED", "PICKED_UP", "DELIVERED", "RETURNED", "FULFILLED", "PAID")


class PointsErrorCode(StrEnum):
    """Why a points request was refused."""

    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    POINTS_CAP_EXCEEDED = "POINTS_CAP_EXCEEDED"
    INVALID_POINTS = "INVALID_POINTS"
    ALREADY_EARNED = "ALREADY_EARNED"
    REASON_REQUIRED = "REASON_REQUIRED"


class EntryKind(StrEnum):
    """Kind of a ledger entry: EARN, BURN_REVERSAL and positive ADJUST add; the others take."""

    EARN = "EARN"
    BURN = "BURN"
    EXPIRE = "EXPIRE"
    EARN_REVERSAL = "EARN_REVERSAL"
    BURN_REVERSAL = "BURN_REVERSAL"
    ADJUST = "ADJUST"


@dataclass(frozen=True, slots=True)
class Lot:
    """Points that one EARN, positive ADJUST or BURN_REVERSAL created, and what is left of them."""

    id: int
    points: int
    remaining: int
    earned_at: datetime
    expires_at: datetime | None  # exclusive; None = never expires

    def __post_init__(self) -> None:
        if self.points <= 0 or not 0 <= self.remaining <= self.points:
            raise ValueError(f"lot {self.id}: need 0 <= remaining <= points and points > 0")

    def is_live(self, at: datetime) -> bool:
        """Whether the lot has not expired at ``at`` (``expires_at > at``)."""
        return self.expires_at is None or self.expires_at > at


@dataclass(frozen=True, slots=True)
class Consumption:
    """Points taken from one lot by a BURN, EXPIRE, EARN_REVERSAL or negative ADJUST."""

    lot_id: int
    points: int


@dataclass(frozen=True, slots=True)
class EarnRule:
    """How many points a purchase earns; evaluated by :func:`earn_points`."""

    points_per_unit: int = 1  # per whole major currency unit spent (floor)
    channel_multipliers: Mapping[str, int] = field(default_factory=dict)  # percent; default 100
    tier_multipliers: Mapping[str, int] = field(default_factory=dict)  # percent; default 100
    category_bonus: Mapping[int, int] = field(default_factory=dict)  # extra percent per category
    campaign_bonus_percent: int = 0  # extra percent on every line
    lot_lifetime_days: int = 365

    def __post_init__(self) -> None:
        percents = [
            *self.channel_multipliers.values(),
            *self.tier_multipliers.values(),
            *self.category_bonus.values(),
        ]
        if (
            self.points_per_unit < 0
            or self.campaign_bonus_percent < 0
            or min(percents, default=0) < 0
        ):
            raise ValueError("earn rule rates and percents are 0 or more")
        if self.lot_lifetime_days <= 0:
            raise ValueError("lot_lifetime_days is 1 or more")


@dataclass(frozen=True, slots=True)
class EarnLine:
    """What the member paid for one order line after discounts, and the line's categories."""

    amount: Money
    category_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RedemptionRule:
    """What points are worth when paying and how much of an order they may pay."""

    points_per_currency_unit: int = 100  # 100 points = 1.00 of the currency
    max_share_percent: int = 50  # at most this share of the order total paid with points
    minimum_points: int = 0  # smallest redemption allowed

    def __post_init__(self) -> None:
        if self.points_per_currency_unit <= 0:
            raise ValueError("points_per_currency_unit is 1 or more")
        if not 0 <= self.max_share_percent <= 100:
            raise ValueError("max_share_percent is between 0 and 100")
        if self.minimum_points < 0:
            raise ValueError("minimum_points is 0 or more")


@dataclass(frozen=True, slots=True)
class PointsEntry:
    """One line of the append-only ledger; ``points`` is signed, ``balance_after`` what is left."""

    member_id: int
    kind: EntryKind
    points: int
    balance_after: int
    order_id: int | None
    reason: str
    actor: str
    lot_id: int | None = None  # the lot an adding entry created
    dedupe_key: str | None = None  # e.g. earn:<order id>: written at most once
    reversed_points: int | None = None  # EARN_REVERSAL: the return's share of the earned points
    returned_value: int | None = None  # EARN_REVERSAL: the value returned, in minor units


@dataclass(frozen=True, slots=True)
class OrderReversals:
    """What the returns of one order did so far: points reversed and given back, value returned."""

    reversed_earn: int
    returned_burn: int
    returned_value: int


@dataclass(frozen=True, slots=True)
class TierChange:
    """A member moved from one tier to another with their 12-month spend."""

    member_id: int
    from_tier: str
    to_tier: str
    spend_12m: int


# -- earning ------------------------------------------------------------------------------------


def earn_points(
    lines: Sequence[EarnLine], *, rule: EarnRule, channel: str, tier: str | None
) -> int:
    """Points an order earns: the sum over lines, each floored once after all multipliers."""
    currencies = {line.amount.currency for line in lines}
    if len(currencies) > 1:
        raise ValueError(f"currency mismatch: {sorted(currencies)}")
    channel_pct = rule.channel_multipliers.get(channel, 100)
    tier_pct = 100 if tier is None else rule.tier_multipliers.get(tier, 100)
    total = 0
    for line in lines:
        if line.amount.amount <= 0:
            continue
        units = line.amount.amount // _minor_per_unit(line.amount.currency)
        category_pct = max((rule.category_bonus.get(c, 0) for c in line.category_ids), default=0)
        bonus_pct = 100 + category_pct + rule.campaign_bonus_percent
        total += units * rule.points_per_unit * channel_pct * tier_pct * bonus_pct // 100**3
    return total


def new_lot(*, lot_id: int, points: int, earned_at: datetime, rule: EarnRule) -> Lot:
    """A fresh lot of ``points`` expiring ``rule.lot_lifetime_days`` after ``earned_at``."""
    _aware(earned_at)
    if points <= 0:
        raise DomainError(PointsErrorCode.INVALID_POINTS, "points must be positive", field="points")
    expires_at = earned_at + timedelta(days=rule.lot_lifetime_days)
    return Lot(lot_id, points, points, earned_at, expires_at)


def validate_adjustment(points: int, *, reason: str) -> str:
    """Check a manual ADJUST (non-zero points, a reason) and return the stripped reason."""
    if points == 0:
        raise DomainError(
            PointsErrorCode.INVALID_POINTS, "adjust by a non-zero amount", field="points"
        )
    if not reason.strip():
        raise DomainError(PointsErrorCode.REASON_REQUIRED, "a reason is required", field="reason")
    return reason.strip()


# -- balance, burning, expiry -------------------------------------------------------------------


def balance(lots: Iterable[Lot], *, at: datetime) -> int:
    """Sum of ``remaining`` of the lots still live at ``at``."""
    _aware(at)
    return sum(lot.remaining for lot in lots if lot.is_live(at))


def plan_burn(lots: Sequence[Lot], *, points: int, at: datetime) -> tuple[Consumption, ...]:
    """Which lots a burn of ``points`` consumes: live lots, oldest-expiring first."""
    _aware(at)
    if points <= 0:
        raise DomainError(PointsErrorCode.INVALID_POINTS, "points must be positive", field="points")
    available = balance(lots, at=at)
    if available < points:
        raise DomainError(
            PointsErrorCode.INSUFFICIENT_POINTS,
            f"only {available} points available, {points} requested",
            field="points",
        )
    return _take(lots, points=points, at=at)


def expire(lots: Sequence[Lot], *, at: datetime) -> tuple[Consumption, ...]:
    """What expires at ``at``: the whole remaining of every lot with ``expires_at <= at``."""
    _aware(at)
    return tuple(
        Consumption(lot.id, lot.remaining)
        for lot in sorted(lots, key=_consumption_order)
        if not lot.is_live(at) and lot.remaining > 0
    )


def reversal_consumption(
    lots: Sequence[Lot], *, points: int, at: datetime
) -> tuple[Consumption, ...]:
    """Take back up to ``points``, at most the balance, from live lots oldest-expiring first."""
    _aware(at)
    if points < 0:
        raise DomainError(
            PointsErrorCode.INVALID_POINTS, "points must be 0 or more", field="points"
        )
    return _take(lots, points=min(points, balance(lots, at=at)), at=at)


def apply_consumptions(lots: Iterable[Lot], consumptions: Iterable[Consumption]) -> tuple[Lot, ...]:
    """The lots after the consumptions were taken from them (an in-memory ledger replay)."""
    taken: dict[int, int] = {}
    for consumption in consumptions:
        taken[consumption.lot_id] = taken.get(consumption.lot_id, 0) + consumption.points
    result = []
    for lot in lots:
        remaining = lot.remaining - taken.pop(lot.id, 0)
        if remaining < 0:
            raise ValueError(f"lot {lot.id} is over-consumed")
        result.append(Lot(lot.id, lot.points, remaining, lot.earned_at, lot.expires_at))
    if taken:
        raise ValueError(f"consumptions of unknown lots {sorted(taken)}")
    return tuple(result)


# -- redemption ---------------------------------------------------------------------------------


def redemption_value(points: int, *, rule: RedemptionRule, currency: str) -> Money:
    """What ``points`` pay, in minor units of ``currency``, floored."""
    if points < 0:
        raise DomainError(
            PointsErrorCode.INVALID_POINTS, "points must be 0 or more", field="points"
        )
    minor = points * _minor_per_unit(currency) // rule.points_per_currency_unit
    return Money(minor, currency)


def check_redemption(
    points: int, *, order_total: Money, available: int, rule: RedemptionRule
) -> Money:
    """Validate paying ``points`` on an order and return what they pay."""
    if points <= 0 or points < rule.minimum_points:
        minimum = max(1, rule.minimum_points)
        raise DomainError(
            PointsErrorCode.INVALID_POINTS, f"redeem at least {minimum} points", field="points"
        )
    if points > available:
        raise DomainError(
            PointsErrorCode.INSUFFICIENT_POINTS,
            f"only {available} points available, {points} requested",
            field="points",
        )
    cap = _cap_points(order_total, rule)
    if points > cap:
        raise DomainError(
            PointsErrorCode.POINTS_CAP_EXCEEDED,
            f"at most {cap} points on this order ({rule.max_share_percent} % of the total)",
            field="points",
        )
    return redemption_value(points, rule=rule, currency=order_total.currency)


def max_redeemable(*, order_total: Money, available: int, rule: RedemptionRule) -> int:
    """The largest number of points the member may pay this order with (0 when none)."""
    most = min(max(available, 0), _cap_points(order_total, rule))
    return most if most > 0 and most >= rule.minimum_points else 0


# -- returns ------------------------------------------------------------------------------------


def reverse_for_return(
    *,
    earned: int,
    burned: int,
    order_total: Money,
    returned_value: Money,
    already_reversed_earn: int,
    already_returned_burn: int,
) -> tuple[int, int]:
    """(points to reverse, points to give back) now, for a cumulative ``returned_value``."""
    if returned_value.currency != order_total.currency:
        raise ValueError(f"currency mismatch: {returned_value.currency} vs {order_total.currency}")
    if earned < 0 or burned < 0 or already_reversed_earn < 0 or already_returned_burn < 0:
        raise ValueError("points counts are 0 or more")
    total = order_total.amount
    if total <= 0:
        returned, total = 1, 1
    else:
        returned = min(max(returned_value.amount, 0), total)
    earn_target = earned * returned // total
    burn_target = burned * returned // total
    return (
        max(earn_target - already_reversed_earn, 0),
        max(burn_target - already_returned_burn, 0),
    )


# -- helpers ------------------------------------------------------------------------------------


def _minor_per_unit(currency: str) -> int:
    return int(10 ** exponent(currency))


def _aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("points rules need timezone-aware datetimes")


def _consumption_order(lot: Lot) -> tuple[bool, datetime, datetime, int]:
    never = lot.expires_at is None
    return (never, lot.expires_at or lot.earned_at, lot.earned_at, lot.id)


def _take(lots: Sequence[Lot], *, points: int, at: datetime) -> tuple[Consumption, ...]:
    consumptions: list[Consumption] = []
    left = points
    for lot in sorted(lots, key=_consumption_order):
        if left == 0:
            break
        if not lot.is_live(at) or lot.remaining == 0:
            continue
        take = min(lot.remaining, left)
        consumptions.append(Consumption(lot.id, take))
        left -= take
    return tuple(consumptions)


def _cap_points(order_total: Money, rule: RedemptionRule) -> int:
    cap_minor = max(order_total.amount, 0) * rule.max_share_percent // 100
    return cap_minor * rule.points_per_currency_unit // _minor_per_unit(order_total.currency)
