"""Types of sales channels and stock locations: Channel, Location, their inputs and payloads."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.channels.model import Channel as DChannel
from domain.channels.model import Location as DLocation
from domain.settlement.model import Franchisee as DFranchisee
from resolvers.context import Context
from schema.common import UserError
from schema.relay import Node, to_global_id

JSON = strawberry.scalars.JSON


@strawberry.input(description="A point on Earth.")
class GeoCoordinateInput:
    latitude: float
    longitude: float


@strawberry.type(description="A warehouse or a store.")
class Location(Node):
    _location: strawberry.Private[DLocation]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Location", self._location.id))

    @strawberry.field
    def handle(self) -> str:
        return self._location.handle

    @strawberry.field
    def name(self) -> str:
        return self._location.name

    @strawberry.field(description="WAREHOUSE or STORE.")
    def kind(self) -> str:
        return self._location.kind.value

    @strawberry.field
    def address(self) -> JSON:
        return self._location.address

    @strawberry.field
    def latitude(self) -> float | None:
        return self._location.latitude

    @strawberry.field
    def longitude(self) -> float | None:
        return self._location.longitude

    @strawberry.field(description="Weekly hours: [{day, opens, closes}].")
    def opening_hours(self) -> JSON:
        return self._location.opening_hours

    @strawberry.field
    def pick_up_enabled(self) -> bool:
        return self._location.pickup_enabled

    @strawberry.field
    def local_delivery_radius_km(self) -> float | None:
        return self._location.local_delivery_radius_km

    @strawberry.field(description="The franchisee owning the store; null: company-owned.")
    async def franchisee(self, info: Info[Context, None]) -> Franchisee | None:
        owner = await info.context.franchisee_of(self._location.id)
        return Franchisee(_franchisee=owner) if owner else None


@strawberry.type(description="A dealer owning one or more stores of the brand.")
class Franchisee:
    _franchisee: strawberry.Private[DFranchisee]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Franchisee", self._franchisee.id))

    @strawberry.field
    def handle(self) -> str:
        return self._franchisee.handle

    @strawberry.field
    def name(self) -> str:
        return self._franchisee.name

    @strawberry.field(description="Its stores.")
    async def locations(self, info: Info[Context, None]) -> list[Location]:
        every = await info.context.locations()
        return [Location(_location=every[i]) for i in self._franchisee.location_ids if i in every]


@strawberry.type
class LocationDistance:
    location: Location
    distance_km: float | None


@strawberry.type(description="A sales channel: web, app, a store or a marketplace account.")
class Channel(Node):
    _channel: strawberry.Private[DChannel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Channel", self._channel.id))

    @strawberry.field
    def handle(self) -> str:
        return self._channel.handle

    @strawberry.field
    def name(self) -> str:
        return self._channel.name

    @strawberry.field
    def kind(self) -> str:
        return self._channel.kind.value

    @strawberry.field
    def currency_code(self) -> str:
        return self._channel.currency

    @strawberry.field(description="Percent of its locations' stock that the channel may sell.")
    def allocation_share_percent(self) -> int:
        return self._channel.rule.share_percent

    @strawberry.field(description="Units held back from the channel.")
    def allocation_buffer(self) -> int:
        return self._channel.rule.buffer

    @strawberry.field
    async def locations(self, info: Info[Context, None]) -> list[Location]:
        locations = await info.context.locations()
        return [Location(_location=locations[i]) for i in self._channel.location_ids]


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
    location: Location | None = None
    user_errors: list[UserError]


@strawberry.type
class ChannelPayload:
    channel: Channel | None = None
    user_errors: list[UserError]
