"""Indexes for issue 13's reads on a year of orders, and one guarantee.

- Reports: orders by store, clerk, channel or brand over a period (on PostgreSQL the columns
  the reports sum are INCLUDEd: index-only scans once VACUUM has set the visibility map);
  attributions of one store or clerk, or of an order; commission entries by period or by
  beneficiary; members bound per store or clerk over time.
- Settlement: a month's franchise facts (order events by kind and time, stock movements and
  returns per location, fulfilments per location).
- Commissions: an order line accrues once per role and beneficiary: a partial unique index on
  the ACCRUAL entries (the order row lock already serialises completions: this makes it a
  database guarantee too).

The SQL lives here (not as model ``indexes``) because INCLUDE and partial indexes are dialect
features the model layer does not describe.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

INCLUDE = "INCLUDE (id, status, source, currency, total, refunded_total, member_id)"
INDEXES = (
    # name, table, columns, PostgreSQL INCLUDE (None: none)
    ("order_report_location", '"order"', "attributed_location_id, created_at", INCLUDE),
    ("order_report_staff", '"order"', "attributed_staff_id, created_at", INCLUDE),
    ("order_report_channel", '"order"', "channel_id, created_at", INCLUDE),
    ("order_report_created", '"order"', "created_at", INCLUDE[:-1] + ", channel_id)"),
    ("order_attribution_role_location", "order_attribution", "role, location_id, order_id", None),
    ("order_attribution_role_staff", "order_attribution", "role, staff_id, order_id", None),
    ("order_attribution_order_role", "order_attribution", "order_id, role", None),
    ("commission_entry_report", "commission_entry", "period, at",
     "INCLUDE (order_id, amount, currency)"),
    ("commission_entry_beneficiary_report", "commission_entry",
     "beneficiary_kind, beneficiary_id, period, at", "INCLUDE (amount, currency)"),
    ("member_binding_location_bound", "member_binding", "location_id, bound_at", None),
    ("member_binding_staff_bound", "member_binding", "staff_id, bound_at", None),
    ("order_event_kind_created", "order_event", "kind, created_at", None),
    ("stock_movement_location_created", "stock_movement", "location_id, created_at", None),
    ("order_return_location_created", "order_return", "location_id, created_at", None),
    ("fulfilment_location", "fulfilment", "location_id", None),
)  # fmt: skip
ONE_ACCRUAL = (
    "CREATE UNIQUE INDEX IF NOT EXISTS commission_entry_one_accrual ON commission_entry"
    " (order_id, order_line_id, role, beneficiary_kind, beneficiary_id) WHERE kind = 'ACCRUAL'"
)


def _forward(postgres: bool) -> str:
    statements = [
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})"
        + (f" {include}" if include and postgres else "")
        for name, table, columns, include in INDEXES
    ]
    if postgres:  # on SQLite the primary key serves it
        statements.append(
            'CREATE INDEX IF NOT EXISTS order_report_id ON "order" (id) INCLUDE (created_at,'
            " status, source, currency, total, refunded_total, member_id)"
        )
    statements.append(ONE_ACCRUAL)
    return ";\n".join(statements) + ";"


def _backward() -> str:
    names = [name for name, *_ in INDEXES] + ["order_report_id", "commission_entry_one_accrual"]
    return ";\n".join(f"DROP INDEX IF EXISTS {name}" for name in names) + ";"


async def _script(editor: Any, sql: str) -> None:
    if getattr(editor, "collect_sql", False):  # `sqlmigrate`: show, do not run
        editor.collected_sql.append(sql.strip())
    else:
        await editor.client.execute_script(sql)


async def create_indexes(apps: Any, editor: Any) -> None:
    await _script(editor, _forward(editor.client.capabilities.dialect == "postgres"))


async def drop_indexes(apps: Any, editor: Any) -> None:
    await _script(editor, _backward())


class Migration(migrations.Migration):
    dependencies = [("models", "0010_settlement")]

    initial = False

    operations = [ops.RunPython(create_indexes, drop_indexes)]
