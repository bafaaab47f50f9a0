"""The performance reports' rollup: each scope's completed orders per month and member, kept
current by the order events (adapters/db/report_rollup.py) and rebuilt by `app.py reports
rebuild`."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ReportMemberMonth(Model):
    """The completed orders of one member (0: the guests together) in one month (brand time zone)
    and one scope (BRAND with id 0, CHANNEL, STORE, CLERK) and currency: the scope's own sales
    and the online orders it influenced."""

    id = fields.BigIntField(primary_key=True)
    scope_kind = fields.CharField(max_length=8)
    scope_id = fields.IntField()
    month = fields.CharField(max_length=7)
    currency = fields.CharField(max_length=3)
    member_id = fields.IntField()
    orders = fields.IntField(default=0)
    net = fields.BigIntField(default=0)
    influenced_orders = fields.IntField(default=0)
    influenced_net = fields.BigIntField(default=0)

    class Meta:
        table = "report_member_month"
        unique_together = (("scope_kind", "scope_id", "month", "currency", "member_id"),)


class ReportOrder(Model):
    """What one order adds to the rollup now (``parts``: [kind, id, orders, net, influenced
    orders, influenced net] per scope), so that applying an order again adds only the
    difference: events are applied any number of times, in any order."""

    order_id = fields.IntField(primary_key=True)
    month = fields.CharField(max_length=7)
    currency = fields.CharField(max_length=3)
    member_id = fields.IntField()
    parts = fields.JSONField(default=list)

    class Meta:
        table = "report_order"


class ReportRollupState(Model):
    """Set by a rebuild: the time zone of the months of the rollup. Reports read the rollup
    only when this row exists and its zone is theirs."""

    id = fields.IntField(primary_key=True)
    timezone = fields.CharField(max_length=64)
    rebuilt_at = fields.DatetimeField()

    class Meta:
        table = "report_rollup_state"
