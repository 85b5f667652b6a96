"""Order per aggregate: the outbox rows' key and number, the keys' counters, the consumers'
positions and waiting events."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("common_utils", "0002_dead_letter")]  # noqa: RUF012 - the shape Django migrations have

    operations = [  # noqa: RUF012 - the shape Django migrations have
        migrations.CreateModel(
            name="EventKeyArrival",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("consumer", models.CharField(max_length=200)),
                ("source", models.CharField(max_length=200)),
                ("key", models.CharField(max_length=200)),
                ("sequence", models.PositiveBigIntegerField()),
                ("arrived_at", models.DateTimeField()),
            ],
            options={
                "db_table": "common_utils_event_key_arrival",
            },
        ),
        migrations.CreateModel(
            name="EventKeyPosition",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("consumer", models.CharField(help_text="The consumer's queue.", max_length=200)),
                (
                    "source",
                    models.CharField(
                        help_text="The producer (the event's source).", max_length=200
                    ),
                ),
                ("key", models.CharField(max_length=200)),
                ("sequence", models.PositiveBigIntegerField()),
                ("updated_at", models.DateTimeField()),
            ],
            options={
                "db_table": "common_utils_event_key_position",
            },
        ),
        migrations.CreateModel(
            name="OutboxKey",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("key", models.CharField(max_length=200, unique=True)),
                ("last_sequence", models.PositiveBigIntegerField(default=0)),
                ("last_by_type", models.TextField(default="{}")),
            ],
            options={
                "db_table": "common_utils_outbox_key",
            },
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="aggregate_key",
            field=models.CharField(
                blank=True,
                help_text="The aggregate the event belongs to.",
                max_length=200,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="key_sequence",
            field=models.PositiveBigIntegerField(
                blank=True, help_text="1, 2, 3 … within the key, in commit order.", null=True
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                condition=models.Q(("aggregate_key__isnull", False), ("sent_at__isnull", True)),
                fields=["aggregate_key", "key_sequence"],
                name="common_utils_outbox_by_key",
            ),
        ),
        migrations.AddConstraint(
            model_name="eventkeyarrival",
            constraint=models.UniqueConstraint(
                fields=("consumer", "source", "key", "sequence"),
                name="common_utils_event_key_arrival_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="eventkeyposition",
            constraint=models.UniqueConstraint(
                fields=("consumer", "source", "key"), name="common_utils_event_key_position_once"
            ),
        ),
    ]
