"""Channel and location use cases: where stock is, where sales happen, who serves whom."""

from __future__ import annotations

from domain.catalog.model import check_handle, check_title
from domain.channels.model import (
    Channel,
    ChannelDraft,
    ChannelErrorCode,
    ChannelKind,
    Location,
    LocationDraft,
    LocationKind,
    check_coordinates,
)
from domain.errors import DomainError, NotFound
from domain.identity.model import Principal, Role
from domain.inventory.model import AllocationRule
from domain.ports import UnitOfWorkFactory

_DAYS = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"}


def _check_hours(hours: list[dict[str, object]]) -> None:
    for entry in hours:
        day, opens, closes = entry.get("day"), entry.get("opens"), entry.get("closes")
        if day not in _DAYS or not isinstance(opens, str) or not isinstance(closes, str):
            raise DomainError(
                "INVALID",
                'hours are [{"day": "MON", "opens": "10:00", "closes": "19:00"}]',
                field="openingHours",
            )
        if not (len(opens) == len(closes) == 5 and opens < closes):
            raise DomainError("INVALID", "opens before closes, as HH:MM", field="openingHours")


def check_location(draft: LocationDraft, *, creating: bool) -> None:
    """Refuse a location draft that breaks a rule."""
    if creating and (draft.handle is None or draft.name is None or draft.kind is None):
        raise DomainError("REQUIRED", "handle, name and kind are required", field="handle")
    if draft.handle is not None:
        check_handle(draft.handle)
    if draft.name is not None:
        draft.name = check_title(draft.name, field_name="name")
    if draft.kind is not None and draft.kind.upper() not in LocationKind.__members__:
        raise DomainError("INVALID", "kind is WAREHOUSE or STORE", field="kind")
    if (draft.latitude is None) != (draft.longitude is None):
        raise DomainError(
            ChannelErrorCode.INVALID_COORDINATES,
            "give latitude and longitude together",
            field="latitude",
        )
    if draft.latitude is not None and draft.longitude is not None:
        check_coordinates(draft.latitude, draft.longitude, field_name="latitude")
    radius = draft.local_delivery_radius_km
    if radius is not None and not 0 < radius <= 200:
        raise DomainError(
            ChannelErrorCode.INVALID_RADIUS, "0 to 200 km", field="localDeliveryRadiusKm"
        )
    if draft.opening_hours is not None:
        _check_hours(draft.opening_hours)


async def save_location(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    location_id: int | None,
    draft: LocationDraft,
) -> Location:
    """Create a location (``location_id`` None) or change the given fields of one."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    check_location(draft, creating=location_id is None)
    async with uow_factory() as uow:
        if location_id is not None and await uow.locations.location(location_id) is None:
            raise NotFound("location", field="id")
        if draft.handle is not None and await uow.locations.location_handle_taken(
            draft.handle, exclude_id=location_id
        ):
            raise DomainError("DUPLICATE_HANDLE", "handle is taken", field="handle")
        location = await uow.locations.save_location(location_id, draft)
        uow.touched.add("stock")
        return location


async def save_channel(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    channel_id: int | None,
    draft: ChannelDraft,
) -> Channel:
    """Create a channel or change it: currency, stock rule, the locations that serve it."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    if channel_id is None and (draft.handle is None or draft.name is None or draft.kind is None):
        raise DomainError("REQUIRED", "handle, name and kind are required", field="handle")
    if draft.handle is not None:
        check_handle(draft.handle)
    if draft.kind is not None and draft.kind.upper() not in ChannelKind.__members__:
        raise DomainError("INVALID", "kind is WEB, APP, STORE or MARKETPLACE", field="kind")
    currency = draft.currency
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        raise DomainError("INVALID", "an ISO 4217 code such as EUR", field="currency")
    if draft.tax_rate_bp is not None and not 0 <= draft.tax_rate_bp <= 10_000:
        raise DomainError("INVALID", "0 to 10000 basis points", field="taxRateBp")
    for name in ("shipping_fee", "free_shipping_over", "local_delivery_fee"):
        value = getattr(draft, name)
        if value is not None and value < 0:
            raise DomainError("INVALID", "fees are 0 or more", field=name)
    if draft.share_percent is not None or draft.buffer is not None:
        AllocationRule(share_percent=draft.share_percent or 100, buffer=draft.buffer or 0)
    async with uow_factory() as uow:
        if channel_id is not None and await uow.locations.channel_by_id(channel_id) is None:
            raise NotFound("channel", field="id")
        if channel_id is None and draft.currency is None:
            raise DomainError("REQUIRED", "a currency is required", field="currency")
        if draft.handle is not None and await uow.locations.channel_handle_taken(
            draft.handle, exclude_id=channel_id
        ):
            raise DomainError("DUPLICATE_HANDLE", "handle is taken", field="handle")
        for location_id in [*(draft.location_ids or []), draft.store_location_id]:
            if location_id is not None and await uow.locations.location(location_id) is None:
                raise NotFound(f"location {location_id}", field="locationIds")
        channel = await uow.locations.save_channel(channel_id, draft)
        uow.touched.add("stock")
        return channel
