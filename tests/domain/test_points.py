from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.loyalty.model import (
    Consumption,
    EarnLine,
    EarnRule,
    Lot,
    PointsErrorCode,
    RedemptionRule,
    apply_consumptions,
    balance,
    check_redemption,
    earn_points,
    expire,
    max_redeemable,
    new_lot,
    plan_burn,
    redemption_value,
    reversal_consumption,
    reverse_for_return,
    validate_adjustment,
)
from domain.money import Money

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def days(n: int) -> datetime:
    return NOW + timedelta(days=n)


def lot(
    lot_id: int,
    points: int,
    *,
    earned: int = -10,
    expires: int | None = 100,
    left: int | None = None,
) -> Lot:
    return Lot(
        lot_id,
        points,
        points if left is None else left,
        days(earned),
        None if expires is None else days(expires),
    )


def code_of(exc: pytest.ExceptionInfo[DomainError]) -> str:
    return exc.value.code


# -- strategies ---------------------------------------------------------------------------------


@st.composite
def lot_lists(draw: st.DrawFn) -> list[Lot]:
    count = draw(st.integers(min_value=0, max_value=8))
    lots = []
    for lot_id in range(1, count + 1):
        points = draw(st.integers(min_value=1, max_value=1_000))
        remaining = draw(st.integers(min_value=0, max_value=points))
        earned = draw(st.integers(min_value=-400, max_value=0))
        lifetime = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=730)))
        expires = None if lifetime is None else days(earned + lifetime)
        lots.append(Lot(lot_id, points, remaining, days(earned), expires))
    return draw(st.permutations(lots))


instants = st.integers(min_value=-30, max_value=400).map(days)


@st.composite
def return_splits(draw: st.DrawFn) -> tuple[int, list[int]]:
    """An order total and a list of partial return values that sum to it."""
    total = draw(st.integers(min_value=1, max_value=100_000))
    cuts = draw(st.lists(st.integers(min_value=0, max_value=total), max_size=6))
    points = sorted({0, total, *cuts})
    return total, [b - a for a, b in pairwise(points)]


# -- earning ------------------------------------------------------------------------------------

RULE = EarnRule(
    points_per_unit=1,
    channel_multipliers={"store-1": 150, "marketplace": 50},
    tier_multipliers={"gold": 200, "silver": 125},
    category_bonus={7: 10, 8: 50},
    campaign_bonus_percent=0,
)


def test_earn_floors_whole_major_units_per_line() -> None:
    lines = [EarnLine(eur(1999), ()), EarnLine(eur(99), ()), EarnLine(eur(1000), ())]
    assert earn_points(lines, rule=EarnRule(), channel="web", tier=None) == 19 + 0 + 10


def test_earn_in_zero_decimal_currency() -> None:
    lines = [EarnLine(Money(1500, "JPY"), ())]
    assert earn_points(lines, rule=EarnRule(), channel="web", tier=None) == 1500


def test_earn_channel_multiplier() -> None:
    lines = [EarnLine(eur(1999), ())]
    assert earn_points(lines, rule=RULE, channel="store-1", tier=None) == 28  # 19 * 1.5 = 28.5
    assert earn_points(lines, rule=RULE, channel="marketplace", tier=None) == 9  # 9.5
    assert earn_points(lines, rule=RULE, channel="web", tier=None) == 19  # default 100 %


def test_earn_tier_multiplier() -> None:
    lines = [EarnLine(eur(1000), ())]
    assert earn_points(lines, rule=RULE, channel="web", tier="gold") == 20
    assert earn_points(lines, rule=RULE, channel="web", tier="silver") == 12  # 12.5
    assert earn_points(lines, rule=RULE, channel="web", tier="bronze") == 10  # unknown: 100 %


def test_earn_category_bonus_takes_the_largest_category_of_a_line() -> None:
    lines = [EarnLine(eur(1000), (7,)), EarnLine(eur(1000), (7, 8)), EarnLine(eur(1000), (99,))]
    assert earn_points(lines, rule=RULE, channel="web", tier=None) == 11 + 15 + 10


def test_earn_campaign_bonus_adds_to_category_bonus() -> None:
    rule = EarnRule(category_bonus={7: 10}, campaign_bonus_percent=100)
    lines = [EarnLine(eur(1000), (7,)), EarnLine(eur(1000), ())]
    assert earn_points(lines, rule=rule, channel="web", tier=None) == 21 + 20


