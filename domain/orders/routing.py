"""Routing: which location(s) fulfil an order, and why.

Rules, in order:
- pick-up goes to its store, which must hold every line;
- local delivery goes to the nearest store whose delivery radius covers the address and which
  holds every line;
- shipping prefers one location that holds every line — the nearest to the address when its
  coordinates are known, then the one with the deepest stock of the ordered variants — and
  splits only when no single location can, taking first the location that covers the most
  remaining units.
The decision carries a reason in words, stored on the order for staff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from domain.errors import DomainError
from domain.inventory.model import distance_km


class DeliveryMethod(StrEnum):
    """How the buyer receives the order."""

    SHIP = "SHIP"
    PICKUP = "PICKUP"
    LOCAL_DELIVERY = "LOCAL_DELIVERY"


class RoutingErrorCode(StrEnum):
    """Stable codes of routing failures."""

    OUT_OF_STOCK = "OUT_OF_STOCK"
    NOT_AVAILABLE_AT_STORE = "NOT_AVAILABLE_AT_STORE"
    NO_LOCAL_DELIVERY = "NO_LOCAL_DELIVERY"
    PICKUP_NOT_AVAILABLE = "PICKUP_NOT_AVAILABLE"


@dataclass(frozen=True, slots=True)
class Site:
    """A location that may fulfil: what it holds (available units per variant) and where it is."""

    location_id: int
    name: str
    is_store: bool
    coordinates: tuple[float, float] | None
    available: Mapping[int, int]
    pickup_enabled: bool = False
    local_delivery_radius_km: float | None = None

    def covers(self, wanted: Mapping[int, int]) -> bool:
        """Holds every wanted unit."""
        return all(self.available.get(v, 0) >= q for v, q in wanted.items())

    def depth(self, wanted: Mapping[int, int]) -> int:
        """Units held of the wanted variants (more is a safer choice)."""
        return sum(self.available.get(v, 0) for v in wanted)


@dataclass(frozen=True, slots=True)
class Allocation:
    """Units of one variant taken from one location."""

    location_id: int
    variant_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """Where the order is served from, and the reason in words."""

    allocations: tuple[Allocation, ...]
    reason: str
    split: bool = False
    location_ids: tuple[int, ...] = field(default_factory=tuple)


def _whole(site: Site, wanted: Mapping[int, int]) -> tuple[Allocation, ...]:
    return tuple(Allocation(site.location_id, v, q) for v, q in sorted(wanted.items()))


def _distance(site: Site, to: tuple[float, float] | None) -> float | None:
    if to is None or site.coordinates is None:
        return None
    return distance_km(site.coordinates, to)


def route(
    wanted: Mapping[int, int],
    *,
    method: DeliveryMethod,
    sites: Sequence[Site],
    pickup_location_id: int | None = None,
    destination: tuple[float, float] | None = None,
) -> RoutingDecision:
    """Choose the location(s) serving ``wanted`` (variant id → units) by the rules above."""
    wanted = {v: q for v, q in wanted.items() if q > 0}
    if method is DeliveryMethod.PICKUP:
        return _pickup(wanted, sites, pickup_location_id)
    if method is DeliveryMethod.LOCAL_DELIVERY:
        return _local(wanted, sites, destination)
    return _ship(wanted, sites, destination)


def _pickup(
    wanted: Mapping[int, int], sites: Sequence[Site], store_id: int | None
) -> RoutingDecision:
    store = next((s for s in sites if s.location_id == store_id), None)
    if store is None or not store.is_store or not store.pickup_enabled:
        raise DomainError(
            RoutingErrorCode.PICKUP_NOT_AVAILABLE,
            "this store does not offer pick-up",
            field="delivery.locationId",
        )
    if not store.covers(wanted):
        missing = sorted(v for v, q in wanted.items() if store.available.get(v, 0) < q)
        raise DomainError(
            RoutingErrorCode.NOT_AVAILABLE_AT_STORE,
            f"{store.name} does not hold every line (variants {missing})",
            field="delivery.locationId",
        )
    return RoutingDecision(
        _whole(store, wanted), f"pick-up at {store.name}", location_ids=(store.location_id,)
    )


def _local(
    wanted: Mapping[int, int], sites: Sequence[Site], destination: tuple[float, float] | None
) -> RoutingDecision:
    if destination is None:
        raise DomainError(
            RoutingErrorCode.NO_LOCAL_DELIVERY,
            "local delivery needs the address's coordinates",
            field="delivery.address",
        )
    in_reach = []
    for site in sites:
        d = _distance(site, destination)
        radius = site.local_delivery_radius_km
        if site.is_store and d is not None and radius is not None and d <= radius:
            in_reach.append((d, site))
    if not in_reach:
        raise DomainError(
            RoutingErrorCode.NO_LOCAL_DELIVERY,
            "no store delivers to this address",
            field="delivery.address",
        )
    for d, site in sorted(in_reach, key=lambda x: (x[0], x[1].location_id)):
        if site.covers(wanted):
            return RoutingDecision(
                _whole(site, wanted),
                f"local delivery from {site.name}, the nearest store in reach ({d:.1f} km) "
                "holding every line",
                location_ids=(site.location_id,),
            )
    raise DomainError(
        RoutingErrorCode.OUT_OF_STOCK, "no store in reach holds every line", field="lines"
    )


def _ship(
    wanted: Mapping[int, int], sites: Sequence[Site], destination: tuple[float, float] | None
) -> RoutingDecision:
    whole = [s for s in sites if s.covers(wanted)]
    if whole:

        def rank(site: Site) -> tuple[float, int, int]:
            d = _distance(site, destination)
            return (d if d is not None else float("inf"), -site.depth(wanted), site.location_id)

        best = min(whole, key=rank)
        d = _distance(best, destination)
        why = f"{best.name} holds every line"
        if len(whole) > 1:
            why += (
                f"; nearest of {len(whole)} such locations ({d:.1f} km)"
                if d is not None
                else (f"; deepest stock of {len(whole)} such locations")
            )
        return RoutingDecision(_whole(best, wanted), why, location_ids=(best.location_id,))
    return _split(wanted, sites, destination)


def _split(
    wanted: Mapping[int, int], sites: Sequence[Site], destination: tuple[float, float] | None
) -> RoutingDecision:
    remaining = dict(wanted)
    pool = {s.location_id: dict(s.available) for s in sites}
    allocations: list[Allocation] = []
    used: list[Site] = []
    while any(remaining.values()):

        def coverage(site: Site) -> tuple[int, float, int]:
            units = sum(min(pool[site.location_id].get(v, 0), q) for v, q in remaining.items())
            d = _distance(site, destination)
            return (units, -(d if d is not None else float("inf")), -site.location_id)

        best = max(sites, key=coverage)
        if coverage(best)[0] == 0:
            short = sorted(v for v, q in remaining.items() if q)
            raise DomainError(
                RoutingErrorCode.OUT_OF_STOCK,
                f"not enough stock for variants {short}",
                field="lines",
            )
        for variant_id, qty in list(remaining.items()):
            take = min(pool[best.location_id].get(variant_id, 0), qty)
            if take:
                allocations.append(Allocation(best.location_id, variant_id, take))
                pool[best.location_id][variant_id] -= take
                remaining[variant_id] -= take
        used.append(best)
    names = ", ".join(s.name for s in used)
    return RoutingDecision(
        tuple(allocations),
        f"no single location holds every line; split across {names}",
        split=True,
        location_ids=tuple(s.location_id for s in used),
    )
