"""The changelog gate: changed package source needs a news fragment; fragments are well formed."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from commons_tools.gate import check
from commons_tools.rehearsal import record_as_released
from commons_tools.workspace import load_workspace

Gate = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_gate(tool: Callable[..., subprocess.CompletedProcess[str]]) -> Gate:
    """``run_gate(repo, *args)``: the gate as ``nox -s changelog`` runs it."""
    return functools.partial(tool, "gate")


def release_everything(repo: Path, git: Callable[..., str]) -> None:
    """Consume the pending fragments and record every package in releases.toml, as a release
    would."""
    for fragment in [
        *repo.glob("packages/*/changelog.d/*.md"),
        *repo.glob("packages/*/clients/*/changelog.d/*.md"),
    ]:
        fragment.unlink()
    git(repo, "commit", "--quiet", "-am", "Consume the fragments")
    record_as_released(repo)


def change_source(repo: Path, package: str = "common_auth") -> Path:
    module = repo / "packages" / package / "src" / package / "_change.py"
    module.write_text('"""A change."""\n\nVALUE = 1\n', encoding="utf-8")
    return module


def test_first_release_needs_nothing_more_than_the_announcement(
    workspace_repo: Path, run_gate: Gate
) -> None:
    result = run_gate(workspace_repo)
    assert result.returncode == 0, result.stderr


def test_source_change_since_release_tag_without_fragment_fails_naming_package_and_file(
    workspace_repo: Path, git: Callable[..., str], run_gate: Gate
) -> None:
    release_everything(workspace_repo, git)
    change_source(workspace_repo)
    git(workspace_repo, "add", "-A")
    git(workspace_repo, "commit", "--quiet", "-m", "Change auth")

    result = run_gate(workspace_repo)

    assert result.returncode == 1
    assert "common-auth: source changed without a pending news fragment" in result.stderr
    assert "packages/common_auth/src/common_auth/_change.py" in result.stderr
    assert "common-utils" not in result.stderr
    assert "common-clients" not in result.stderr


def test_adding_a_fragment_makes_the_gate_pass(
    workspace_repo: Path, git: Callable[..., str], run_gate: Gate
) -> None:
    release_everything(workspace_repo, git)
    change_source(workspace_repo)
    assert run_gate(workspace_repo).returncode == 1

    fragment = workspace_repo / "packages/common_auth/changelog.d/+change.fix.md"
    fragment.write_text("Fixed `common_auth.VALUE`.\n", encoding="utf-8")

    result = run_gate(workspace_repo)
    assert result.returncode == 0, result.stderr
    assert "common-auth: 1 changed file(s), has a fragment" in result.stdout


def test_uncommitted_and_untracked_source_changes_count(
    workspace_repo: Path, git: Callable[..., str], run_gate: Gate
) -> None:
    release_everything(workspace_repo, git)
    about = workspace_repo / "packages/common_utils/src/common_utils/__init__.py"
    about.write_text(about.read_text() + "\nEXTRA = 1\n", encoding="utf-8")

    result = run_gate(workspace_repo)

    assert result.returncode == 1
    assert "packages/common_utils/src/common_utils/__init__.py" in result.stderr


def test_base_mode_needs_a_fragment_added_since_base(
    workspace_repo: Path, git: Callable[..., str], run_gate: Gate
) -> None:
    git(workspace_repo, "branch", "base")
    change_source(workspace_repo, "common_clients")
    git(workspace_repo, "add", "-A")
    git(workspace_repo, "commit", "--quiet", "-m", "Change clients")

    # The announcement fragment is pending, but it was not added since base: not enough.
    result = run_gate(workspace_repo, "--base", "base")
    assert result.returncode == 1
    assert "common-clients: source changed without a news fragment added since base" in (
        result.stderr
    )
    assert "_change.py" in result.stderr

    (workspace_repo / "packages/common_clients/changelog.d/+change.feature.md").write_text(
        "Added `common_clients.VALUE`.\n", encoding="utf-8"
    )
    git(workspace_repo, "add", "-A")
    git(workspace_repo, "commit", "--quiet", "-m", "Add fragment")
    assert run_gate(workspace_repo, "--base", "base").returncode == 0


def test_unknown_base_ref_is_a_clear_error(workspace_repo: Path, run_gate: Gate) -> None:
    result = run_gate(workspace_repo, "--base", "no-such-ref")
    assert result.returncode == 2
    assert "'no-such-ref' is not a commit" in result.stderr


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("+x.feature.txt", "Added x.\n", "not a fragment name"),
        ("+x.improvement.md", "Added x.\n", "unknown fragment type 'improvement'"),
        ("+x.fix.md", "  \n", "empty"),
        ("x.md", "Added x.\n", "not a fragment name"),
    ],
)
def test_malformed_fragments_are_named(
    workspace_repo: Path, name: str, text: str, reason: str, run_gate: Gate
) -> None:
    (workspace_repo / "packages/common_utils/changelog.d" / name).write_text(text, encoding="utf-8")

    result = run_gate(workspace_repo)

    assert result.returncode == 1
    assert f"common-utils: malformed fragment packages/common_utils/changelog.d/{name}" in (
        result.stderr.replace(str(workspace_repo) + "/", "")
    )
    assert reason in result.stderr


def test_fragment_outside_a_package_is_refused(workspace_repo: Path) -> None:
    stray = workspace_repo / "changelog.d"
    stray.mkdir()
    (stray / "+x.fix.md").write_text("Fixed x.\n", encoding="utf-8")

    report = check(load_workspace(workspace_repo))

    assert not report.ok
    assert any(p.startswith("changelog.d/+x.fix.md: a fragment outside") for p in report.problems)


SPEC_V1 = """\
openapi: 3.0.3
info: {title: Users, version: "1"}
paths:
  /users/{id}/:
    get:
      operationId: users_retrieve
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: A user.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/User"}
components:
  schemas:
    User:
      type: object
      required: [id, username]
      properties:
        id: {type: integer}
        username: {type: string}
