"""The dead-letter table: events a consumer could not handle."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("common_utils", "0001_initial")]  # noqa: RUF012 - the shape Django migrations have

    operations = [  # noqa: RUF012 - the shape Django migrations have
        migrations.CreateModel(
            name="DeadLetter",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("event_id", models.CharField(blank=True, max_length=200)),
                ("event_type", models.CharField(blank=True, max_length=200)),
                (
                    "queue",
                    models.CharField(
                        help_text="The consumer's queue: where a replay sends the event.",
                        max_length=200,
                    ),
                ),
                (
                    "handler",
                    models.CharField(
                        blank=True,
                        help_text="The handler that failed, for handler-failed.",
                        max_length=200,
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("unreadable", "not a valid event envelope"),
                            ("unknown-type", "no event class is registered for its type"),
                            ("handler-failed", "a handler failed on every attempt"),
                        ],
                        max_length=20,
                    ),
                ),
                ("error", models.TextField(blank=True, default="")),
                ("attempts", models.PositiveIntegerField()),
                (
                    "envelope",
                    models.TextField(help_text="The message's event as received (JSON)."),
                ),
                ("dead_at", models.DateTimeField()),
                ("replayed_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "db_table": "common_utils_dead_letter",
                "indexes": [
                    models.Index(fields=["dead_at", "id"], name="common_utils_dead_letter_at")
                ],
            },
        ),
    ]
