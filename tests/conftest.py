"""Options of the repository's own tests, and which of them share a pytest-xdist worker.

``nox -s tests-repo`` runs these tests on pytest-xdist workers with ``--dist loadgroup``: a test
marked ``xdist_group(NAME)`` runs on the same worker as every other test of that group, one after
the other. Tests that share something costly (a session fixture that runs the whole demo) or that
only one may use at a time (the repository's own ``.nox/index`` venv) are grouped here, so the
test files need not know about workers.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("commons")
    group.addoption(
        "--release-history",
        choices=("quick", "long"),
        default=os.environ.get("COMMONS_RELEASE_HISTORY", "quick"),
        help="profile of tests/release/test_history.py: quick (CI, the default) or long; "
        "also COMMONS_RELEASE_HISTORY",
    )
    group.addoption(
        "--release-history-replay",
        metavar="FILE",
        default=None,
        help="play exactly the steps of a failed release history (the JSON file it wrote)",
    )


# Tests (by function name) that only one worker at a time may run, with the group they share.
SERIAL_GROUPS = {
    # `nox -s index` from this repository's noxfile: both signals' runs use its .nox/index venv.
    "test_nox_index_session_stops_its_pypiserver_when_nox_is_stopped": "nox-index-venv",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return  # without pytest-xdist, every test runs in this one process anyway
    for item in items:
        group = SERIAL_GROUPS.get(getattr(item, "originalname", item.name))
        callspec = getattr(item, "callspec", None)
        if group is None and callspec is not None and "demo_run" in callspec.params:
            # One demo run per backend (a session fixture, minutes each): all of a backend's
            # tests on one worker, so it runs once, while the other backend's runs on another.
            group = f"demo-{callspec.params['demo_run']}"
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