"""


def commit_users_document_as_base(repo: Path, git: Callable[..., str]) -> Path:
    """Commit ``SPEC_V1`` as the users client's document and branch ``base`` there."""
    specs = repo / "packages/common_clients/specs"
    specs.mkdir()
    (specs / "users.yaml").write_text(SPEC_V1, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "Add the users document")
    git(repo, "branch", "base")
    return specs


def test_breaking_api_document_change_needs_a_breaking_fragment(
    workspace_repo: Path, git: Callable[..., str], run_gate: Gate
) -> None:
    specs = commit_users_document_as_base(workspace_repo, git)

    # The username field disappears from responses: old clients that read it break.
    (specs / "users.yaml").write_text(
        SPEC_V1.replace("required: [id, username]", "required: [id]").replace(
            "        username: {type: string}\n", ""
        ),
        encoding="utf-8",
    )
    fragments = workspace_repo / "packages/common_clients/clients/users/changelog.d"
    (fragments / "+users.feature.md").write_text("Changed the users client.\n", encoding="utf-8")

    result = run_gate(workspace_repo, "--base", "base")
    assert result.returncode == 1
    assert (
        "common-clients-users: packages/common_clients/specs/users.yaml changed in a way that"
        in result.stderr
    )
    assert "username" in result.stderr

    (fragments / "+users.feature.md").rename(fragments / "+users.breaking.md")
    result = run_gate(workspace_repo, "--base", "base")
    assert result.returncode == 0, result.stderr


def test_compatible_api_document_change_needs_no_breaking_fragment(
    workspace_repo: Path, git: Callable[..., str], run_gate: Gate
) -> None:
    specs = commit_users_document_as_base(workspace_repo, git)

    (specs / "users.yaml").write_text(SPEC_V1 + "        email: {type: string}\n", encoding="utf-8")

    result = run_gate(workspace_repo, "--base", "base")
    assert result.returncode == 0, result.stderr
