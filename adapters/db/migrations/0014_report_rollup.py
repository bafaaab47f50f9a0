from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from typing import Any

# the whole months of a scope read per member in member order (no sort, no hash), from the
# index alone on PostgreSQL (INCLUDE)
INDEX = (
    "CREATE INDEX IF NOT EXISTS report_member_month_member ON report_member_month "
    "(scope_kind, scope_id, currency, member_id, month)"
)
INCLUDE = " INCLUDE (orders, net, influenced_orders, influenced_net)"


async def create_index(apps: Any, editor: Any) -> None:
    sql = INDEX + (INCLUDE if editor.client.capabilities.dialect == "postgres" else "")
    if getattr(editor, "collect_sql", False):  # `sqlmigrate`: show, do not run
        editor.collected_sql.append(sql)
    else:
        await editor.client.execute_script(sql)


async def drop_index(apps: Any, editor: Any) -> None:
    sql = "DROP INDEX IF EXISTS report_member_month_member"
    if getattr(editor, "collect_sql", False):
        editor.collected_sql.append(sql)
    else:
        await editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [('models', '0013_member_birthday')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReportMemberMonth',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope_kind', fields.CharField(max_length=8)),
                ('scope_id', fields.IntField()),
                ('month', fields.CharField(max_length=7)),
                ('currency', fields.CharField(max_length=3)),
                ('member_id', fields.IntField()),
                ('orders', fields.IntField(default=0)),
                ('net', fields.BigIntField(default=0)),
                ('influenced_orders', fields.IntField(default=0)),
                ('influenced_net', fields.BigIntField(default=0)),
            ],
            options={'table': 'report_member_month', 'app': 'models', 'unique_together': (('scope_kind', 'scope_id', 'month', 'currency', 'member_id'),), 'pk_attr': 'id', 'table_description': 'The completed orders of one member (0: the guests together) in one month (brand time zone)'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportOrder',
            fields=[
                ('order_id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('month', fields.CharField(max_length=7)),
                ('currency', fields.CharField(max_length=3)),
                ('member_id', fields.IntField()),
                ('parts', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'report_order', 'app': 'models', 'pk_attr': 'order_id', 'table_description': 'What one order adds to the rollup now (``parts``: [kind, id, orders, net, influenced'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportRollupState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('timezone', fields.CharField(max_length=64)),
                ('rebuilt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report_rollup_state', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Set by a rebuild: the time zone of the months of the rollup. Reports read the rollup'},
            bases=['Model'],
        ),
        ops.RunPython(create_index, drop_index),
    ]
