from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_marketplace_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='birthday',
            field=fields.DateField(null=True),
        ),
    ]
