"""Sales channels and stock locations."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from domain.errors import DomainError
from domain.inventory.model import AllocationRule


class ChannelErrorCode(StrEnum):
    """Stable codes of channel and location userErrors."""

    UNKNOWN_CHANNEL = "UNKNOWN_CHANNEL"
    UNKNOWN_LOCATION = "UNKNOWN_LOCATION"
    INVALID_COORDINATES = "INVALID_COORDINATES"
    INVALID_RADIUS = "INVALID_RADIUS"


class ChannelKind(StrEnum):
    """Where a sale happens."""

    WEB = "WEB"
    APP = "APP"
    STORE = "STORE"
    MARKETPLACE = "MARKETPLACE"


class LocationKind(StrEnum):
    """Where stock physically is."""

    WAREHOUSE = "WAREHOUSE"
    STORE = "STORE"


@dataclass(frozen=True, slots=True)
class Location:
    """A warehouse or a store."""

    id: int
    handle: str
    name: str
    kind: LocationKind
    address: dict[str, object]  # a postal address document, shown as JSON
    latitude: float | None
    longitude: float | None
    opening_hours: list[dict[str, object]]  # [{"day", "opens", "closes"}]
    pickup_enabled: bool
    local_delivery_radius_km: float | None
    active: bool = True

    @property
    def coordinates(self) -> tuple[float, float] | None:
        if self.latitude is None or self.longitude is None:
            return None
        return (self.latitude, self.longitude)


@dataclass(frozen=True, slots=True)
class Channel:
    """A sales channel with its currency, its stock policy and the locations that serve it."""

    id: int
    handle: str
    name: str
    kind: ChannelKind
    currency: str
    store_location_id: int | None
    rule: AllocationRule
    location_ids: tuple[int, ...] = field(default_factory=tuple)
    prices_include_tax: bool = True
    tax_rate_bp: int = 0
    shipping_fee: int = 490  # minor units
    free_shipping_over: int | None = None
    local_delivery_fee: int = 290


@dataclass(slots=True)
class LocationDraft:
    """Editable fields of a location; None on update means 'leave as is'."""

    handle: str | None = None
    name: str | None = None
    kind: str | None = None
    address: dict[str, object] | None = None
    latitude: float | None = None
    longitude: float | None = None
    opening_hours: list[dict[str, object]] | None = None
    pickup_enabled: bool | None = None
    local_delivery_radius_km: float | None = None
    active: bool | None = None


@dataclass(slots=True)
class ChannelDraft:
    """Editable fields of a channel; None on update means 'leave as is'."""

    handle: str | None = None
    name: str | None = None
    kind: str | None = None
    currency: str | None = None
    store_location_id: int | None = None
    share_percent: int | None = None
    buffer: int | None = None
    location_ids: list[int] | None = None
    prices_include_tax: bool | None = None
    tax_rate_bp: int | None = None
    shipping_fee: int | None = None
    free_shipping_over: int | None = None
    local_delivery_fee: int | None = None


def check_coordinates(latitude: float, longitude: float, *, field_name: str = "near") -> None:
    """Refuse coordinates outside the globe."""
    if not (-90.0 <= latitude <= 90.0) or not (-180.0 <= longitude <= 180.0):
        raise DomainError(
            ChannelErrorCode.INVALID_COORDINATES,
            "latitude is -90..90 and longitude -180..180",
            field=field_name,
        )


def check_radius(radius_km: float | None) -> None:
    """Refuse a negative or absurd search radius."""
    if radius_km is not None and not (0 < radius_km <= 1000):
        raise DomainError(
            ChannelErrorCode.INVALID_RADIUS, "radiusKm is between 0 and 1000", field="radiusKm"
        )
