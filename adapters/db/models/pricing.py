"""Price rules of variants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields

from adapters.db.models.base import Timestamped

if TYPE_CHECKING:
    from adapters.db.models.catalog import Variant


class Price(Timestamped):
    """One price rule: base, channel override, tier price or scheduled sale."""

    id = fields.IntField(primary_key=True)
    variant: fields.ForeignKeyRelation[Variant] = fields.ForeignKeyField(
        "models.Variant", related_name="prices", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16)  # BASE | CHANNEL | TIER | SALE
    currency = fields.CharField(max_length=3)
    amount = fields.BigIntField()
    channel = fields.CharField(max_length=100, null=True)
    tier = fields.CharField(max_length=32, null=True)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)

    class Meta:
        table = "price"
        indexes = (("variant_id", "currency"),)
