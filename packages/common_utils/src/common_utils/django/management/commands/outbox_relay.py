"""``manage.py outbox_relay``: publish outbox rows to the broker until stopped."""

from __future__ import annotations

import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    """Relay the transactional outbox of every primary database (or those named) to Celery."""

    help = "Publish committed outbox events to the broker, at least once, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the options."""
        parser.add_argument(
            "--database",
            action="append",
            dest="databases",
            help="alias whose outbox to relay (repeatable; default: every primary database)",
        )
        parser.add_argument("--app", help="Celery app as module:attribute")
        parser.add_argument("--batch-size", type=int, help="rows claimed per transaction")
        parser.add_argument(
            "--delivery-batch",
            type=int,
            help="events per broker message (default: COMMON_UTILS['EVENT_DELIVERY_BATCH'])",
        )
        parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds when idle")
        parser.add_argument(
            "--until-empty", action="store_true", help="exit once no event is pending"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the relay; SIGTERM and SIGINT stop it after the current batch.

        The batch in hand is finished (sent, confirmed, marked) and its transaction committed, so
        nothing claimed is left locked; a SIGKILL instead rolls the claim back and another relay
        sends those rows again. The process reports not ready (``drain_on_signals``) from the
        signal on. With ``-v 2`` each event id is written to stdout as it is sent.
        """
        from common_utils._errors import EventConfigError
        from common_utils.django.events import OutboxRelay
        from common_utils.django.events._broker import configured_celery_app

        if options["verbosity"] >= 2:
            handler = logging.StreamHandler(self.stdout)
            handler.setLevel(logging.DEBUG)
            relay_logger = logging.getLogger("common_utils.events")
            relay_logger.addHandler(handler)
            relay_logger.setLevel(logging.DEBUG)

        try:
            relay = OutboxRelay(
                configured_celery_app(options["app"]),
                aliases=options["databases"],
                batch_size=options["batch_size"],
                delivery_batch=options["delivery_batch"],
            )
        except EventConfigError as exc:
            raise CommandError(f"the outbox relay refused to start: {exc}") from None
        from common_utils.django._health import begin_draining

        def stop(*_: object) -> None:
            begin_draining()
            relay.stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
        stats = relay.run(
            poll_interval=options["poll_interval"], until_empty=options["until_empty"]
        )
        self.stdout.write(
            f"outbox relay stopped: {stats.sent} sent, {stats.failed} failed, "
            f"{stats.parked} parked in {stats.batches} batches"
        )
