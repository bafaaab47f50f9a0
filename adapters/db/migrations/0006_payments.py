from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_trust')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Payment',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order_id', fields.IntField(db_index=True)),
                ('tender', fields.CharField(max_length=16)),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('state', fields.CharField(db_index=True, max_length=16)),
                ('capture_method', fields.CharField(null=True, max_length=10)),
                ('provider', fields.CharField(null=True, max_length=16)),
                ('provider_ref', fields.CharField(null=True, unique=True, max_length=255)),
                ('client_secret', fields.CharField(null=True, max_length=255)),
                ('next_action', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('authorised', fields.BigIntField(default=0)),
                ('captured', fields.BigIntField(default=0)),
                ('refunded', fields.BigIntField(default=0)),
                ('decline_code', fields.CharField(null=True, max_length=64)),
                ('attempt', fields.IntField(default=0)),
                ('location_id', fields.IntField(null=True)),
                ('till_session_id', fields.IntField(null=True, db_index=True)),
                ('cash_given', fields.BigIntField(default=0)),
            ],
            options={'table': 'payment', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One tender of one order: card / Alipay / WeChat Pay online, cash or terminal at the'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='PaymentRefund',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order_id', fields.IntField(db_index=True)),
                ('payment_id', fields.IntField(db_index=True)),
                ('tender', fields.CharField(max_length=16)),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('state', fields.CharField(db_index=True, max_length=10)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('return_id', fields.IntField(null=True)),
                ('provider_ref', fields.CharField(null=True, max_length=255)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('location_id', fields.IntField(null=True)),
                ('till_session_id', fields.IntField(null=True, db_index=True)),
            ],
            options={'table': 'payment_refund', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Money owed back through one tender: PENDING until it went back, FAILED (retryable).'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='ProviderEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharField(max_length=16)),
                ('event_id', fields.CharField(max_length=255)),
                ('event_type', fields.CharField(max_length=80)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'provider_event', 'app': 'models', 'unique_together': (('provider', 'event_id'),), 'pk_attr': 'id', 'table_description': "A provider's webhook event, stored in the transaction that applied it: once only."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TillSessionRow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('location_id', fields.IntField(db_index=True)),
                ('staff_subject', fields.CharField(db_index=True, max_length=120)),
                ('opening_float', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('counted', fields.BigIntField(null=True)),
                ('expected', fields.BigIntField(null=True)),
            ],
            options={'table': 'till_session', 'app': 'models', 'pk_attr': 'id', 'table_description': "A clerk's cash drawer: opened with a float, closed with a count."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookRefusal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharField(max_length=16)),
                ('day', fields.CharField(max_length=10)),
                ('reason', fields.CharField(max_length=32)),
                ('count', fields.IntField(default=0)),
            ],
            options={'table': 'webhook_refusal', 'app': 'models', 'unique_together': (('provider', 'day', 'reason'),), 'pk_attr': 'id', 'table_description': 'Webhooks refused per provider, day and reason (forged, stale, replayed, malformed).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Order',
            name='payment_tender',
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
