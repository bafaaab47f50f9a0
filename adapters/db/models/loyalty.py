"""Points lots, the points ledger, tier history and the programme's rules."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class PointsLot(Model):
    """Points that can be spent: created by an earn (or a positive adjustment, or points given
    back after a return), consumed oldest-expiring first."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    points = fields.IntField()
    remaining = fields.IntField()
    earned_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)
    order_id = fields.IntField(null=True)

    class Meta:
        table = "points_lot"


class PointsEntry(Model):
    """The append-only points ledger, from which the balance is derived."""

    id = fields.BigIntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    kind = fields.CharField(max_length=16)
    points = fields.IntField()  # signed
    balance_after = fields.IntField()
    order_id = fields.IntField(null=True, db_index=True)
    lot_id = fields.IntField(null=True)
    dedupe_key = fields.CharField(max_length=80, unique=True, null=True)
    reason = fields.CharField(max_length=255, default="")
    actor = fields.CharField(max_length=120, default="")
    meta = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "points_entry"


class TierChange(Model):
    """Tier history of a member."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    from_tier = fields.CharField(max_length=32)
    to_tier = fields.CharField(max_length=32)
    spend_12m = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tier_change"


class LoyaltyProgram(Model):
    """The brand's points rules as data: earning and redemption (one row)."""

    id = fields.IntField(primary_key=True)
    earn = fields.JSONField(default=dict)
    redeem = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "loyalty_program"
