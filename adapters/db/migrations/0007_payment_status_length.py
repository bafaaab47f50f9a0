from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0006_payments")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="Order",
            name="payment_status",
            field=fields.CharField(max_length=20),
        ),
    ]
