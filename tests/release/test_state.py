"""The release state in releases.toml: what the tools read instead of tags, and the bugs it fixed.

Each test of a bug reproduces it as a user met it (the issue's first half) before checking the fix.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from commons_tools.index import RunningIndex, start_index
from commons_tools.simple_api import IndexTarget, project_files
from commons_tools.state import load_state

pytestmark = pytest.mark.slow

PROJECTS = ("common-utils", "common-auth", "common-clients")


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _index_shas(target: IndexTarget) -> dict[str, str | None]:
    return {
        name: entry.sha256
        for project in PROJECTS
        for name, entry in project_files(target, project).items()
    }


def _commit(kit: Any, repo: Path, message: str) -> None:
    kit.git(repo, "add", "-A")
    kit.git(repo, "commit", "--quiet", "-m", message)


def test_the_state_file_records_each_release_with_its_source_tree_and_epoch(kit: Any) -> None:
    repo = kit.make_repo(fragments={"common-utils": {"+x.breaking.md": "Removed `x`.\n"}})
    source = kit.git(repo, "rev-parse", "HEAD")

    made = kit.tool("release", "--no-publish", repo=repo)

    assert made.returncode == 0, made.stderr
    data = tomllib.loads((repo / "releases.toml").read_text())
    new = [r for r in data["release"] if r["source"] == source]
    assert sorted((r["package"], r["version"]) for r in new) == [
        ("common-auth", "0.1.1"),
        ("common-clients", "0.1.1"),
        ("common-utils", "0.2.0"),
    ]
    head = kit.git(repo, "rev-parse", "HEAD")
    assert kit.git(repo, "rev-parse", "HEAD~1") == source  # the release commit's parent
    for record in new:
        folder = record["package"].replace("-", "_")
        assert record["tree"] == kit.git(repo, "rev-parse", f"HEAD:packages/{folder}")
        assert record["epoch"] == int(kit.git(repo, "log", "-1", "--format=%ct", head))
    # Oldest first: the rehearsal's 0.1.0 releases, then this run's.
    assert [r["version"] for r in data["release"][:3]] == ["0.1.0"] * 3


def test_changelog_d_survives_a_release_and_a_cascading_second_release_works(kit: Any) -> None:
    # The issue: after the first release changelog.d/ was gone (git keeps no empty folder), the
    # README's echo failed, and a second release with a cascade ended in FileNotFoundError.
    repo = kit.make_repo(
        released=False,
        fragments={
            "common-utils": {"+a.breaking.md": "Removed `a`.\n"},
            "common-auth": {"+b.feature.md": "Added `b`.\n"},
        },
    )
    first = kit.tool("release", "--no-publish", repo=repo)
    assert first.returncode == 0, first.stderr
    for module in ("common_utils", "common_auth", "common_clients"):
        assert (repo / f"packages/{module}/changelog.d").is_dir()
        assert kit.git(repo, "ls-files", f"packages/{module}/changelog.d") == (
            f"packages/{module}/changelog.d/.gitkeep"
        )
    # A clone has exactly what git keeps.
    clone = repo.parent / "clone"
    kit.git(repo.parent, "clone", "--quiet", str(repo), str(clone))
    for key, value in {"user.name": "T", "user.email": "t@example.invalid"}.items():
        kit.git(clone, "config", key, value)
    echo = subprocess.run(  # noqa: S602  (the README's own command, as a user types it)
        "echo 'Fixed `common_auth.TokenVerifier` rejecting tokens issued within the leeway.' "
        "> packages/common_auth/changelog.d/+iat-leeway.fix.md",
        shell=True,
        cwd=clone,
        check=False,
    )
    assert echo.returncode == 0
    (clone / "packages/common_utils/changelog.d/+c.breaking.md").write_text("Removed `c`.\n")
    # Even a changelog.d removed by hand gets its cascade fragment.
    kit.git(clone, "rm", "--quiet", "-r", "packages/common_clients/changelog.d")
    _commit(kit, clone, "Changes")

    second = kit.tool("release", "--no-publish", repo=clone)

    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr
    clients_log = (clone / "packages/common_clients/CHANGELOG.md").read_text()
    assert "Required `common-utils>=0.2.0,<0.3`" in clients_log
    auth_log = (clone / "packages/common_auth/CHANGELOG.md").read_text()
    assert "rejecting tokens issued within the leeway" in auth_log
    assert kit.git(clone, "status", "--porcelain") == ""


@pytest.mark.parametrize("kind", ["symlink", "fifo", "folder", "too large", "linked folder"])
def test_a_fragment_must_be_a_regular_file_inside_its_changelog_d(
    kind: str, kit: Any, tmp_path: Path
) -> None:
    # The issue: a symlinked fragment was followed, and the release wrote the target's content
    # into CHANGELOG.md, the release commit and the sdist.
    repo = kit.make_repo()
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2-secret\n")
    folder = repo / "packages/common_utils/changelog.d"
    bad = folder / "+leak.fix.md"
    if kind == "symlink":
        bad.symlink_to(secret)
    elif kind == "fifo":
        os.mkfifo(bad)
    elif kind == "folder":
        bad.mkdir()
        (bad / "x.md").write_text("x\n")
    elif kind == "too large":
        bad.write_text("Fixed `x`. " * 5000)
    else:
        (folder / ".gitkeep").unlink()
        folder.rmdir()
        linked = tmp_path / "elsewhere"
        linked.mkdir()
        (linked / "+leak.fix.md").write_text(secret.read_text())
        folder.symlink_to(linked)
        bad = folder
    if kind != "fifo":
        _commit(kit, repo, "A bad fragment")
    before = kit.state(repo) if kind != "fifo" else None

    gate = kit.tool("gate", repo=repo)
    dry = kit.tool("release", "--dry-run", repo=repo)
    real = kit.tool("release", "--no-publish", repo=repo)

    assert gate.returncode == 1
    assert "packages/common_utils/changelog.d" in gate.stderr
    for result in (dry, real):
        assert result.returncode == 1
        line = _one_line(result.stderr)
        assert str(bad.relative_to(repo)) in line
        assert "hunter2" not in result.stdout + result.stderr
    reason = {
        "symlink": "a symbolic link",
        "fifo": "not a regular file",
        "folder": "a folder in changelog.d/",
        "too large": "a fragment is at most",
        "linked folder": "a symbolic link: changelog.d/ must be a real folder",
    }[kind]
    assert reason in real.stderr
    if before is not None:
        assert kit.state(repo) == before


def test_a_release_after_a_no_publish_release_publishes_both(
    kit: Any, index: RunningIndex, index_target: IndexTarget
) -> None:
    # The issue: a run with something to plan published its new releases but not an earlier
    # --no-publish release they require, and exited 0.
    repo = kit.make_repo(fragments={"common-utils": {"+a.feature.md": "Added `a`.\n"}})
    env = kit.index_env(index)
    assert kit.tool("release", "--no-publish", repo=repo, env=env).returncode == 0
    (repo / "packages/common_auth/changelog.d/+b.fix.md").write_text("Fixed `b`.\n")
    _commit(kit, repo, "Fix b")

    later = kit.tool("release", repo=repo, env=env)

    assert later.returncode == 0, later.stderr
    names = set(_index_shas(index_target))
    assert {"common_utils-0.2.0-py3-none-any.whl", "common_utils-0.2.0.tar.gz"} <= names
    assert {"common_auth-0.1.2-py3-none-any.whl", "common_auth-0.1.1.tar.gz"} <= names
    # The common-auth on the index requires a common-utils the index has.
    assert "common_auth-0.1.0.tar.gz" in names


def test_a_clone_without_tags_gates_plans_and_republishes_from_releases_toml(
    kit: Any, index: RunningIndex, index_target: IndexTarget, tmp_path: Path
) -> None:
    repo = kit.make_repo(fragments={"common-utils": {"+a.breaking.md": "Removed `a`.\n"}})
    assert kit.tool("release", repo=repo, env=kit.index_env(index)).returncode == 0
    published = _index_shas(index_target)
    clone = tmp_path / "tagless"
    kit.git(tmp_path, "clone", "--quiet", "--no-tags", str(repo), str(clone))
    for key, value in {"user.name": "T", "user.email": "t@example.invalid"}.items():
        kit.git(clone, "config", key, value)
    for tag in kit.git(clone, "tag").split():
        kit.git(clone, "tag", "--delete", tag)
    assert kit.git(clone, "tag") == ""

    # The gate: nothing changed since the recorded trees.
    gate = kit.tool("gate", repo=clone)
    assert gate.returncode == 0, gate.stderr
    assert "common-utils: source unchanged" in gate.stdout
    # The plan knows what was released: no "first release", versions from the record.
    (clone / "packages/common_auth/changelog.d/+b.fix.md").write_text("Fixed `b`.\n")
    dry = kit.tool("release", "--dry-run", repo=clone)
    assert dry.returncode == 0, dry.stderr
    assert "first release" not in dry.stdout
    assert re.search(r"^common-auth +0\.1\.1 -> 0\.1\.2 ", dry.stdout, re.MULTILINE)
    (clone / "packages/common_auth/changelog.d/+b.fix.md").unlink()
    # A source change since the recorded tree, without a fragment, is caught.
    change = clone / "packages/common_auth/src/common_auth/_change.py"
    change.write_text('"""A change."""\n')
    gate = kit.tool("gate", repo=clone)
    assert gate.returncode == 1
    assert "common-auth: source changed without a pending news fragment" in gate.stderr
    assert "packages/common_auth/src/common_auth/_change.py" in gate.stderr
    change.unlink()

    # A re-publish to a fresh index rebuilds every recorded release: the same bytes.
    with start_index(tmp_path / "fresh-index") as fresh:
        again = kit.tool("release", repo=clone, env=kit.index_env(fresh))
        assert again.returncode == 0, again.stderr
        fresh_shas = _index_shas(IndexTarget(fresh.url, fresh.simple_url, fresh.credentials))
    assert fresh_shas == published
    assert len(published) == 12  # three packages at 0.1.0 and at their new versions


def test_rebuilding_any_recorded_release_gives_the_published_bytes(
    kit: Any, index: RunningIndex, index_target: IndexTarget
) -> None:
    from commons_tools.build import rebuild_records

    repo = kit.make_repo(fragments={"common-clients": {"+a.fix.md": "Fixed `a`.\n"}})
    assert kit.tool("release", repo=repo, env=kit.index_env(index)).returncode == 0
    published = _index_shas(index_target)
    # Later history moves the work tree on; the records still rebuild what was published.
    (repo / "packages/common_clients/changelog.d/+b.feature.md").write_text("Added `b`.\n")
    _commit(kit, repo, "Feature b")
    assert kit.tool("release", "--no-publish", repo=repo).returncode == 0
    records = [r for r in load_state(repo).records if r.package == "common-clients"]
    assert [str(r.version) for r in records] == ["0.1.0", "0.1.1", "0.2.0"]

    rebuilt = rebuild_records(repo, records[:2], repo.parent / "rebuilt")

    assert len(rebuilt) == 4
    for path in rebuilt:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == published[path.name]
    # The same from the command line, as the README shows it.
    by_hand = kit.tool(
        "build", "--release", "common-clients==0.1.1", "--outdir", str(repo.parent / "cli"),
        repo=repo,
    )  # fmt: skip
    assert by_hand.returncode == 0, by_hand.stderr
    for line in by_hand.stdout.splitlines():
        digest, name = line.split()
        assert published[name] == digest
    unknown = kit.tool("build", "--release", "common-clients==9.9.9", repo=repo)
    assert unknown.returncode == 1
    assert _one_line(unknown.stderr) == (
        "build: common-clients==9.9.9: no such release in releases.toml (expected NAME==VERSION)"
    )


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("not toml", "releases.toml: not valid TOML"),
        ("bad tree", "releases.toml: release #2: tree 'abc' is not a git object id"),
        # The six packages' first releases, then the duplicate.
        ("twice", "releases.toml: release #7: common-utils 0.1.0 is recorded twice"),
        ("behind", "holds 0.1.0 but releases.toml records common-utils 0.1.5 as its newest"),
    ],
)
def test_a_damaged_state_file_is_one_line_naming_the_entry(
    damage: str, expected: str, kit: Any
) -> None:
    repo = kit.make_repo(fragments={"common-utils": {"+a.fix.md": "Fixed `a`.\n"}})
    path = repo / "releases.toml"
    text = path.read_text()
    first = text[text.index("[[release]]") : text.index("\n\n", text.index("[[release]]"))]
    if damage == "not toml":
        text += "[[release]\n"
    elif damage == "bad tree":
        second = text.index("[[release]]", text.index("[[release]]") + 1)
        head, tail = text[:second], text[second:]
        tail = tail.replace('tree = "', 'tree = "abc" # ', 1)
        text = head + tail
    elif damage == "twice":
        text += "\n" + first + "\n"
    else:
        text += "\n" + first.replace('"0.1.0"', '"0.1.5"') + "\n"
    path.write_text(text)
    _commit(kit, repo, "Damage")

    for args in (["--dry-run"], ["--no-publish"]):
        result = kit.tool("release", *args, repo=repo)
        assert result.returncode == 1
        line = _one_line(result.stderr)
        assert expected in line, line
    gate = kit.tool("gate", repo=repo)
    if damage != "behind":
        assert gate.returncode == 2
        assert expected in _one_line(gate.stderr)


def test_the_demo_republishes_recorded_releases_in_a_tagless_clone_and_releases_nothing(
    kit: Any, index: RunningIndex, index_target: IndexTarget
) -> None:
    from commons_tools.demo import publish_current

    repo = kit.make_repo(fragments={"common-auth": {"+a.fix.md": "Fixed `a`.\n"}})
    assert kit.tool("release", "--no-publish", repo=repo).returncode == 0
    (repo / "packages/common_utils/changelog.d/+b.feature.md").write_text("Added `b`.\n")
    _commit(kit, repo, "A pending feature, not to be released by the demo")
    kit.git(repo, "tag", "--delete", *kit.git(repo, "tag").split())
    head = kit.git(repo, "rev-parse", "HEAD")
    said: list[str] = []

    versions = publish_current(repo, index, said.append)

    assert kit.git(repo, "rev-parse", "HEAD") == head  # nothing was released
    assert versions == {
        "common-utils": "0.1.0",
        "common-auth": "0.1.1",
        "common-clients": "0.1.0",
        "common-clients-notifications": "0.1.0",
        "common-clients-orders": "0.1.0",
        "common-clients-users": "0.1.0",
    }
    assert sorted(_index_shas(index_target)) == sorted(
        f"{name}-{version}{suffix}"
        for name, version in [
            ("common_utils", "0.1.0"),
            ("common_auth", "0.1.0"),
            ("common_auth", "0.1.1"),
            ("common_clients", "0.1.0"),
        ]
        for suffix in ("-py3-none-any.whl", ".tar.gz")
    )
    assert any("republishing the 7 release(s) recorded in releases.toml" in line for line in said)
