"""The events package shows its whole API, loads Celery only when asked, and the old path warns."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import common_utils.django.events as events_pkg


def test_every_exported_name_resolves_once() -> None:
    assert len(set(events_pkg.__all__)) == len(events_pkg.__all__)
    assert set(events_pkg.__all__) <= set(dir(events_pkg))
    for name in events_pkg.__all__:
        assert getattr(events_pkg, name) is not None, name


def test_publish_imports_without_loading_celery() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys\n"
            "from common_utils.django.events import publish\n"
            "loaded = {m.partition('.')[0] for m in sys.modules}\n"
            "print(json.dumps(sorted(loaded & {'celery', 'kombu'})))\n",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert json.loads(out) == []


def test_the_old_celery_module_warns_and_gives_the_same_objects() -> None:
    sys.modules.pop("common_utils.celery", None)
    with pytest.warns(DeprecationWarning, match=r"common_utils\.django\.events"):
        old = importlib.import_module("common_utils.celery")
    # The names it had: publish() was never there, and names added since the move are not.
    added = {"publish", "DELIVER_EVENTS_TASK"}
    assert old.__all__ == [name for name in events_pkg.__all__ if name not in added]
    for name in old.__all__:
        assert getattr(old, name) is getattr(events_pkg, name), name
