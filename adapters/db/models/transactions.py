"""Rows a unit of work writes beside its work: idempotency records, change marks, outbox events."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class IdempotencyRecord(Model):
    """The first result of a mutation with money or stock effects, keyed by caller scope."""

    id = fields.IntField(primary_key=True)
    scope = fields.CharField(max_length=120)
    key = fields.CharField(max_length=255)
    request_hash = fields.CharField(max_length=64)
    response = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("scope", "key"),)


class ChangeLog(Model):
    """Append-only marks of committed catalog, price or stock changes.

    Processes without a shared Redis poll ``MAX(id)`` (at most once a second) to invalidate their
    response cache when another process (an import, a second server) changed what it shows.
    Inserts never contend with each other, unlike a single counter row would.
    """

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "change_log"


class OutboxEvent(Model):
    """Facts written in the same transaction as the change they describe, published later."""

    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=60, db_index=True)
    aggregate_id = fields.CharField(max_length=60)
    payload = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    published_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "outbox_event"
