"""Admin mutations for locations (warehouses, stores) and channels."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.channels import services as svc
from domain.errors import DomainError
from domain.money import Money
from resolvers.context import Context
from schema.catalog import Channel, Location
from schema.common import UserError
from schema.errors import authenticated
from schema.relay import expect_id

JSON = strawberry.scalars.JSON


@strawberry.input
class LocationInput:
    handle: str | None = None
    name: str | None = None
    kind: str | None = strawberry.field(default=None, description="WAREHOUSE or STORE")
    address: JSON | None = None
    latitude: float | None = None
    longitude: float | None = None
    opening_hours: JSON | None = strawberry.field(
        default=None, description='[{"day": "MON", "opens": "10:00", "closes": "19:00"}]'
    )
    pick_up_enabled: bool | None = None
    local_delivery_radius_km: float | None = None
    active: bool | None = None


@strawberry.input
class ChannelInput:
    handle: str | None = None
    name: str | None = None
    kind: str | None = strawberry.field(default=None, description="WEB, APP, STORE, MARKETPLACE")
    currency_code: str | None = None
    store_location_id: strawberry.ID | None = None
    allocation_share_percent: int | None = None
    allocation_buffer: int | None = None
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The locations whose stock this channel sells (replaces)."
    )
    prices_include_tax: bool | None = None
    tax_rate_bp: int | None = strawberry.field(default=None, description="2000 = 20 %")
    shipping_fee: str | None = strawberry.field(default=None, description="Decimal, e.g. 4.90")
    free_shipping_over: str | None = None
    local_delivery_fee: str | None = None


@strawberry.type
class LocationPayload:
    location: Location | None
    user_errors: list[UserError]


@strawberry.type
class ChannelPayload:
    channel: Channel | None
    user_errors: list[UserError]


def _location_draft(data: LocationInput) -> svc.LocationDraft:
    if data.address is not None and not isinstance(data.address, dict):
        raise DomainError("INVALID", "address is an object", field="address")
    if data.opening_hours is not None and not isinstance(data.opening_hours, list):
        raise DomainError("INVALID", "openingHours is a list", field="openingHours")
    return svc.LocationDraft(
        handle=data.handle,
        name=data.name,
        kind=data.kind,
        address=data.address,
        latitude=data.latitude,
        longitude=data.longitude,
        opening_hours=data.opening_hours,
        pickup_enabled=data.pick_up_enabled,
        local_delivery_radius_km=data.local_delivery_radius_km,
        active=data.active,
    )


def _minor(value: str | None, currency: str | None, field: str) -> int | None:
    if value is None:
        return None
    try:
        return Money.from_decimal_string(value, (currency or "EUR").upper()).amount
    except (ValueError, ArithmeticError):
        raise DomainError("INVALID", "a decimal amount such as 4.90", field=field) from None


def _channel_draft(data: ChannelInput) -> svc.ChannelDraft:
    currency = data.currency_code
    return svc.ChannelDraft(
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
    info: Info[Context, None], id: strawberry.ID | None, input: LocationInput
) -> LocationPayload:
    ctx = info.context
    try:
        location = await svc.save_location(
            ctx.services.uow,
            ctx.principal,
            location_id=expect_id(id, "Location") if id is not None else None,
            draft=_location_draft(input),
        )
    except DomainError as error:
        return LocationPayload(location=None, user_errors=[UserError.of(error)])
    return LocationPayload(location=Location(_location=location), user_errors=[])


async def _save_channel(
    info: Info[Context, None], id: strawberry.ID | None, input: ChannelInput
) -> ChannelPayload:
    ctx = info.context
    try:
        channel = await svc.save_channel(
            ctx.services.uow,
            ctx.principal,
            channel_id=expect_id(id, "Channel") if id is not None else None,
            draft=_channel_draft(input),
        )
    except DomainError as error:
        return ChannelPayload(channel=None, user_errors=[UserError.of(error)])
    return ChannelPayload(channel=Channel(_channel=channel), user_errors=[])


@strawberry.type
class ChannelMutation:
    @strawberry.mutation(extensions=[authenticated()])
    async def location_create(
        self, info: Info[Context, None], input: LocationInput
    ) -> LocationPayload:
        return await _save_location(info, None, input)

    @strawberry.mutation(extensions=[authenticated()])
    async def location_update(
        self, info: Info[Context, None], id: strawberry.ID, input: LocationInput
    ) -> LocationPayload:
        return await _save_location(info, id, input)

    @strawberry.mutation(extensions=[authenticated()])
    async def channel_create(
        self, info: Info[Context, None], input: ChannelInput
    ) -> ChannelPayload:
        return await _save_channel(info, None, input)

    @strawberry.mutation(extensions=[authenticated()])
    async def channel_update(
        self, info: Info[Context, None], id: strawberry.ID, input: ChannelInput
    ) -> ChannelPayload:
        return await _save_channel(info, id, input)