def test_earn_multipliers_combine_and_floor_once_per_line() -> None:
    rule = EarnRule(
        points_per_unit=2,
        channel_multipliers={"store-1": 150},
        tier_multipliers={"gold": 125},
        category_bonus={7: 10},
        campaign_bonus_percent=5,
    )
    # 33 units * 2 * 1.5 * 1.25 * 1.15 = 142.3125 -> 142; a second line floors on its own
    lines = [EarnLine(eur(3350), (7,)), EarnLine(eur(150), ())]
    assert earn_points(lines, rule=rule, channel="store-1", tier="gold") == 142 + 3  # 3.9375


def test_earn_ignores_free_and_negative_lines_and_rejects_mixed_currencies() -> None:
    assert (
        earn_points([EarnLine(eur(0)), EarnLine(eur(-500))], rule=RULE, channel="web", tier=None)
        == 0
    )
    assert earn_points([], rule=RULE, channel="web", tier=None) == 0
    with pytest.raises(ValueError, match="currency"):
        earn_points(
            [EarnLine(eur(100)), EarnLine(Money(100, "JPY"))], rule=RULE, channel="web", tier=None
        )


def test_earn_rule_rejects_negative_rates() -> None:
    with pytest.raises(ValueError):
        EarnRule(points_per_unit=-1)
    with pytest.raises(ValueError):
        EarnRule(channel_multipliers={"web": -10})
    with pytest.raises(ValueError):
        EarnRule(lot_lifetime_days=0)


