"""The pytest plugin of ``manage.py boundaries``: ``pytest --record-boundaries FILE``.

Loaded by its ``pytest11`` entry point wherever common-utils is installed (or with
``-p common_utils.django.boundaries_pytest``); without the option it does nothing. With it, and
Django set up by pytest-django, every statement of the suite that ties two apps' tables is
written to FILE (``boundaries-queries.json`` is the name ``manage.py boundaries`` looks
for); creating the test databases is not recorded. Under pytest-xdist each worker writes
FILE with its worker id before the suffix (``boundaries-queries.gw0.json``), which
``manage.py boundaries`` also reads.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from common_utils.django.boundaries import QueryRecorder

DEFAULT_FILE = "boundaries-queries.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare ``--record-boundaries FILE``."""
    group = parser.getgroup("boundaries", "manage.py boundaries (common-utils)")
    group.addoption(
        "--record-boundaries",
        default=None,
        metavar="FILE",
        help="record the queries that tie two Django apps' tables into FILE (e.g. "
        f"{DEFAULT_FILE}, which manage.py boundaries reads by default)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the recording when the option is given."""
    option = config.getoption("record_boundaries", default=None)
    if option is None:
        return
    path = Path(option)
    if path.is_dir():
        raise pytest.UsageError(f"--record-boundaries {option}: a folder, give a file name")
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:
        path = path.with_name(f"{path.stem}.{worker}{path.suffix}")
    elif getattr(config.option, "dist", "no") != "no":
        return  # pytest-xdist's controller runs no tests: each worker records its own file
    config.pluginmanager.register(_Recording(path), "common_utils_boundaries_recording")


class _Recording:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.recorder: QueryRecorder | None = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, Any, None]:
        from django.apps import apps

        if not apps.ready:
            raise pytest.UsageError(
                "--record-boundaries needs Django set up: install pytest-django and set "
                "DJANGO_SETTINGS_MODULE (or --ds)"
            )
        from common_utils.django.boundaries import QueryRecorder

        self.recorder = QueryRecorder(self.path)
        self.recorder.start()
        try:
            yield
        finally:
            self.recorder.stop()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Generator[None, Any, None]:
        # pytest-django creates the test databases in this session fixture: not the project's
        # queries.
        if self.recorder is not None and fixturedef.argname == "django_db_setup":
            with self.recorder.paused():
                yield
        else:
            yield

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.recorder is not None:
            kept = len(self.recorder.document()["queries"])
            terminalreporter.write_line(
                f"boundaries: {kept} statements tying two apps recorded in {self.path}"
            )
