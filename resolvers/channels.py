"""Resolvers of channels and locations: the storefront reads and the admin mutations."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.channels import services as svc
from domain.channels.model import ChannelDraft, LocationDraft, check_coordinates, check_radius
from domain.inventory.model import distance_km
from resolvers.context import Context
from resolvers.inputs import decimal_money, json_shape
from schema.channels.types import (
    Channel,
    ChannelInput,
    ChannelPayload,
    GeoCoordinateInput,
    Location,
    LocationDistance,
    LocationInput,
    LocationPayload,
)
from schema.relay import expect_id


async def channels(info: Info[Context, None]) -> list[Channel]:
    """Every sales channel."""
    every = await info.context.loaders.channels.get()
    return [Channel(_channel=c) for c in every.values()]


async def channel(info: Info[Context, None], handle: str) -> Channel:
    """One channel by handle; UNKNOWN_CHANNEL when there is none."""
    return Channel(_channel=await info.context.channel(handle, field_name="handle"))


async def locations(
    info: Info[Context, None],
    near: GeoCoordinateInput | None = None,
    radius_km: float | None = None,
    kind: str | None = None,
    first: int = 50,
) -> list[LocationDistance]:
    """Active locations, of a kind, within a radius, nearest first when `near` is given."""
    check_radius(radius_km)
    if near is not None:
        check_coordinates(near.latitude, near.longitude)
    info.context.check_first(first)
    result = []
    for loc in (await info.context.locations()).values():
        if not loc.active or (kind and loc.kind != kind.upper()):
            continue
        dist = None
        if near is not None and loc.coordinates is not None:
            dist = distance_km((near.latitude, near.longitude), loc.coordinates)
        if radius_km is not None and (dist is None or dist > radius_km):
            continue
        result.append(LocationDistance(location=Location(_location=loc), distance_km=dist))
    result.sort(key=lambda x: (x.distance_km is None, x.distance_km or 0.0))
    return result[:first]


def _location_draft(data: LocationInput) -> LocationDraft:
    return LocationDraft(
        handle=data.handle,
        name=data.name,
        kind=data.kind,
        address=json_shape(data.address, dict, field="address"),
        latitude=data.latitude,
        longitude=data.longitude,
        opening_hours=json_shape(data.opening_hours, list, field="openingHours"),
        pickup_enabled=data.pick_up_enabled,
        local_delivery_radius_km=data.local_delivery_radius_km,
        active=data.active,
    )


def _minor(value: str | None, currency: str | None, field: str) -> int | None:
    if value is None:
        return None
    return decimal_money(value, currency or "EUR", field=field, example="4.90").amount


def _channel_draft(data: ChannelInput) -> ChannelDraft:
    currency = data.currency_code
    return ChannelDraft(
        prices_include_tax=data.prices_include_tax,
        tax_rate_bp=data.tax_rate_bp,
        shipping_fee=_minor(data.shipping_fee, currency, "shippingFee"),
        free_shipping_over=_minor(data.free_shipping_over, currency, "freeShippingOver"),
        local_delivery_fee=_minor(data.local_delivery_fee, currency, "localDeliveryFee"),
        handle=data.handle,
        name=data.name,
        kind=data.kind,
        currency=data.currency_code,
        store_location_id=expect_id(data.store_location_id, "Location", field="storeLocationId")
        if data.store_location_id
        else None,
        share_percent=data.allocation_share_percent,
        buffer=data.allocation_buffer,
        location_ids=[expect_id(i, "Location", field="locationIds") for i in data.location_ids]
        if data.location_ids is not None
        else None,
    )


async def _save_location(
    info: Info[Context, None], location_id: int | None, data: LocationInput
) -> LocationPayload:
    ctx = info.context
    location = await svc.save_location(
        ctx.services.uow, ctx.principal, location_id=location_id, draft=_location_draft(data)
    )
    return LocationPayload(location=Location(_location=location), user_errors=[])


async def _save_channel(
    info: Info[Context, None], channel_id: int | None, data: ChannelInput
) -> ChannelPayload:
    ctx = info.context
    channel = await svc.save_channel(
        ctx.services.uow, ctx.principal, channel_id=channel_id, draft=_channel_draft(data)
    )
    return ChannelPayload(channel=Channel(_channel=channel), user_errors=[])


async def location_create(info: Info[Context, None], input: LocationInput) -> LocationPayload:
    """Staff: a new warehouse or store."""
    return await _save_location(info, None, input)


async def location_update(
    info: Info[Context, None], id: strawberry.ID, input: LocationInput
) -> LocationPayload:
    """Staff: edit a location."""
    return await _save_location(info, expect_id(id, "Location"), input)


async def channel_create(info: Info[Context, None], input: ChannelInput) -> ChannelPayload:
    """Staff: a new sales channel."""
    return await _save_channel(info, None, input)


async def channel_update(
    info: Info[Context, None], id: strawberry.ID, input: ChannelInput
) -> ChannelPayload:
    """Staff: edit a sales channel."""
    return await _save_channel(info, expect_id(id, "Channel"), input)
