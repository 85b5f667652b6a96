"""The service template under test (``nox -s template``): copier from this checkout, and a
package index on disk holding the ``common-*`` releases the template's lock pins.

The index is a PEP 503 folder (``file://``) with the released files rebuilt from
``releases.toml`` (the same bytes as published), so the made service installs from its
hash-locked ``requirements.txt`` exactly as a team's would from their private index.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from template.support import LOCK, ROOT, TEMPLATE, git, pinned_releases, write_simple_index


@pytest.fixture(scope="session")
def commons_index(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The simple URL of an index holding the releases the template's lock pins."""
    from commons_tools.build import rebuild_records, recorded

    root = tmp_path_factory.mktemp("index")
    files = rebuild_records(
        ROOT, recorded(ROOT, pinned_releases(LOCK)), root / "files", check=False
    )
    return write_simple_index(files, root)


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding this checkout's template (its root copier.yml and
    templates/service), committed once: what copier renders from, whatever this work tree's
    state."""
    repo = tmp_path_factory.mktemp("commons")
    shutil.copy2(ROOT / "copier.yml", repo / "copier.yml")
    shutil.copytree(
        TEMPLATE, repo / "templates" / "service", ignore=shutil.ignore_patterns("__pycache__")
    )
    git(repo, "init", "--quiet")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "the template")
    return repo
