from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_members_points_promotions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('actor', fields.CharField(db_index=True, max_length=120)),
                ('role', fields.CharField(default='', max_length=32)),
                ('field', fields.CharField(max_length=80)),
                ('summary', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('result', fields.CharField(max_length=64)),
                ('client', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'audit_log', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One staff or partner mutation: who, as what, which field, a summary, how it ended.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.IntField(db_index=True)),
                ('channel', fields.CharField(max_length=8)),
                ('to', fields.CharField(max_length=254)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member_message', 'app': 'models', 'pk_attr': 'id', 'table_description': "A message with a secret for one member (a verification token): the notifier's queue,"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberPresence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.IntField(db_index=True)),
                ('code_hash', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member_presence', 'app': 'models', 'pk_attr': 'id', 'table_description': "A one-time code the member's app shows at the till (stored hashed, valid a minute)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ValueGrant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=8)),
                ('member_id', fields.IntField(db_index=True)),
                ('requested_by', fields.CharField(db_index=True, max_length=120)),
                ('points', fields.BigIntField(default=0)),
                ('amount', fields.BigIntField(default=0)),
                ('currency', fields.CharField(default='', max_length=3)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('voucher_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(db_index=True, max_length=10)),
                ('decided_by', fields.CharField(null=True, max_length=120)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'value_grant', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Points or a voucher given by staff: applied at once within the caps, else pending.'},
            bases=['Model'],
        ),
    ]
