"""Routing rules: pick-up store, local delivery in reach, ship from one location, split last."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.orders.routing import DeliveryMethod, Site, route

PART_DIEU = (45.7606, 4.8590)
BELLECOUR = (45.7578, 4.8320)
WAREHOUSE = (45.6960, 4.9440)


def sites(wh: dict, pd: dict, bc: dict) -> list[Site]:
    return [
        Site(1, "Warehouse", False, WAREHOUSE, wh),
        Site(2, "Part-Dieu", True, PART_DIEU, pd, pickup_enabled=True, local_delivery_radius_km=5),
        Site(3, "Bellecour", True, BELLECOUR, bc, pickup_enabled=True),
    ]


def test_pickup_goes_to_its_store_or_says_what_is_missing():
    decision = route(
        {10: 1},
        method=DeliveryMethod.PICKUP,
        sites=sites({10: 9}, {10: 1}, {}),
        pickup_location_id=2,
    )
    assert decision.location_ids == (2,) and "Part-Dieu" in decision.reason
    with pytest.raises(DomainError) as error:
        route(
            {10: 2},
            method=DeliveryMethod.PICKUP,
            sites=sites({10: 9}, {10: 1}, {}),
            pickup_location_id=2,
        )
    assert error.value.code == "NOT_AVAILABLE_AT_STORE"


def test_ship_prefers_one_location_nearest_to_the_address():
    everyone = sites({10: 5, 11: 5}, {10: 1, 11: 1}, {10: 1, 11: 1})
    near_bellecour = (45.7570, 4.8300)
    decision = route(
        {10: 1, 11: 1}, method=DeliveryMethod.SHIP, sites=everyone, destination=near_bellecour
    )
    assert decision.location_ids == (3,) and not decision.split
    no_coordinates = route({10: 1, 11: 1}, method=DeliveryMethod.SHIP, sites=everyone)
    assert no_coordinates.location_ids == (1,)  # deepest stock


def test_ship_splits_only_when_no_single_location_can():
    decision = route({10: 2, 11: 1}, method=DeliveryMethod.SHIP, sites=sites({10: 2}, {11: 1}, {}))
    assert decision.split and set(decision.location_ids) == {1, 2}
    with pytest.raises(DomainError) as error:
        route({10: 3}, method=DeliveryMethod.SHIP, sites=sites({10: 2}, {}, {}))
    assert error.value.code == "OUT_OF_STOCK"


def test_local_delivery_needs_a_store_in_reach():
    near_part_dieu = (45.7610, 4.8600)
    decision = route(
        {10: 1},
        method=DeliveryMethod.LOCAL_DELIVERY,
        sites=sites({10: 9}, {10: 1}, {10: 5}),
        destination=near_part_dieu,
    )
    assert decision.location_ids == (2,)
    with pytest.raises(DomainError) as error:
        route(
            {10: 1},
            method=DeliveryMethod.LOCAL_DELIVERY,
            sites=sites({10: 9}, {10: 1}, {}),
            destination=(48.85, 2.35),
        )  # Paris
    assert error.value.code == "NO_LOCAL_DELIVERY"


stock = st.dictionaries(st.integers(1, 4), st.integers(0, 6), max_size=4)


@given(
    wh=stock,
    pd=stock,
    bc=stock,
    wanted=st.dictionaries(st.integers(1, 4), st.integers(1, 8), min_size=1, max_size=4),
)
def test_ship_allocations_are_exact_and_never_exceed_stock(wh, pd, bc, wanted):
    every = sites(wh, pd, bc)
    total = {v: sum(s.available.get(v, 0) for s in every) for v in wanted}
    if any(total[v] < q for v, q in wanted.items()):
        with pytest.raises(DomainError):
            route(wanted, method=DeliveryMethod.SHIP, sites=every)
        return
    decision = route(wanted, method=DeliveryMethod.SHIP, sites=every)
    got: dict[int, int] = {}
    for a in decision.allocations:
        got[a.variant_id] = got.get(a.variant_id, 0) + a.quantity
        site = next(s for s in every if s.location_id == a.location_id)
        assert a.quantity <= site.available.get(a.variant_id, 0)
    assert got == wanted
    if any(s.covers(wanted) for s in every):
        assert not decision.split
