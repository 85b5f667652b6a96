"""Recording during ``manage.py test``: a test-runner mixin and a ready-made runner."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.test.runner import DiscoverRunner

from common_utils.django.boundaries._recorder import DEFAULT_RECORD, QueryRecorder


class RecordingRunnerMixin:
    """Adds ``--record-boundaries FILE`` to a ``DiscoverRunner`` subclass.

    With the option, the suite runs in one process (the recorder sees only its own process) and
    every statement tying two apps' tables is written to FILE (``boundaries-queries.json`` is
    the name ``manage.py boundaries`` looks for). The test databases are created before
    recording starts.
    """

    record_boundaries: Path | None

    def __init__(self, *args: Any, record_boundaries: str | None = None, **kwargs: Any) -> None:
        """Take the option; everything else goes to the runner."""
        super().__init__(*args, **kwargs)
        self.record_boundaries = Path(record_boundaries) if record_boundaries else None
        if self.record_boundaries is not None:
            self.parallel = 1  # DiscoverRunner's: the recorder sees only its own process

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Declare ``--record-boundaries FILE``."""
        super().add_arguments(parser)  # type: ignore[misc]  # DiscoverRunner's classmethod
        parser.add_argument(
            "--record-boundaries",
            default=None,
            metavar="FILE",
            help="record the queries that tie two apps' tables into FILE (e.g. "
            f"{DEFAULT_RECORD}, which manage.py boundaries reads by default)",
        )

    def run_suite(self, suite: Any, **kwargs: Any) -> Any:
        """Run the suite, recording when asked to."""
        if self.record_boundaries is None:
            return super().run_suite(suite, **kwargs)  # type: ignore[misc]
        with QueryRecorder(self.record_boundaries) as recorder:
            result = super().run_suite(suite, **kwargs)  # type: ignore[misc]
        print(  # the runner's own summary line, as Django prints its own
            f"boundaries: {len(recorder.document()['queries'])} statements tying two apps "
            f"recorded in {self.record_boundaries}"
        )
        return result


class RecordingTestRunner(RecordingRunnerMixin, DiscoverRunner):
    """Django's test runner with ``--record-boundaries``: ``TEST_RUNNER`` names this class."""
