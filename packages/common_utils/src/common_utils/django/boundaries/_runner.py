"""Recording during ``manage.py test``: a test-runner mixin and a ready-made runner."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.test.runner import DiscoverRunner

from common_utils.django.boundaries._recorder import DEFAULT_RECORD, QueryRecorder


class RecordingRunnerMixin:
    """Adds ``--record-boundaries [FILE]`` to a ``DiscoverRunner`` subclass.

    With the option, the suite runs in one process (the recorder sees only its own process) and
    every statement tying two apps' tables is written to FILE (default
    ``boundaries-queries.json``) for ``manage.py boundaries``. The test databases are created
    before recording starts.
    """

    record_boundaries: Path | None

    def __init__(self, *args: Any, record_boundaries: str | None = None, **kwargs: Any) -> None:
        """Take the option; everything else goes to the runner."""
        super().__init__(*args, **kwargs)
        self.record_boundaries = Path(record_boundaries) if record_boundaries else None
        if self.record_boundaries is not None:
            self.parallel = 1  # type: ignore[attr-defined]  # DiscoverRunner's attribute

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Declare ``--record-boundaries [FILE]``."""
        super().add_arguments(parser)  # type: ignore[misc]  # DiscoverRunner's classmethod
        parser.add_argument(
            "--record-boundaries",
            nargs="?",
            const=str(DEFAULT_RECORD),
            default=None,
            metavar="FILE",
            help="record queries that tie two apps' tables into FILE for manage.py boundaries "
            f"(default {DEFAULT_RECORD})",
        )

    def run_suite(self, suite: Any, **kwargs: Any) -> Any:
        """Run the suite, recording when asked to."""
        if self.record_boundaries is None:
            return super().run_suite(suite, **kwargs)  # type: ignore[misc]
        with QueryRecorder(self.record_boundaries) as recorder:
            result = super().run_suite(suite, **kwargs)  # type: ignore[misc]
        print(  # noqa: T201 - the runner's own summary line, as Django prints its own
            f"boundaries: {len(recorder.document()['queries'])} statements tying two apps "
            f"recorded in {self.record_boundaries}"
        )
        return result


class RecordingTestRunner(RecordingRunnerMixin, DiscoverRunner):
    """Django's test runner with ``--record-boundaries``: ``TEST_RUNNER`` names this class."""
