"""Staff accounts, partners and their API keys."""

from __future__ import annotations

from tortoise import fields

from adapters.db.models.base import Timestamped


class StaffUser(Timestamped):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=255, unique=True)
    name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharField(max_length=16)  # OWNER | ADMIN | STORE_MANAGER | CLERK
    location_ids = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)
    token_version = fields.IntField(default=0)

    class Meta:
        table = "staff_user"


class Partner(Timestamped):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)

    class Meta:
        table = "partner"


class ApiKey(Timestamped):
    id = fields.IntField(primary_key=True)
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "models.Partner", related_name="keys", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200, default="")
    prefix = fields.CharField(max_length=32, unique=True)
    secret_hash = fields.CharField(max_length=128)
    scopes = fields.JSONField(default=list)
    rate_limit_per_minute = fields.IntField(default=600)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
