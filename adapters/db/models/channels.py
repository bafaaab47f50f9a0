"""Where stock is and where sales happen: locations, channels and who serves whom."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from adapters.db.models.base import Timestamped


class Location(Timestamped):
    id = fields.IntField(primary_key=True)
    handle = fields.CharField(max_length=100, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16)  # WAREHOUSE | STORE
    address = fields.JSONField(default=dict)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    opening_hours = fields.JSONField(default=list)
    pickup_enabled = fields.BooleanField(default=False)
    local_delivery_radius_km = fields.FloatField(null=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "location"


class Channel(Timestamped):
    id = fields.IntField(primary_key=True)
    handle = fields.CharField(max_length=100, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16)  # WEB | APP | STORE | MARKETPLACE
    currency = fields.CharField(max_length=3)
    store: fields.ForeignKeyNullableRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="store_channels", null=True, on_delete=fields.RESTRICT
    )
    allocation_share_percent = fields.IntField(default=100)
    allocation_buffer = fields.IntField(default=0)
    prices_include_tax = fields.BooleanField(default=True)
    tax_rate_bp = fields.IntField(default=0)  # basis points, 2000 = 20%
    shipping_fee = fields.IntField(default=490)  # minor units of the channel's currency
    free_shipping_over = fields.IntField(null=True)
    local_delivery_fee = fields.IntField(default=290)

    class Meta:
        table = "channel"


class ChannelLocation(Model):
    id = fields.IntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name="serving", on_delete=fields.CASCADE
    )
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="serves", on_delete=fields.CASCADE
    )

    class Meta:
        table = "channel_location"
        unique_together = (("channel", "location"),)
