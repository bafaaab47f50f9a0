"""Payments: one row per tender of an order, refunds per tender, till sessions, and the
provider events already applied (so each applies exactly once) and the webhooks refused."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from adapters.db.models.base import Timestamped


class Payment(Timestamped):
    """One tender of one order: card / Alipay / WeChat Pay online, cash or terminal at the
    till, points or a voucher in kind."""

    id = fields.IntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    tender = fields.CharField(max_length=16)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    state = fields.CharField(max_length=16, db_index=True)
    capture_method = fields.CharField(max_length=10, null=True)
    provider = fields.CharField(max_length=16, null=True)
    provider_ref = fields.CharField(max_length=255, null=True, unique=True)
    client_secret = fields.CharField(max_length=255, null=True)
    next_action = fields.JSONField(null=True)
    authorised = fields.BigIntField(default=0)
    captured = fields.BigIntField(default=0)
    refunded = fields.BigIntField(default=0)
    decline_code = fields.CharField(max_length=64, null=True)
    attempt = fields.IntField(default=0)
    location_id = fields.IntField(null=True)
    till_session_id = fields.IntField(null=True, db_index=True)
    cash_given = fields.BigIntField(default=0)

    class Meta:
        table = "payment"


class PaymentRefund(Timestamped):
    """Money owed back through one tender: PENDING until it went back, FAILED (retryable)."""

    id = fields.IntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    payment_id = fields.IntField(db_index=True)
    tender = fields.CharField(max_length=16)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    state = fields.CharField(max_length=10, db_index=True)
    reason = fields.CharField(max_length=500, default="")
    return_id = fields.IntField(null=True)
    provider_ref = fields.CharField(max_length=255, null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, null=True)
    location_id = fields.IntField(null=True)
    till_session_id = fields.IntField(null=True, db_index=True)

    class Meta:
        table = "payment_refund"


class TillSessionRow(Model):
    """A clerk's cash drawer: opened with a float, closed with a count."""

    id = fields.IntField(primary_key=True)
    location_id = fields.IntField(db_index=True)
    staff_subject = fields.CharField(max_length=120, db_index=True)
    opening_float = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    opened_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    counted = fields.BigIntField(null=True)
    expected = fields.BigIntField(null=True)

    class Meta:
        table = "till_session"


class ProviderEvent(Model):
    """A provider's webhook event, stored in the transaction that applied it: once only."""

    id = fields.IntField(primary_key=True)
    provider = fields.CharField(max_length=16)
    event_id = fields.CharField(max_length=255)
    event_type = fields.CharField(max_length=80)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "provider_event"
        unique_together = (("provider", "event_id"),)


class WebhookRefusal(Model):
    """Webhooks refused per provider, day and reason (forged, stale, replayed, malformed)."""

    id = fields.IntField(primary_key=True)
    provider = fields.CharField(max_length=16)
    day = fields.CharField(max_length=10)
    reason = fields.CharField(max_length=32)
    count = fields.IntField(default=0)

    class Meta:
        table = "webhook_refusal"
        unique_together = (("provider", "day", "reason"),)
