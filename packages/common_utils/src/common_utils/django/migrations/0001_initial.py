"""The outbox and processed-event tables."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []  # noqa: RUF012 - the shape Django migrations have

    operations = [  # noqa: RUF012 - the shape Django migrations have
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("event_id", models.CharField(max_length=200, unique=True)),
                ("event_type", models.CharField(max_length=200)),
                (
                    "payload",
                    models.TextField(help_text="The event in the CloudEvents JSON format."),
                ),
                ("created_at", models.DateTimeField()),
                ("next_attempt_at", models.DateTimeField()),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True, default="")),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("parked_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "db_table": "common_utils_outbox",
                "indexes": [
                    models.Index(
                        condition=models.Q(("parked_at__isnull", True), ("sent_at__isnull", True)),
                        fields=["next_attempt_at", "id"],
                        name="common_utils_outbox_pending",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ProcessedEvent",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("event_id", models.CharField(max_length=200)),
                ("handler", models.CharField(max_length=200)),
                ("processed_at", models.DateTimeField()),
            ],
            options={
                "db_table": "common_utils_processed_event",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("event_id", "handler"), name="common_utils_processed_once"
                    )
                ],
            },
        ),
    ]
