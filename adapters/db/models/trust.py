"""Trust: the audit log of staff and partner mutations, value grants (points and vouchers given
by staff, pending an owner's approval above the caps), private messages to members (secrets the
notifier delivers, never in the outbox) and members' one-time presence codes for the till."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    """One staff or partner mutation: who, as what, which field, a summary, how it ended."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor = fields.CharField(max_length=120, db_index=True)
    role = fields.CharField(max_length=32, default="")
    field = fields.CharField(max_length=80)
    summary = fields.JSONField(default=dict)
    result = fields.CharField(max_length=64)  # OK or the userError code
    client = fields.CharField(max_length=64, default="")

    class Meta:
        table = "audit_log"


class ValueGrant(Model):
    """Points or a voucher given by staff: applied at once within the caps, else pending."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=8)  # POINTS | VOUCHER
    member_id = fields.IntField(db_index=True)
    requested_by = fields.CharField(max_length=120, db_index=True)
    points = fields.BigIntField(default=0)
    amount = fields.BigIntField(default=0)
    currency = fields.CharField(max_length=3, default="")
    reason = fields.CharField(max_length=500, default="")
    voucher_expires_at = fields.DatetimeField(null=True)
    status = fields.CharField(max_length=10, db_index=True)  # APPLIED PENDING APPROVED REJECTED
    decided_by = fields.CharField(max_length=120, null=True)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "value_grant"


class MemberMessage(Model):
    """A message with a secret for one member (a verification token): the notifier's queue,
    never the partner-facing event stream."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    channel = fields.CharField(max_length=8)  # EMAIL | PHONE
    to = fields.CharField(max_length=254)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "member_message"


class MemberPresence(Model):
    """A one-time code the member's app shows at the till (stored hashed, valid a minute)."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "member_presence"
