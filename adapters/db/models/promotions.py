"""Promotions, their uses, and members' vouchers."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from adapters.db.models.base import Timestamped


class Promotion(Timestamped):
    """A promotion rule (its terms in `terms`), automatic or by code, with usage limits."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=20)
    terms = fields.JSONField(default=dict)
    code = fields.CharField(max_length=64, unique=True, null=True)
    usage_limit = fields.IntField(null=True)
    per_member_limit = fields.IntField(null=True)
    used_count = fields.IntField(default=0)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    exclusive = fields.BooleanField(default=False)
    priority = fields.IntField(default=0)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "promotion"


class PromotionUse(Model):
    """One use of a promotion by an order (for usage limits per code and per member)."""

    id = fields.IntField(primary_key=True)
    promotion_id = fields.IntField(db_index=True)
    order_id = fields.IntField()
    member_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "promotion_use"
        unique_together = (("promotion_id", "order_id"),)


class Voucher(Timestamped):
    """A single-use voucher owned by a member, transferable, usable online or at the till."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    member_id = fields.IntField(db_index=True)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharField(max_length=16, default="ACTIVE")  # ACTIVE | USED | EXPIRED
    issued_by = fields.CharField(max_length=120, default="")
    order_id = fields.IntField(null=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "voucher"
