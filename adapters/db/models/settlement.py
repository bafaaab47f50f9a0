"""Stores and clerks credited for online sales: attribution codes and their scans, members bound
to a store and a clerk, each order's attributions, commission rules and entries, franchisees and
their stores, wholesale prices, statements and their lines, clerks' clienteling tasks."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Franchisee(Model):
    """A dealer owning one or more stores of the brand (its locations: ``FranchiseLocation``)."""

    id = fields.IntField(primary_key=True)
    handle = fields.CharField(max_length=100, unique=True)
    name = fields.CharField(max_length=200)
    contact = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "franchisee"


class FranchiseLocation(Model):
    """A location owned by a franchisee (a location without a row is company-owned)."""

    id = fields.IntField(primary_key=True)
    location_id = fields.IntField(unique=True)
    franchisee_id = fields.IntField(db_index=True)

    class Meta:
        table = "franchise_location"


class WholesalePrice(Model):
    """What the brand charges a franchisee per unit of a variant transferred to its stores."""

    id = fields.IntField(primary_key=True)
    variant_id = fields.IntField()
    currency = fields.CharField(max_length=3)
    amount = fields.BigIntField()

    class Meta:
        table = "wholesale_price"
        unique_together = (("variant_id", "currency"),)


class AttributionCode(Model):
    """A code behind a QR: a store's, a clerk's, a campaign's or a partner venue's."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=40, unique=True)
    kind = fields.CharField(max_length=12)  # STORE CLERK CAMPAIGN VENUE
    name = fields.CharField(max_length=200, default="")
    location_id = fields.IntField(null=True, db_index=True)
    staff_id = fields.IntField(null=True, db_index=True)
    landing_path = fields.CharField(max_length=300, default="/")
    active = fields.BooleanField(default=True)
    created_by = fields.CharField(max_length=120, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attribution_code"


class AttributionScan(Model):
    """One scan of a code: who (a member, or an anonymous visitor's id) and when."""

    id = fields.BigIntField(primary_key=True)
    code_id = fields.IntField()
    member_id = fields.IntField(null=True)
    visitor = fields.CharField(max_length=64, null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "attribution_scan"
        indexes = (("code_id", "at"), ("member_id", "at"), ("visitor", "at"))


class BindingPolicy(Model):
    """The binding and attribution rules, as data (one row): how long a binding lasts, when a
    clerk serving the member at the till takes it over, the last-touch window of campaigns."""

    id = fields.IntField(primary_key=True)
    bind_days = fields.IntField(default=365)
    takeover_after_days = fields.IntField(default=90)
    last_touch_days = fields.IntField(default=30)
    bind_on_scan = fields.BooleanField(default=True)
    bind_on_signup = fields.BooleanField(default=True)
    bind_at_till = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "binding_policy"


class MemberBinding(Model):
    """The store and clerk a member is bound to, since when, until when, and why."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(unique=True)
    location_id = fields.IntField(null=True, db_index=True)
    staff_id = fields.IntField(null=True, db_index=True)
    source = fields.CharField(max_length=12)  # SCAN SIGNUP TILL MANUAL
    code_id = fields.IntField(null=True)
    rule = fields.CharField(max_length=300, default="")
    bound_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "member_binding"


class OrderAttribution(Model):
    """Who an order is credited to, in which role, and the rule that said so."""

    id = fields.BigIntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    role = fields.CharField(max_length=20)
    location_id = fields.IntField(null=True, db_index=True)
    staff_id = fields.IntField(null=True, db_index=True)
    code_id = fields.IntField(null=True)
    franchisee_id = fields.IntField(null=True)
    rule = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "order_attribution"


class CommissionRule(Model):
    """A commission for a role, optionally narrowed to a channel kind, a channel and a
    category: a percentage (basis points) of the net paid amount, or a fixed amount per line."""

    id = fields.IntField(primary_key=True)
    role = fields.CharField(max_length=20)
    channel_kind = fields.CharField(max_length=16, null=True)
    channel_handle = fields.CharField(max_length=100, null=True)
    category_id = fields.IntField(null=True)
    percent_bp = fields.IntField(null=True)
    fixed_amount = fields.BigIntField(null=True)
    currency = fields.CharField(max_length=3, null=True)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "commission_rule"


class CommissionEntry(Model):
    """Money owed to (or, negative, taken back from) a beneficiary for one order line: accrued
    when the order completes, reversed in proportion on returns, in the period it happened."""

    id = fields.BigIntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    order_line_id = fields.IntField(null=True)
    role = fields.CharField(max_length=20)
    beneficiary_kind = fields.CharField(max_length=12)  # STAFF LOCATION VENUE FRANCHISEE
    beneficiary_id = fields.IntField()
    rule_id = fields.IntField(null=True)
    kind = fields.CharField(max_length=10)  # ACCRUAL REVERSAL
    base_amount = fields.BigIntField()  # the net paid amount it is computed on
    amount = fields.BigIntField()  # signed, minor units
    currency = fields.CharField(max_length=3)
    return_id = fields.IntField(null=True)
    period = fields.CharField(max_length=7, db_index=True)  # YYYY-MM
    at = fields.DatetimeField()
    statement_id = fields.IntField(null=True, db_index=True)

    class Meta:
        table = "commission_entry"
        indexes = (("beneficiary_kind", "beneficiary_id", "period"),)


class Statement(Model):
    """What one beneficiary is owed for one period: DRAFT, then APPROVED (locked), then PAID."""

    id = fields.IntField(primary_key=True)
    beneficiary_kind = fields.CharField(max_length=12)
    beneficiary_id = fields.IntField()
    period = fields.CharField(max_length=7)
    currency = fields.CharField(max_length=3)
    state = fields.CharField(max_length=10, default="DRAFT")
    total = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    approved_at = fields.DatetimeField(null=True)
    approved_by = fields.CharField(max_length=120, null=True)
    paid_at = fields.DatetimeField(null=True)
    paid_reference = fields.CharField(max_length=120, null=True)

    class Meta:
        table = "statement"
        unique_together = (("beneficiary_kind", "beneficiary_id", "period", "currency"),)


class StatementLine(Model):
    """One line of a statement, traced to its order (or transfer) and commission entry."""

    id = fields.BigIntField(primary_key=True)
    statement_id = fields.IntField(db_index=True)
    kind = fields.CharField(max_length=20)  # COMMISSION TILL_SALES FULFILLED WHOLESALE ...
    entry_id = fields.BigIntField(null=True)
    order_id = fields.IntField(null=True)
    movement_id = fields.BigIntField(null=True)
    description = fields.CharField(max_length=300, default="")
    amount = fields.BigIntField()  # signed: what the brand owes the beneficiary (+) or back (-)

    class Meta:
        table = "statement_line"


class ClientelingTask(Model):
    """A clerk's task for one member on one day (churn risk, birthday, back in stock)."""

    id = fields.BigIntField(primary_key=True)
    staff_id = fields.IntField()
    member_id = fields.IntField()
    kind = fields.CharField(max_length=16)
    reason = fields.CharField(max_length=300, default="")
    day = fields.DateField()
    state = fields.CharField(max_length=10, default="OPEN")  # OPEN DONE SKIPPED
    action = fields.CharField(max_length=12, null=True)  # VOUCHER MESSAGE CALL
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "clienteling_task"
        unique_together = (("staff_id", "member_id", "kind", "day"),)
        indexes = (("staff_id", "day", "state"),)
