"""The idempotency records: the answers kept for repeats of an Idempotency-Key."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("common_utils", "0003_aggregate_order")]  # noqa: RUF012 - the shape Django migrations have

    operations = [  # noqa: RUF012 - the shape Django migrations have
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "caller",
                    models.CharField(
                        help_text="Who sent the request: 'user:<id>', or 'anonymous'.",
                        max_length=255,
                    ),
                ),
                (
                    "key",
                    models.CharField(
                        help_text="The Idempotency-Key header as sent.", max_length=255
                    ),
                ),
                (
                    "request_hash",
                    models.CharField(
                        help_text="SHA-256 of the method, path, content type and body.",
                        max_length=64,
                    ),
                ),
                (
                    "request_line",
                    models.CharField(
                        help_text="Method and path of the first request, for people.",
                        max_length=300,
                    ),
                ),
                (
                    "status",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="The response's status (null while it runs).",
                        null=True,
                    ),
                ),
                (
                    "headers",
                    models.TextField(
                        default="[]",
                        help_text="The response headers replayed, as a JSON list of pairs.",
                    ),
                ),
                ("body", models.BinaryField(blank=True, null=True)),
                ("body_size", models.PositiveBigIntegerField(default=0)),
                ("created_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
            ],
            options={
                "db_table": "common_utils_idempotency_record",
                "indexes": [
                    models.Index(fields=["expires_at"], name="common_utils_idempotency_exp")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("caller", "key"), name="common_utils_idempotency_once"
                    )
                ],
            },
        ),
    ]
