"""Stock per variant and location, and the movement ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from adapters.db.models.base import Timestamped

if TYPE_CHECKING:
    from adapters.db.models.catalog import Variant
    from adapters.db.models.channels import Location


class Stock(Timestamped):
    id = fields.IntField(primary_key=True)
    variant: fields.ForeignKeyRelation[Variant] = fields.ForeignKeyField(
        "models.Variant", related_name="stocks", on_delete=fields.CASCADE
    )
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="stocks", on_delete=fields.CASCADE
    )
    on_hand = fields.IntField(default=0)
    reserved = fields.IntField(default=0)
    safety_stock = fields.IntField(default=0)

    class Meta:
        table = "stock"
        unique_together = (("variant", "location"),)


class StockMovement(Model):
    """Append-only ledger: every change of on-hand or reserved stock, with its reason."""

    id = fields.BigIntField(primary_key=True)
    variant_id = fields.IntField(db_index=True)
    location_id = fields.IntField(db_index=True)
    kind = fields.CharField(max_length=16)
    delta = fields.IntField()
    on_hand_after = fields.IntField()
    reason = fields.CharField(max_length=255, default="")
    actor = fields.CharField(max_length=120, default="")
    reference = fields.CharField(max_length=120, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stock_movement"