@given(
    amounts=st.lists(st.integers(min_value=-1_000, max_value=10**7), max_size=6),
    channel=st.sampled_from(["web", "store-1", "marketplace"]),
    tier=st.sampled_from([None, "gold", "silver"]),
    categories=st.lists(st.sampled_from([7, 8, 9]), max_size=3),
    campaign=st.integers(min_value=0, max_value=300),
)
def test_earn_is_the_sum_of_independently_floored_lines(
    amounts: list[int], channel: str, tier: str | None, categories: list[int], campaign: int
) -> None:
    rule = EarnRule(
        channel_multipliers=RULE.channel_multipliers,
        tier_multipliers=RULE.tier_multipliers,
        category_bonus=RULE.category_bonus,
        campaign_bonus_percent=campaign,
    )
    lines = [EarnLine(eur(a), tuple(categories)) for a in amounts]
    total = earn_points(lines, rule=rule, channel=channel, tier=tier)
    assert total == sum(earn_points([ln], rule=rule, channel=channel, tier=tier) for ln in lines)
    assert total >= 0
    plain = sum(max(a, 0) // 100 for a in amounts)
    assert earn_points(lines, rule=EarnRule(), channel=channel, tier=tier) == plain
    # more bonus never earns less
    richer = EarnRule(
        channel_multipliers=rule.channel_multipliers,
        tier_multipliers=rule.tier_multipliers,
        category_bonus=rule.category_bonus,
        campaign_bonus_percent=campaign + 10,
    )
    assert earn_points(lines, rule=richer, channel=channel, tier=tier) >= total


def test_new_lot_expires_after_the_lifetime() -> None:
    made = new_lot(lot_id=5, points=40, earned_at=NOW, rule=EarnRule(lot_lifetime_days=30))
    assert made == Lot(5, 40, 40, NOW, days(30))
    with pytest.raises(DomainError) as exc:
        new_lot(lot_id=5, points=0, earned_at=NOW, rule=EarnRule())
    assert code_of(exc) == PointsErrorCode.INVALID_POINTS


def test_adjustment_needs_points_and_a_reason() -> None:
    assert validate_adjustment(-20, reason="  goodwill  ") == "goodwill"
    with pytest.raises(DomainError) as exc:
        validate_adjustment(10, reason="  ")
    assert code_of(exc) == PointsErrorCode.REASON_REQUIRED
    assert exc.value.field == "reason"
    with pytest.raises(DomainError) as exc:
        validate_adjustment(0, reason="x")
    assert code_of(exc) == PointsErrorCode.INVALID_POINTS


# -- balance, burning, expiry -------------------------------------------------------------------


def test_lot_invariants() -> None:
    with pytest.raises(ValueError):
        lot(1, 10, left=11)
    with pytest.raises(ValueError):
        lot(1, 10, left=-1)
    with pytest.raises(ValueError):
        lot(1, 0)


def test_balance_counts_only_live_lots_and_expiry_is_exclusive() -> None:
    lots = [lot(1, 100, expires=5), lot(2, 50, expires=None, left=30), lot(3, 20, expires=0)]
    assert balance(lots, at=days(-1)) == 150
    assert balance(lots, at=NOW) == 130  # lot 3 expires exactly now
    assert balance(lots, at=days(5)) == 30


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        balance([], at=datetime(2025, 1, 1))


def test_plan_burn_takes_oldest_expiring_first() -> None:
    lots = [
        lot(1, 100, expires=None, earned=-300),
        lot(2, 100, expires=60),
        lot(3, 100, expires=30),
        lot(4, 100, expires=-1),  # expired
    ]
    assert plan_burn(lots, points=150, at=NOW) == (Consumption(3, 100), Consumption(2, 50))
    assert plan_burn(lots, points=250, at=NOW) == (
        Consumption(3, 100),
        Consumption(2, 100),
        Consumption(1, 50),
    )


def test_plan_burn_ties_break_on_earned_at_then_id() -> None:
    lots = [
        lot(9, 10, earned=-5, expires=30),
        lot(3, 10, earned=-5, expires=30),
        lot(4, 10, earned=-9, expires=30),
    ]
    assert plan_burn(lots, points=25, at=NOW) == (
        Consumption(4, 10),
        Consumption(3, 10),
        Consumption(9, 5),
    )


def test_plan_burn_skips_empty_lots_and_refuses_bad_requests() -> None:
    lots = [lot(1, 100, expires=10, left=0), lot(2, 100, expires=20, left=40)]
    assert plan_burn(lots, points=40, at=NOW) == (Consumption(2, 40),)
    with pytest.raises(DomainError) as exc:
        plan_burn(lots, points=41, at=NOW)
    assert code_of(exc) == PointsErrorCode.INSUFFICIENT_POINTS
    assert exc.value.field == "points"
    for bad in (0, -5):
        with pytest.raises(DomainError) as exc:
            plan_burn(lots, points=bad, at=NOW)
        assert code_of(exc) == PointsErrorCode.INVALID_POINTS


def test_expire_takes_the_remaining_of_lots_whose_time_has_come() -> None:
    lots = [
        lot(1, 100, expires=0, left=60),
        lot(2, 100, expires=-3, left=0),
        lot(3, 100, expires=1),
    ]
    assert expire(lots, at=NOW) == (Consumption(1, 60),)
    assert expire(lots, at=days(1)) == (Consumption(1, 60), Consumption(3, 100))
    assert balance(apply_consumptions(lots, expire(lots, at=NOW)), at=NOW) == 100


def test_reversal_takes_only_what_is_left() -> None:
    lots = [
        lot(1, 100, expires=30, left=20),
        lot(2, 50, expires=60, left=10),
        lot(3, 80, expires=-1),
    ]
    taken = reversal_consumption(lots, points=100, at=NOW)
    assert taken == (Consumption(1, 20), Consumption(2, 10))
    assert 100 - sum(c.points for c in taken) == 70  # the shortfall the caller records
    assert reversal_consumption(lots, points=15, at=NOW) == (Consumption(1, 15),)
    assert reversal_consumption(lots, points=0, at=NOW) == ()
    with pytest.raises(DomainError) as exc:
        reversal_consumption(lots, points=-1, at=NOW)
    assert code_of(exc) == PointsErrorCode.INVALID_POINTS


def test_apply_consumptions_refuses_over_consumption_and_unknown_lots() -> None:
    lots = [lot(1, 10)]
    assert apply_consumptions(lots, [Consumption(1, 4), Consumption(1, 6)])[0].remaining == 0
    with pytest.raises(ValueError):
        apply_consumptions(lots, [Consumption(1, 11)])
    with pytest.raises(ValueError):
        apply_consumptions(lots, [Consumption(2, 1)])


@given(lots=lot_lists(), at=instants)
def test_balance_is_never_negative_and_sums_live_remaining(lots: list[Lot], at: datetime) -> None:
    value = balance(lots, at=at)
    assert value >= 0
    assert value == sum(x.remaining for x in lots if x.expires_at is None or x.expires_at > at)


@given(lots=lot_lists(), at=instants, points=st.integers(min_value=1, max_value=5_000))
def test_plan_burn_consumes_exactly_and_never_from_expired_lots(
    lots: list[Lot], at: datetime, points: int
) -> None:
    available = balance(lots, at=at)
    if points > available:
        with pytest.raises(DomainError) as exc:
            plan_burn(lots, points=points, at=at)
        assert code_of(exc) == PointsErrorCode.INSUFFICIENT_POINTS
        return
    plan = plan_burn(lots, points=points, at=at)
    assert sum(c.points for c in plan) == points
    by_id = {x.id: x for x in lots}
    assert len({c.lot_id for c in plan}) == len(plan)
    for c in plan:
        assert by_id[c.lot_id].is_live(at)
        assert 0 < c.points <= by_id[c.lot_id].remaining
    after = apply_consumptions(lots, plan)
    assert balance(after, at=at) == available - points
    # lots fully drained before the last one touched: every consumption but the last empties it
    assert all(c.points == by_id[c.lot_id].remaining for c in plan[:-1])


@given(lots=lot_lists(), at=instants, points=st.integers(min_value=1, max_value=5_000))
def test_a_burn_followed_by_its_reversal_restores_the_balance(
    lots: list[Lot], at: datetime, points: int
) -> None:
    before = balance(lots, at=at)
    assume(0 < points <= before)
    after = apply_consumptions(lots, plan_burn(lots, points=points, at=at))
    given_back = new_lot(lot_id=1_000, points=points, earned_at=at, rule=EarnRule())
    assert balance([*after, given_back], at=at) == before


@given(lots=lot_lists(), at=instants, points=st.integers(min_value=0, max_value=5_000))
def test_reversal_never_drives_the_balance_negative(
    lots: list[Lot], at: datetime, points: int
) -> None:
    before = balance(lots, at=at)
    taken = reversal_consumption(lots, points=points, at=at)
    assert sum(c.points for c in taken) == min(points, before)
    assert balance(apply_consumptions(lots, taken), at=at) == max(before - points, 0)


@given(lots=lot_lists(), at=instants)
def test_expire_takes_exactly_the_dead_remaining(lots: list[Lot], at: datetime) -> None:
    gone = expire(lots, at=at)
    after = apply_consumptions(lots, gone)
    assert balance(after, at=at) == balance(lots, at=at)
    assert all(x.remaining == 0 for x in after if not x.is_live(at))


# -- redemption ---------------------------------------------------------------------------------

REDEEM = RedemptionRule()


def test_redemption_value_100_points_is_one_unit() -> None:
    assert redemption_value(100, rule=REDEEM, currency="EUR") == eur(100)
    assert redemption_value(1_234, rule=REDEEM, currency="EUR") == eur(1_234)
    assert redemption_value(100, rule=REDEEM, currency="JPY") == Money(1, "JPY")
    assert redemption_value(199, rule=REDEEM, currency="JPY") == Money(1, "JPY")  # floor
    assert redemption_value(100, rule=REDEEM, currency="KWD") == Money(1_000, "KWD")
    assert redemption_value(0, rule=REDEEM, currency="EUR") == eur(0)
    assert redemption_value(
        5, rule=RedemptionRule(points_per_currency_unit=10), currency="EUR"
    ) == eur(50)
    with pytest.raises(DomainError):
        redemption_value(-1, rule=REDEEM, currency="EUR")


def test_redemption_cap_is_half_of_the_order() -> None:
    total = eur(5_000)  # 50.00 EUR: at most 25.00 EUR = 2 500 points
    assert check_redemption(2_500, order_total=total, available=10_000, rule=REDEEM) == eur(2_500)
    with pytest.raises(DomainError) as exc:
        check_redemption(2_501, order_total=total, available=10_000, rule=REDEEM)
    assert code_of(exc) == PointsErrorCode.POINTS_CAP_EXCEEDED
    assert "2500" in exc.value.message
    assert max_redeemable(order_total=total, available=10_000, rule=REDEEM) == 2_500
    assert max_redeemable(order_total=total, available=700, rule=REDEEM) == 700


def test_redemption_cap_in_jpy() -> None:
    total = Money(1_999, "JPY")  # cap 999 JPY = 99 900 points
    assert max_redeemable(order_total=total, available=10**6, rule=REDEEM) == 99_900
    assert check_redemption(99_900, order_total=total, available=10**6, rule=REDEEM) == Money(
        999, "JPY"
    )


def test_check_redemption_refusals() -> None:
    total = eur(10_000)
    with pytest.raises(DomainError) as exc:
        check_redemption(0, order_total=total, available=100, rule=REDEEM)
    assert code_of(exc) == PointsErrorCode.INVALID_POINTS
    with pytest.raises(DomainError) as exc:
        check_redemption(101, order_total=total, available=100, rule=REDEEM)
    assert code_of(exc) == PointsErrorCode.INSUFFICIENT_POINTS
    minimum = RedemptionRule(minimum_points=500)
    with pytest.raises(DomainError) as exc:
        check_redemption(499, order_total=total, available=1_000, rule=minimum)
    assert code_of(exc) == PointsErrorCode.INVALID_POINTS
    assert "500" in exc.value.message
    assert max_redeemable(order_total=total, available=499, rule=minimum) == 0
    assert max_redeemable(order_total=eur(999), available=10_000, rule=minimum) == 0  # cap 499


def test_redemption_rule_invariants() -> None:
    with pytest.raises(ValueError):
        RedemptionRule(points_per_currency_unit=0)
    with pytest.raises(ValueError):
        RedemptionRule(max_share_percent=101)


@given(
    total=st.integers(min_value=0, max_value=10**7),
    available=st.integers(min_value=0, max_value=10**7),
    currency=st.sampled_from(["EUR", "JPY", "KWD"]),
    per_unit=st.sampled_from([1, 10, 100, 250]),
    share=st.integers(min_value=0, max_value=100),
    minimum=st.integers(min_value=0, max_value=1_000),
)
def test_max_redeemable_is_the_largest_accepted_amount(
    total: int, available: int, currency: str, per_unit: int, share: int, minimum: int
) -> None:
    rule = RedemptionRule(per_unit, share, minimum)
    order_total = Money(total, currency)
    best = max_redeemable(order_total=order_total, available=available, rule=rule)
    assert 0 <= best <= available
    if best > 0:
        value = check_redemption(best, order_total=order_total, available=available, rule=rule)
        assert value.amount * 100 <= total * share
    with pytest.raises(DomainError):
        check_redemption(best + 1, order_total=order_total, available=available, rule=rule)


# -- returns ------------------------------------------------------------------------------------


def test_partial_returns_in_several_parts_reverse_exactly_the_whole() -> None:
    earned, burned, total = 101, 333, eur(10_000)
    done_earn = done_burn = returned = 0
    steps = []
    for part in (3_333, 3_333, 3_334):
        returned += part
        earn, burn = reverse_for_return(
            earned=earned,
            burned=burned,
            order_total=total,
            returned_value=eur(returned),
            already_reversed_earn=done_earn,
            already_returned_burn=done_burn,
        )
        steps.append((earn, burn))
        done_earn += earn
        done_burn += burn
    assert steps == [(33, 110), (34, 111), (34, 112)]
    assert (done_earn, done_burn) == (earned, burned)


def test_return_edges() -> None:
    def call(returned: int, total: int = 1_000) -> tuple[int, int]:
        return reverse_for_return(
            earned=50,
            burned=20,
            order_total=eur(total),
            returned_value=eur(returned),
            already_reversed_earn=0,
            already_returned_burn=0,
        )

    assert call(0) == (0, 0)
    assert call(5_000) == (50, 20)  # more than the total counts as the total
    assert call(0, total=0) == (50, 20)  # nothing to share: everything goes
    with pytest.raises(ValueError):
        reverse_for_return(
            earned=1,
            burned=1,
            order_total=eur(100),
            returned_value=Money(100, "JPY"),
            already_reversed_earn=0,
            already_returned_burn=0,
        )


@given(
    split=return_splits(),
    earned=st.integers(min_value=0, max_value=100_000),
    burned=st.integers(min_value=0, max_value=100_000),
)
def test_proportional_reversals_add_up_to_everything(
    split: tuple[int, list[int]], earned: int, burned: int
) -> None:
    total, parts = split
    done_earn = done_burn = returned = 0
    for part in parts:
        returned += part
        earn, burn = reverse_for_return(
            earned=earned,
            burned=burned,
            order_total=eur(total),
            returned_value=eur(returned),
            already_reversed_earn=done_earn,
            already_returned_burn=done_burn,
        )
        assert earn >= 0 and burn >= 0
        # never more than the share returned so far
        assert (done_earn + earn) * total <= earned * returned
        assert (done_burn + burn) * total <= burned * returned
        done_earn += earn
        done_burn += burn
    assert (done_earn, done_burn) == (earned, burned)
