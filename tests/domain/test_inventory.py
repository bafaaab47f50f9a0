import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.errors import CommonErrorCode, DomainError
from domain.inventory.model import (
    AllocationRule,
    Coordinates,
    InventoryErrorCode,
    MovementKind,
    StockLevel,
    apply_adjustment,
    apply_set,
    available_to_sell,
    distance_km,
    plan_transfer,
)

quantities = st.integers(min_value=0, max_value=1_000)


@st.composite
def levels(draw: st.DrawFn, location_id: int | None = None) -> StockLevel:
    loc = draw(st.integers(min_value=1, max_value=6)) if location_id is None else location_id
    return StockLevel(loc, draw(quantities), draw(quantities), draw(st.integers(0, 50)))


level_lists = st.lists(levels(), max_size=8)
allocation_rules = st.builds(
    AllocationRule, share_percent=st.integers(0, 100), buffer=st.integers(0, 200)
)
servings = st.one_of(st.none(), st.frozensets(st.integers(1, 6)))


# -- availability -------------------------------------------------------------------------------


@given(ls=level_lists, rule=allocation_rules, serving=servings)
def test_available_to_sell_is_never_negative(
    ls: list[StockLevel], rule: AllocationRule, serving: frozenset[int] | None
) -> None:
    assert available_to_sell(ls, rule=rule, serving=serving) >= 0


@given(level=levels())
def test_level_available_is_never_negative(level: StockLevel) -> None:
    assert level.available >= 0
    assert level.available <= max(0, level.on_hand)


@given(
    ls=st.lists(levels(), min_size=1, max_size=8),
    index=st.integers(min_value=0),
    more=st.integers(min_value=1, max_value=500),
    rule=allocation_rules,
    serving=servings,
)
def test_available_to_sell_is_monotone_in_on_hand(
    ls: list[StockLevel],
    index: int,
    more: int,
    rule: AllocationRule,
    serving: frozenset[int] | None,
) -> None:
    i = index % len(ls)
    bigger = [
        *ls[:i],
        StockLevel(ls[i].location_id, ls[i].on_hand + more, ls[i].reserved, ls[i].safety_stock),
        *ls[i + 1 :],
    ]
    before = available_to_sell(ls, rule=rule, serving=serving)
    assert available_to_sell(bigger, rule=rule, serving=serving) >= before


@given(ls=level_lists)
def test_full_share_without_buffer_is_the_sum(ls: list[StockLevel]) -> None:
    assert available_to_sell(ls, rule=AllocationRule()) == sum(level.available for level in ls)


@given(ls=level_lists, others=st.lists(levels(), max_size=5), rule=allocation_rules)
def test_serving_filter_excludes_other_locations(
    ls: list[StockLevel], others: list[StockLevel], rule: AllocationRule
) -> None:
    serving = {level.location_id for level in ls}
    outside = [
        StockLevel(o.location_id + 100, o.on_hand, o.reserved, o.safety_stock) for o in others
    ]
    assert available_to_sell([*ls, *outside], rule=rule, serving=serving) == available_to_sell(
        ls, rule=rule
    )


@given(ls=level_lists, rule=allocation_rules)
def test_share_and_buffer_only_take_away(ls: list[StockLevel], rule: AllocationRule) -> None:
    assert available_to_sell(ls, rule=rule) <= available_to_sell(ls, rule=AllocationRule())


def test_share_floors_then_buffer_subtracts() -> None:
    ls = [StockLevel(1, 10, 2, 1), StockLevel(2, 5, 0, 0), StockLevel(3, 1, 3, 0)]
    assert [level.available for level in ls] == [7, 5, 0]
    assert available_to_sell(ls, rule=AllocationRule(share_percent=50)) == 6  # floor(12 / 2)
    assert available_to_sell(ls, rule=AllocationRule(share_percent=30, buffer=2)) == 1  # 3 - 2
    assert available_to_sell(ls, rule=AllocationRule(buffer=20)) == 0
    assert available_to_sell(ls, rule=AllocationRule(), serving=[2, 3]) == 5
    assert available_to_sell(ls, rule=AllocationRule(), serving=[]) == 0


@pytest.mark.parametrize(
    ("share", "buffer", "field"),
    [(-1, 0, "sharePercent"), (101, 0, "sharePercent"), (50, -1, "buffer")],
)
def test_allocation_rule_bounds(share: int, buffer: int, field: str) -> None:
    with pytest.raises(DomainError) as caught:
        AllocationRule(share_percent=share, buffer=buffer)
    assert caught.value.code == CommonErrorCode.INVALID
    assert caught.value.field == field


# -- adjustments, counts, transfers -------------------------------------------------------------


@given(level=levels(), delta=st.integers(-2_000, 2_000))
def test_adjustment_moves_on_hand_by_delta_or_refuses(level: StockLevel, delta: int) -> None:
    if delta == 0:
        with pytest.raises(DomainError) as caught:
            apply_adjustment(level, delta=delta)
        assert caught.value.code == InventoryErrorCode.INVALID_QUANTITY
    elif level.on_hand + delta < 0:
        with pytest.raises(DomainError) as caught:
            apply_adjustment(level, delta=delta)
        assert caught.value.code == InventoryErrorCode.NEGATIVE_STOCK
    elif delta < 0 and level.on_hand + delta < level.reserved:
        with pytest.raises(DomainError) as caught:
            apply_adjustment(level, delta=delta)
        assert caught.value.code == InventoryErrorCode.BELOW_RESERVED
    else:
        after = apply_adjustment(level, delta=delta)
        assert after.on_hand == level.on_hand + delta
        assert (after.reserved, after.safety_stock, after.location_id) == (
            level.reserved,
            level.safety_stock,
            level.location_id,
        )


