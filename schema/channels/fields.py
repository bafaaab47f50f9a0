"""Channel and location fields of the Query and Mutation roots."""

from __future__ import annotations

import strawberry

from resolvers import channels as resolve
from schema.channels.types import Channel, ChannelPayload, LocationDistance, LocationPayload
from schema.errors import authenticated


@strawberry.type
class ChannelQuery:
    channels: list[Channel] = strawberry.field(resolver=resolve.channels)
    channel: Channel = strawberry.field(resolver=resolve.channel)
    locations: list[LocationDistance] = strawberry.field(
        resolver=resolve.locations,
        description="Locations, nearest first when `near` is given.",
    )


@strawberry.type
class ChannelMutation:
    location_create: LocationPayload = strawberry.mutation(
        resolver=resolve.location_create, extensions=[authenticated()]
    )
    location_update: LocationPayload = strawberry.mutation(
        resolver=resolve.location_update, extensions=[authenticated()]
    )
    channel_create: ChannelPayload = strawberry.mutation(
        resolver=resolve.channel_create, extensions=[authenticated()]
    )
    channel_update: ChannelPayload = strawberry.mutation(
        resolver=resolve.channel_update, extensions=[authenticated()]
    )
