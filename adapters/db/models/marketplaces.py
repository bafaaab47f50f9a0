"""Marketplace sync: what each marketplace channel should show per SKU and what it was last
told, the marketplace orders seen (imported or flagged), the calls owed to marketplaces, and
each account's import cursor."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class MarketplaceListing(Model):
    """One SKU on one marketplace channel, dirty when stock or price may have changed since the
    last push. Its ``version`` grows on each mark: a push clears only the mark it read."""

    id = fields.BigIntField(primary_key=True)
    channel_id = fields.IntField()
    variant_id = fields.IntField()
    sku = fields.CharField(max_length=64)
    dirty = fields.BooleanField(default=True)
    version = fields.BigIntField(default=1)
    changed_at = fields.DatetimeField(null=True)  # oldest change not pushed yet (lag)
    state = fields.CharField(max_length=12, default="PENDING")  # PENDING OK RETRYING REJECTED DEAD
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    leased_until = fields.DatetimeField(null=True)
    pushed_quantity = fields.IntField(null=True)
    pushed_price = fields.BigIntField(null=True)
    currency = fields.CharField(max_length=3, null=True)
    last_push_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=500, null=True)

    class Meta:
        table = "marketplace_listing"
        unique_together = (("channel_id", "variant_id"),)
        indexes = (("channel_id", "dirty", "next_attempt_at"), ("channel_id", "state"))


class MarketplaceOrder(Model):
    """A marketplace order seen by the import: linked to our order, or flagged when it could
    not be placed (stock sold elsewhere meanwhile, an unknown SKU), never dropped."""

    id = fields.BigIntField(primary_key=True)
    channel_id = fields.IntField()
    external_id = fields.CharField(max_length=120)
    order_id = fields.IntField(null=True, db_index=True)
    state = fields.CharField(max_length=12)  # IMPORTED FLAGGED CANCELLED
    flag_code = fields.CharField(max_length=32, null=True)
    flag_reason = fields.CharField(max_length=500, null=True)
    marketplace_status = fields.CharField(max_length=12)
    data = fields.JSONField()  # the marketplace order as pulled (domain MarketplaceOrder)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "marketplace_order"
        unique_together = (("channel_id", "external_id"),)


class MarketplaceAction(Model):
    """A call owed to a marketplace (acknowledge, ship, cancel, refund), made by the worker.
    Its ``key`` makes it once per cause (the outbox event or the refund that asked for it)."""

    id = fields.BigIntField(primary_key=True)
    channel_id = fields.IntField()
    key = fields.CharField(max_length=120, unique=True)
    kind = fields.CharField(max_length=12)  # ACKNOWLEDGE SHIP CANCEL REFUND
    external_id = fields.CharField(max_length=120)
    payload = fields.JSONField(default=dict)
    state = fields.CharField(max_length=12, default="PENDING")  # PENDING SENDING DONE DEAD
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "marketplace_action"
        indexes = (("state", "next_attempt_at"),)


class MarketplaceAccountState(Model):
    """Per marketplace channel: where the order import continues, and the last full push."""

    id = fields.IntField(primary_key=True)
    channel_id = fields.IntField(unique=True)
    orders_cursor = fields.DatetimeField(null=True)
    last_import_at = fields.DatetimeField(null=True)
    last_import_error = fields.CharField(max_length=500, null=True)
    last_full_push_at = fields.DatetimeField(null=True)

    class Meta:
        table = "marketplace_account"
