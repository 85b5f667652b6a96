"""The orders table."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "owner_id",
                    models.CharField(
                        db_index=True,
                        help_text="The owner's user id (the token's sub).",
                        max_length=200,
                    ),
                ),
                ("owner_email", models.CharField(blank=True, max_length=254)),
                ("owner_name", models.CharField(blank=True, max_length=200)),
                ("product", models.CharField(max_length=200)),
                (
                    "quantity",
                    models.PositiveSmallIntegerField(
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(100),
                        ]
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("placed", "Placed")], default="placed", max_length=16
                    ),
                ),
                ("placed_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ("-placed_at", "-id"),
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("quantity__gte", 1), ("quantity__lte", 100)),
                        name="orders_order_quantity_range",
                    )
                ],
            },
        ),
    ]
