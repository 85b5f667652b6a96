"""docs/splitting.md runs as written: its console blocks, in order, as one shell script.

It starts in a folder holding a copy of the example monolith, with ``COMMONS`` naming a
repository of this checkout's template and ``COMMONS_INDEX`` an index of the released
``common-*`` files; everything after that (the report, the service made from the template, its
install from the hash-locked lock, its tests, mypy, schemathesis, the client, the first event, a
``copier update``) is what the guide says.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from contextlib import closing
from pathlib import Path

from packaging.requirements import Requirement

from common_clients.codegen import MARKER
from template.support import ROOT, TEMPLATE

GUIDE = ROOT / "docs" / "splitting.md"
MONOLITH = ROOT / "packages" / "common_utils" / "tests" / "bd_monolith"


def console_blocks(markdown: str) -> list[str]:
    """The bodies of the ```console blocks, in order."""
    return re.findall(r"^```console\n(.*?)^```$", markdown, flags=re.MULTILINE | re.DOTALL)


def test_the_guide_has_a_command_for_every_step() -> None:
    blocks = console_blocks(GUIDE.read_text())
    script = "\n".join(blocks)
    for command in (
        "manage.py boundaries",
        "copier copy",
        "--require-hashes",
        "migrate_all",
        "common_clients.codegen generate",
        "./client",
        "outbox_relay",
        "copier update",
    ):
        assert command in script, f"the guide runs no {command}"


def _pins(path: Path, name: str) -> list[str]:
    """The versions ``path`` (a requirements file) pins ``name`` to, extras or not."""
    found = []
    for line in path.read_text().splitlines():
        requirement = line.partition("#")[0].strip()
        if requirement and Requirement(requirement).name == name:
            (specifier,) = Requirement(requirement).specifier
            assert specifier.operator == "==", f"{path}: {requirement} is not a pin"
            found.append(specifier.version)
    return found


def test_the_clients_range_admits_the_runtime_the_service_pins() -> None:
    """client/pyproject.toml's range of common-clients holds the release requirements.in and
    requirements-dev.txt pin (a made service installs both into one venv)."""
    template = TEMPLATE / "template"
    pyproject = (template / "client" / "pyproject.toml.jinja").read_text()
    (dependency,) = tomllib.loads(pyproject)["project"]["dependencies"]
    declared = Requirement(dependency)
    assert declared.name == "common-clients"
    pins = [
        *_pins(template / "requirements.in.jinja", "common-clients"),
        *_pins(template / "requirements-dev.txt", "common-clients"),
    ]
    assert len(pins) == 2
    for pin in pins:
        assert declared.specifier.contains(pin), (
            f"client/pyproject.toml requires {declared}, which does not admit the pinned {pin}:"
            " move the range with the pin"
        )


def test_the_guide_runs_as_written(tmp_path: Path, commons_index: str, template_repo: Path) -> None:
    monolith = tmp_path / "monolith"
    shutil.copytree(
        MONOLITH, monolith / "bd_monolith", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(MONOLITH / "manage.py", monolith / "manage.py")
    # Each command is echoed with the seconds since the start: where the time goes.
    prelude = "PS4='+ [$SECONDS s] '\nset -euxo pipefail\n"
    script = prelude + "\n".join(console_blocks(GUIDE.read_text()))
    env = {
        **os.environ,
        "COMMONS": str(template_repo),
        "COMMONS_INDEX": commons_index,
        # This session's Python (3.13, with copier and common-utils) comes first, as the
        # monolith's environment would; uv makes the service's own venv from it.
        "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), *filter(None, [os.environ.get("PATH")])]
        ),
        "GIT_AUTHOR_NAME": "Guide",
        "GIT_AUTHOR_EMAIL": "guide@example.invalid",
        "GIT_COMMITTER_NAME": "Guide",
        "GIT_COMMITTER_EMAIL": "guide@example.invalid",
        "BD_DATABASE_URL": f"sqlite:///{tmp_path / 'monolith.sqlite3'}",
    }
    for name in ("VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "CELERY_BROKER_URL"):
        env.pop(name, None)
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    said = result.stdout + result.stderr
    assert result.returncode == 0, said[-6000:]

    # What each step left behind.
    assert "<svg" in (monolith / "boundaries.svg").read_text()
    baseline = json.loads((monolith / "boundaries.json").read_text())
    assert baseline, "the baseline records no tie"
    service = tmp_path / "catalog"
    # The client, a distribution of its own: hand-written files in client/, the generated
    # package fenced in client/src/catalog_client/ by the generator's marker, and nothing else.
    client = service / "client"
    generated = client / "src" / "catalog_client"
    marker = (generated / MARKER).read_text().splitlines()
    assert sorted(p.relative_to(generated).as_posix() for p in generated.rglob("*.py")) == sorted(
        marker[1:]
    )
    assert sorted(p.name for p in client.iterdir()) == sorted(
        ["README.md", "__about__.py", "py.typed", "pyproject.toml", "src"]
    )
    # Its tests ran against the installed distribution (skipped only before it is installed).
    assert re.search(r"^2 passed in ", said, flags=re.MULTILINE), said[-3000:]
    # The first event: written with its item, then published by the relay.
    with closing(sqlite3.connect(service / "catalog.sqlite3")) as database:
        rows = database.execute(
            "SELECT event_type, sent_at FROM common_utils_outbox ORDER BY id"
        ).fetchall()
    assert [(event_type, sent is not None) for event_type, sent in rows] == [
        ("catalog.item_created.v1", True)
    ]
    answers = (service / ".copier-answers.yml").read_text()
    assert "service_name: catalog" in answers
