"""Shoppers' carts and their lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from adapters.db.models.base import Timestamped

if TYPE_CHECKING:
    from adapters.db.models.channels import Channel


class Cart(Timestamped):
    """A shopper's cart, whose lines the domain reprices on every read."""

    id = fields.IntField(primary_key=True)
    token = fields.CharField(max_length=64, unique=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name="carts", on_delete=fields.RESTRICT
    )
    buyer = fields.JSONField(default=dict)  # {"email", "phone", "name"}
    delivery = fields.JSONField(default=dict)  # {"method", "locationId", "address"}
    discount_codes = fields.JSONField(default=list)
    expires_at = fields.DatetimeField()
    order_id = fields.IntField(null=True)
    member_id = fields.IntField(null=True, db_index=True)
    points_to_redeem = fields.IntField(default=0)

    class Meta:
        table = "cart"


class CartLine(Model):
    id = fields.IntField(primary_key=True)
    cart: fields.ForeignKeyRelation[Cart] = fields.ForeignKeyField(
        "models.Cart", related_name="lines", on_delete=fields.CASCADE
    )
    variant_id = fields.IntField()
    quantity = fields.IntField()
    position = fields.IntField(default=0)

    class Meta:
        table = "cart_line"
        unique_together = (("cart", "variant_id"),)
