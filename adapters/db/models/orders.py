"""Orders of every channel: lines, fulfilments, reservations, history, returns."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from adapters.db.models.base import Timestamped


class Order(Timestamped):
    """One order model for every channel: web, app, store till, marketplace, import."""

    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    channel_id = fields.IntField(db_index=True)
    channel_handle = fields.CharField(max_length=100)
    source = fields.CharField(max_length=16)
    external_reference = fields.CharField(max_length=120, null=True)
    status = fields.CharField(max_length=20, db_index=True)
    payment_status = fields.CharField(max_length=20)  # PARTIALLY_REFUNDED is 18
    currency = fields.CharField(max_length=3)
    subtotal = fields.BigIntField()
    delivery_total = fields.BigIntField()
    tax_total = fields.BigIntField()
    total = fields.BigIntField()
    refunded_total = fields.BigIntField(default=0)
    buyer = fields.JSONField(default=dict)
    member_id = fields.IntField(null=True)
    delivery = fields.JSONField(default=dict)
    routing = fields.JSONField(default=dict)  # {"reason", "split", "locations"}
    location_ids = fields.JSONField(default=list)  # locations serving it, for store filters
    attributed_location_id = fields.IntField(null=True)
    attributed_staff_id = fields.IntField(null=True)
    access_token = fields.CharField(max_length=64)  # lets a guest buyer read their order
    discount_total = fields.BigIntField(default=0)
    discounts = fields.JSONField(default=list)  # [{"promotionId", "lineId", "amount", "why"}]
    points_redeemed = fields.IntField(default=0)
    points_value = fields.BigIntField(default=0)  # paid with points, part of `total`
    points_earned = fields.IntField(default=0)
    payment_tender = fields.CharField(max_length=16, null=True)  # paid online: how

    class Meta:
        table = "order"


class OrderLine(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="lines", on_delete=fields.CASCADE
    )
    variant_id = fields.IntField()
    sku = fields.CharField(max_length=64)
    title = fields.CharField(max_length=512)
    quantity = fields.IntField()
    unit_price = fields.BigIntField()
    compare_at_price = fields.BigIntField(null=True)
    line_total = fields.BigIntField()
    discount = fields.BigIntField(default=0)  # promotions on this line, inside line_total
    returned_quantity = fields.IntField(default=0)

    class Meta:
        table = "order_line"


class Fulfilment(Timestamped):
    """The part of an order served from one location."""

    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="fulfilments", on_delete=fields.CASCADE
    )
    location_id = fields.IntField()
    method = fields.CharField(max_length=20)
    status = fields.CharField(max_length=20)
    lines = fields.JSONField(default=list)  # [{"variantId", "quantity"}]
    pickup_code = fields.CharField(max_length=12, null=True)
    carrier = fields.CharField(max_length=60, null=True)
    tracking_number = fields.CharField(max_length=120, null=True)

    class Meta:
        table = "fulfilment"


class Reservation(Model):
    """Stock held for an order at one location until it leaves, is cancelled or expires."""

    id = fields.IntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    variant_id = fields.IntField()
    location_id = fields.IntField()
    quantity = fields.IntField()
    status = fields.CharField(max_length=16, default="ACTIVE", db_index=True)
    expires_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reservation"


class OrderEvent(Model):
    """The order's history: who did what, when."""

    id = fields.BigIntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    kind = fields.CharField(max_length=40)
    actor = fields.CharField(max_length=120)
    data = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "order_event"


class OrderReturn(Model):
    """Returned lines, where they came back and the refund due."""

    id = fields.IntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    location_id = fields.IntField()
    lines = fields.JSONField(default=list)  # [{"orderLineId", "quantity"}]
    restock = fields.BooleanField(default=True)
    refund_due = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    actor = fields.CharField(max_length=120)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "order_return"