def test_adjustment_may_empty_the_location() -> None:
    assert apply_adjustment(StockLevel(1, 3, 0, 0), delta=-3).on_hand == 0


@given(level=levels(), quantity=quantities)
def test_set_returns_new_level_and_delta(level: StockLevel, quantity: int) -> None:
    for expected in (None, level.on_hand):
        if quantity < level.reserved and quantity < level.on_hand:
            with pytest.raises(DomainError) as caught:
                apply_set(level, quantity=quantity, expected=expected)
            assert caught.value.code == InventoryErrorCode.BELOW_RESERVED
            continue
        after, delta = apply_set(level, quantity=quantity, expected=expected)
        assert after.on_hand == quantity
        assert delta == quantity - level.on_hand


@given(level=levels(), quantity=quantities, expected=quantities)
def test_set_with_stale_expectation_is_refused(
    level: StockLevel, quantity: int, expected: int
) -> None:
    assume(expected != level.on_hand)
    with pytest.raises(DomainError) as caught:
        apply_set(level, quantity=quantity, expected=expected)
    assert caught.value.code == InventoryErrorCode.QUANTITY_MISMATCH
    assert str(level.on_hand) in caught.value.message


def test_set_refuses_negative_count() -> None:
    with pytest.raises(DomainError) as caught:
        apply_set(StockLevel(1, 5, 0, 0), quantity=-1, expected=None)
    assert caught.value.code == InventoryErrorCode.INVALID_QUANTITY


@given(source=levels(location_id=1), target=levels(location_id=2), quantity=st.integers(1, 1_200))
def test_transfer_conserves_stock(source: StockLevel, target: StockLevel, quantity: int) -> None:
    if quantity > source.available:
        with pytest.raises(DomainError) as caught:
            plan_transfer(source, target, quantity=quantity)
        assert caught.value.code == InventoryErrorCode.INSUFFICIENT_STOCK
        return
    new_source, new_target = plan_transfer(source, target, quantity=quantity)
    assert new_source.on_hand == source.on_hand - quantity
    assert new_target.on_hand == target.on_hand + quantity
    assert new_source.on_hand + new_target.on_hand == source.on_hand + target.on_hand
    assert new_source.reserved == source.reserved
    assert new_target.reserved == target.reserved


def test_transfer_cannot_move_reserved_units() -> None:
    source = StockLevel(1, on_hand=10, reserved=8, safety_stock=0)
    with pytest.raises(DomainError) as caught:
        plan_transfer(source, StockLevel(2, 0, 0, 0), quantity=3)
    assert caught.value.code == InventoryErrorCode.INSUFFICIENT_STOCK
    assert plan_transfer(source, StockLevel(2, 0, 0, 0), quantity=2)[0].on_hand == 8


@pytest.mark.parametrize(
    ("target", "quantity", "code"),
    [
        (StockLevel(2, 0, 0, 0), 0, InventoryErrorCode.INVALID_QUANTITY),
        (StockLevel(2, 0, 0, 0), -1, InventoryErrorCode.INVALID_QUANTITY),
        (StockLevel(1, 0, 0, 0), 1, InventoryErrorCode.SAME_LOCATION),
    ],
)
def test_transfer_refusals(target: StockLevel, quantity: int, code: InventoryErrorCode) -> None:
    with pytest.raises(DomainError) as caught:
        plan_transfer(StockLevel(1, 10, 0, 0), target, quantity=quantity)
    assert caught.value.code == code


def test_movement_kinds_fit_the_ledger_column() -> None:
    assert MovementKind.COUNT == "COUNT"
    assert all(len(kind.value) <= 16 for kind in MovementKind)


# -- geography ----------------------------------------------------------------------------------

latitudes = st.floats(-90, 90)
longitudes = st.floats(-180, 180)
points = st.tuples(latitudes, longitudes)


def test_distance_known_values() -> None:
    paris, london = (48.8566, 2.3522), (51.5074, -0.1278)
    assert distance_km(paris, london) == pytest.approx(343.5, abs=1.0)
    assert distance_km(paris, paris) == 0.0
    assert distance_km((0.0, 0.0), (0.0, 180.0)) == pytest.approx(math.pi * 6371.0088)
    assert distance_km((90.0, 0.0), (-90.0, 0.0)) == pytest.approx(math.pi * 6371.0088)


@given(a=points, b=points)
def test_distance_is_symmetric_and_bounded(a: tuple[float, float], b: tuple[float, float]) -> None:
    d = distance_km(a, b)
    assert 0.0 <= d <= math.pi * 6371.0088 + 1e-6
    assert d == pytest.approx(distance_km(b, a), abs=1e-6)


@given(lat=latitudes, lon=longitudes)
def test_valid_coordinates_pass(lat: float, lon: float) -> None:
    Coordinates(lat, lon).validate()


@pytest.mark.parametrize(
    "point",
    [(90.1, 0.0), (-91.0, 0.0), (0.0, 180.5), (0.0, -181.0), (math.nan, 0.0), (0.0, math.inf)],
)
def test_invalid_coordinates_rejected(point: tuple[float, float]) -> None:
    with pytest.raises(DomainError) as caught:
        Coordinates(*point).validate()
    assert caught.value.code == CommonErrorCode.INVALID
    assert caught.value.field == "near"
