"""Stock levels, availability to sell per channel, and the pure rules of stock movements.

A :class:`StockLevel` is one variant at one location: ``on_hand`` units physically there,
``reserved`` of them held for checkouts and orders, ``safety_stock`` never offered for sale.
What a channel may sell is the one function :func:`available_to_sell`: the sum of what the
locations serving the channel have available, cut to the channel's share and minus its buffer.

The ``apply_*`` and ``plan_*`` functions compute the next level (they never mutate, never touch
storage); the caller records each change as a movement of a :class:`MovementKind` in the ledger.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import NamedTuple

from domain.errors import CommonErrorCode, DomainError

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


class MovementKind(StrEnum):
    """Why stock changed; each change is one ledger movement of one kind."""

    RECEIPT = "RECEIPT"
    SALE = "SALE"
    RETURN = "RETURN"
    ADJUSTMENT = "ADJUSTMENT"
    TRANSFER_IN = "TRANSFER_IN"
    TRANSFER_OUT = "TRANSFER_OUT"
    COUNT = "COUNT"  # an absolute count replaced on_hand
    RESERVATION = "RESERVATION"
    RELEASE = "RELEASE"


class InventoryErrorCode(StrEnum):
    """Why a stock change was refused."""

    NEGATIVE_STOCK = "NEGATIVE_STOCK"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    QUANTITY_MISMATCH = "QUANTITY_MISMATCH"  # compare-and-set failed: someone counted first
    SAME_LOCATION = "SAME_LOCATION"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    REASON_REQUIRED = "REASON_REQUIRED"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    BELOW_RESERVED = "BELOW_RESERVED"  # on hand would fall under what orders hold


@dataclass(frozen=True, slots=True)
class StockLevel:
    """One variant's stock at one location."""

    location_id: int
    on_hand: int
    reserved: int
    safety_stock: int

    @property
    def available(self) -> int:
        """Units that can still be promised: on hand minus reserved minus safety stock, >= 0."""
        return max(0, self.on_hand - self.reserved - self.safety_stock)


@dataclass(frozen=True, slots=True)
class AllocationRule:
    """A channel's stock policy: the share of its locations' stock it sees, and a buffer."""

    share_percent: int = 100  # 0..100; the channel sees floor(total * share / 100)
    buffer: int = 0  # then this many units are held back (e.g. from a marketplace)

    def __post_init__(self) -> None:
        if not 0 <= self.share_percent <= 100:
            raise DomainError(
                CommonErrorCode.INVALID, "share must be between 0 and 100", field="sharePercent"
            )
        if self.buffer < 0:
            raise DomainError(CommonErrorCode.INVALID, "buffer cannot be negative", field="buffer")

    def sellable(self, total: int) -> int:
        """What the channel may sell of ``total`` available units at its locations, >= 0."""
        return max(0, total * self.share_percent // 100 - self.buffer)

    def minimum_total_for_one(self) -> int:
        """The smallest total stock at the serving locations that lets the channel sell one."""
        if self.share_percent == 0:
            return 2**31  # a 0 % share never sells
        # floor(t * share / 100) - buffer >= 1  <=>  t >= ceil((buffer + 1) * 100 / share)
        return -(-(self.buffer + 1) * 100 // self.share_percent)


def available_to_sell(
    levels: Iterable[StockLevel],
    *,
    rule: AllocationRule,
    serving: Collection[int] | None = None,
) -> int:
    """Units a channel may sell from the locations in ``serving`` (all when None), never < 0."""
    total = sum(
        level.available for level in levels if serving is None or level.location_id in serving
    )
    return rule.sellable(total)


def apply_adjustment(level: StockLevel, *, delta: int) -> StockLevel:
    """The level after adding ``delta`` to on hand; refuses zero and a negative result."""
    if delta == 0:
        raise DomainError(
            InventoryErrorCode.INVALID_QUANTITY, "an adjustment cannot be zero", field="delta"
        )
    if level.on_hand + delta < 0:
        raise DomainError(
            InventoryErrorCode.NEGATIVE_STOCK,
            f"only {level.on_hand} on hand; cannot remove {-delta}",
            field="delta",
        )
    return _keep_reserved(level, replace(level, on_hand=level.on_hand + delta), field="delta")


def _keep_reserved(before: StockLevel, after: StockLevel, *, field: str) -> StockLevel:
    """On hand never falls below reserved: the units orders hold must exist (a change that
    raises on hand is always taken, so a row that is short already can be mended)."""
    level = after
    if after.on_hand < after.reserved and after.on_hand < before.on_hand:
        raise DomainError(
            InventoryErrorCode.BELOW_RESERVED,
            f"{level.reserved} units here are held for orders: cancel or serve those orders "
            f"(or move their stock) before bringing on hand to {level.on_hand}",
            field=field,
        )
    return level


def apply_set(level: StockLevel, *, quantity: int, expected: int | None) -> tuple[StockLevel, int]:
    """Set on hand to a counted ``quantity`` if it still equals ``expected``; returns the delta."""
    if quantity < 0:
        raise DomainError(
            InventoryErrorCode.INVALID_QUANTITY, "a count cannot be negative", field="quantity"
        )
    if expected is not None and expected != level.on_hand:
        raise DomainError(
            InventoryErrorCode.QUANTITY_MISMATCH,
            f"expected {expected} on hand but the current quantity is {level.on_hand}",
            field="expected",
        )
    return _keep_reserved(level, replace(level, on_hand=quantity), field="quantity"), (
        quantity - level.on_hand
    )


def plan_transfer(
    source: StockLevel, target: StockLevel, *, quantity: int
) -> tuple[StockLevel, StockLevel]:
    """Both levels after moving ``quantity`` units that the source has available."""
    if quantity <= 0:
        raise DomainError(
            InventoryErrorCode.INVALID_QUANTITY,
            "a transfer needs a positive quantity",
            field="quantity",
        )
    if source.location_id == target.location_id:
        raise DomainError(
            InventoryErrorCode.SAME_LOCATION,
            "cannot transfer to the same location",
            field="toLocationId",
        )
    if source.available < quantity:
        # Reserved units are promised to orders and safety stock is held back: neither moves.
        raise DomainError(
            InventoryErrorCode.INSUFFICIENT_STOCK,
            f"only {source.available} available at the source; cannot move {quantity}",
            field="quantity",
        )
    return (
        replace(source, on_hand=source.on_hand - quantity),
        replace(target, on_hand=target.on_hand + quantity),
    )


class Coordinates(NamedTuple):
    """A point on Earth in degrees."""

    latitude: float
    longitude: float

    def validate(self) -> None:
        """Raise ``DomainError`` INVALID (field ``near``) unless both are real, in-range degrees."""
        lat_ok = math.isfinite(self.latitude) and -90.0 <= self.latitude <= 90.0
        lon_ok = math.isfinite(self.longitude) and -180.0 <= self.longitude <= 180.0
        if not (lat_ok and lon_ok):
            raise DomainError(
                CommonErrorCode.INVALID,
                "latitude must be within [-90, 90] and longitude within [-180, 180]",
                field="near",
            )


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance in km between two (latitude, longitude) points."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    # Rounding can push h a hair past 1 for antipodal points; asin would then fail.
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))
