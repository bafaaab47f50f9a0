"""The brand's loyalty program as data: its earning and redemption rules, the tiers, and the
settings document in which staff change them (camelCase names, e.g. ``pointsPerUnit``).

The same document is what the API takes and what storage keeps, so :func:`program_of` and
:func:`settings_of` are the one translation between it and the typed rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from domain.loyalty.model import EarnRule, RedemptionRule

Settings = dict[str, object]


@dataclass(frozen=True, slots=True)
class LoyaltyProgram:
    """The points rules in force (defaults where nothing is set)."""

    earn: EarnRule = field(default_factory=EarnRule)
    redeem: RedemptionRule = field(default_factory=RedemptionRule)


@dataclass(frozen=True, slots=True)
class Tier:
    """A member tier: reached from a 12-month spend, with its points multiplier (percent)."""

    code: str
    threshold: int  # minor units spent over the last 12 months
    points_multiplier: int


def _int(value: object) -> int:
    if isinstance(value, int | float | str):
        return int(value)
    raise TypeError(f"not a number: {value!r}")


def _percents(value: object) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise TypeError(f"not an object: {value!r}")
    return {str(k): _int(v) for k, v in value.items()}


def program_of(earn: Mapping[str, object], redeem: Mapping[str, object]) -> LoyaltyProgram:
    """The typed rules of a settings document; ValueError or TypeError when it makes no sense."""
    return LoyaltyProgram(
        earn=EarnRule(
            points_per_unit=_int(earn.get("pointsPerUnit", 1)),
            channel_multipliers=_percents(earn.get("channelMultipliers", {})),
            tier_multipliers=_percents(earn.get("tierMultipliers", {})),
            category_bonus={int(k): v for k, v in _percents(earn.get("categoryBonus", {})).items()},
            campaign_bonus_percent=_int(earn.get("campaignBonusPercent", 0)),
            lot_lifetime_days=_int(earn.get("lotLifetimeDays", 365)),
        ),
        redeem=RedemptionRule(
            points_per_currency_unit=_int(redeem.get("pointsPerCurrencyUnit", 100)),
            max_share_percent=_int(redeem.get("maxSharePercent", 50)),
            minimum_points=_int(redeem.get("minimumPoints", 0)),
        ),
    )


def settings_of(program: LoyaltyProgram) -> tuple[Settings, Settings]:
    """The settings document of the rules: (earn, redeem)."""
    earn, redeem = program.earn, program.redeem
    return (
        {
            "pointsPerUnit": earn.points_per_unit,
            "channelMultipliers": dict(earn.channel_multipliers),
            "tierMultipliers": dict(earn.tier_multipliers),
            "categoryBonus": {str(k): v for k, v in earn.category_bonus.items()},
            "campaignBonusPercent": earn.campaign_bonus_percent,
            "lotLifetimeDays": earn.lot_lifetime_days,
        },
        {
            "pointsPerCurrencyUnit": redeem.points_per_currency_unit,
            "maxSharePercent": redeem.max_share_percent,
            "minimumPoints": redeem.minimum_points,
        },
    )


def with_settings(
    program: LoyaltyProgram, *, earn: Mapping[str, object], redeem: Mapping[str, object]
) -> LoyaltyProgram:
    """The program with the given settings replaced (a setting left out keeps its value)."""
    current_earn, current_redeem = settings_of(program)
    return program_of({**current_earn, **earn}, {**current_redeem, **redeem})


def with_tiers(program: LoyaltyProgram, tiers: Sequence[Tier]) -> LoyaltyProgram:
    """The program with each tier's own multiplier where the rules set none for that tier."""
    defaults = {tier.code: tier.points_multiplier for tier in tiers}
    multipliers = {**defaults, **program.earn.tier_multipliers}
    return replace(program, earn=replace(program.earn, tier_multipliers=multipliers))
