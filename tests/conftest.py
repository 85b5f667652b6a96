"""Options of the repository's own tests."""

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
