"""Members, their tiers, sessions and verifications."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from adapters.db.models.base import Timestamped


class MemberTier(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    threshold_minor = fields.BigIntField(default=0)
    currency = fields.CharField(max_length=3, default="EUR")
    points_multiplier_pct = fields.IntField(default=100)

    class Meta:
        table = "member_tier"


class Member(Timestamped):
    """One identity across channels: normalised email and phone, a code scanned at the till."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True, null=True)
    phone = fields.CharField(max_length=20, unique=True, null=True)
    email_verified = fields.BooleanField(default=False)
    phone_verified = fields.BooleanField(default=False)
    name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=255)
    member_code = fields.CharField(max_length=20, unique=True)
    tier = fields.CharField(max_length=32, default="BRONZE")
    referral_location_id = fields.IntField(null=True)
    referral_staff_id = fields.IntField(null=True)
    tags = fields.JSONField(default=list)
    tags_text = fields.TextField(default=" ")  # " tag1 tag2 ": staff find members by tag
    addresses = fields.JSONField(default=list)
    consents = fields.JSONField(default=dict)
    active = fields.BooleanField(default=True)
    birthday = fields.DateField(null=True)  # clerks' birthday tasks (day and month are used)

    class Meta:
        table = "member"


class MemberSession(Model):
    """A refresh token (stored hashed), rotated on every use and revocable."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "member_session"


class Verification(Model):
    """A one-time token proving an email or phone belongs to a member (stored hashed)."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    channel = fields.CharField(max_length=8)  # EMAIL | PHONE
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "verification"
