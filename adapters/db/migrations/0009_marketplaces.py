from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_catalog_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MarketplaceAccountState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel_id', fields.IntField(unique=True)),
                ('orders_cursor', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_import_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_import_error', fields.CharField(null=True, max_length=500)),
                ('last_full_push_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'marketplace_account', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Per marketplace channel: where the order import continues, and the last full push.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MarketplaceAction',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel_id', fields.IntField()),
                ('key', fields.CharField(unique=True, max_length=120)),
                ('kind', fields.CharField(max_length=12)),
                ('external_id', fields.CharField(max_length=120)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('state', fields.CharField(default='PENDING', max_length=12)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'marketplace_action', 'app': 'models', 'indexes': [Index(fields=['state', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'A call owed to a marketplace (acknowledge, ship, cancel, refund), made by the worker.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MarketplaceListing',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel_id', fields.IntField()),
                ('variant_id', fields.IntField()),
                ('sku', fields.CharField(max_length=64)),
                ('dirty', fields.BooleanField(default=True)),
                ('version', fields.BigIntField(default=1)),
                ('changed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('state', fields.CharField(default='PENDING', max_length=12)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('leased_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('pushed_quantity', fields.IntField(null=True)),
                ('pushed_price', fields.BigIntField(null=True)),
                ('currency', fields.CharField(null=True, max_length=3)),
                ('last_push_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'marketplace_listing', 'app': 'models', 'unique_together': (('channel_id', 'variant_id'),), 'indexes': [Index(fields=['channel_id', 'dirty', 'next_attempt_at']), Index(fields=['channel_id', 'state'])], 'pk_attr': 'id', 'table_description': 'One SKU on one marketplace channel, dirty when stock or price may have changed since the'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MarketplaceOrder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel_id', fields.IntField()),
                ('external_id', fields.CharField(max_length=120)),
                ('order_id', fields.IntField(null=True, db_index=True)),
                ('state', fields.CharField(max_length=12)),
                ('flag_code', fields.CharField(null=True, max_length=32)),
                ('flag_reason', fields.CharField(null=True, max_length=500)),
                ('marketplace_status', fields.CharField(max_length=12)),
                ('data', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'marketplace_order', 'app': 'models', 'unique_together': (('channel_id', 'external_id'),), 'pk_attr': 'id', 'table_description': 'A marketplace order seen by the import: linked to our order, or flagged when it could'},
            bases=['Model'],
        ),
    ]
