"""The release run end to end, in temporary git repositories against a real pypiserver."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from commons_tools.build import verify_wheels
from commons_tools.errors import VerifyError
from commons_tools.index import RunningIndex
from commons_tools.release import verify_internal_requirements
from commons_tools.simple_api import IndexTarget, project_files

pytestmark = pytest.mark.slow

CLIENTS = ("common-clients-notifications", "common-clients-orders", "common-clients-users")
PROJECTS = ("common-utils", "common-auth", "common-clients", *CLIENTS)
# The client packages' first release, recorded before a rehearsal like every package's 0.1.0.
FIRST_CLIENT_FILES = tuple(
    f"{client.replace('-', '_')}-0.1.0{end}"
    for client in CLIENTS
    for end in ("-py3-none-any.whl", ".tar.gz")
)


def _index_shas(target: IndexTarget) -> dict[str, str | None]:
    return {
        name: entry.sha256
        for project in PROJECTS
        for name, entry in project_files(target, project).items()
    }


def _assert_rebuild_gives_the_index_bytes(
    kit: Any, repo: Path, on_index: dict[str, str | None], *packages: str
) -> None:
    """``nox -s build`` of the checked-out commit gives, file for file, the sha256 on the index."""
    outdir = repo.parent / "rebuilt"
    rebuilt = kit.tool("build", *packages, "--outdir", str(outdir), repo=repo)
    assert rebuilt.returncode == 0, rebuilt.stderr
    for path in outdir.iterdir():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == on_index[path.name], path.name


def test_two_packages_with_fragments_release_with_cascade_changelogs_tags_and_uploads(
    kit: Any, index: RunningIndex, index_target: IndexTarget
) -> None:
    make_repo, tool, git, index_env = kit.make_repo, kit.tool, kit.git, kit.index_env
    repo = make_repo(
        fragments={
            "common-utils": {"+drop-old-router.breaking.md": "Removed `OldRouter`.\n"},
            "common-auth": {"+scopes.feature.md": "Added `common_auth.require_scopes`.\n"},
        }
    )

    result = tool("release", repo=repo, env=index_env(index))

    assert result.returncode == 0, result.stderr
    assert index.credentials.password not in result.stdout + result.stderr
    about = {
        module: (repo / f"packages/{module}/src/{module}/__about__.py").read_text()
        for module in ("common_utils", "common_auth", "common_clients")
    }
    assert '__version__ = "0.2.0"' in about["common_utils"]
    assert '__version__ = "0.2.0"' in about["common_auth"]  # its feature, and the cascade
    assert '__version__ = "0.1.1"' in about["common_clients"]  # the cascade alone
    assert git(repo, "log", "-1", "--format=%s") == (
        "Release common-auth 0.2.0, common-clients 0.1.1, common-utils 0.2.0"
    )
    tags = git(repo, "tag", "--list", "--points-at", "HEAD").split()
    assert sorted(tags) == ["common-auth-v0.2.0", "common-clients-v0.1.1", "common-utils-v0.2.0"]
    assert {git(repo, "cat-file", "-t", tag) for tag in tags} == {"tag"}  # annotated
    assert git(repo, "status", "--porcelain") == ""

    clients_pyproject = (repo / "packages/common_clients/pyproject.toml").read_text()
    assert '"common-utils>=0.2.0,<0.3",' in clients_pyproject
    # common-clients 0.1.1 stays inside the client packages' range: they are not released.
    users_pyproject = repo / "packages/common_clients/clients/users/pyproject.toml"
    assert '"common-clients>=0.1.0,<0.2"' in users_pyproject.read_text()
    assert (
        '"common-utils>=0.2.0,<0.3",' in (repo / "packages/common_auth/pyproject.toml").read_text()
    )

    utils_log = (repo / "packages/common_utils/CHANGELOG.md").read_text()
    assert "## 0.2.0 (" in utils_log
    assert "Removed `OldRouter`." in utils_log
    clients_log = (repo / "packages/common_clients/CHANGELOG.md").read_text()
    assert "## 0.1.1 (" in clients_log
    assert (
        "Required `common-utils>=0.2.0,<0.3` (was `common-utils>=0.1.0,<0.2`): "
        "common-utils 0.2.0 was released outside the old range." in clients_log
    )
    root_log = (repo / "CHANGELOG.md").read_text()
    assert "- common-utils==0.2.0\n- common-auth==0.2.0\n- common-clients==0.1.1\n" in root_log
    pending = [p.name for p in (repo / "packages").glob("*/changelog.d/*") if p.name != ".gitkeep"]
    assert pending == []

    on_index = _index_shas(index_target)
    # The releases recorded before (0.1.0), which this fresh index lacked, went up too.
    assert sorted(on_index) == [
        "common_auth-0.1.0-py3-none-any.whl",
        "common_auth-0.1.0.tar.gz",
        "common_auth-0.2.0-py3-none-any.whl",
        "common_auth-0.2.0.tar.gz",
        "common_clients-0.1.0-py3-none-any.whl",
        "common_clients-0.1.0.tar.gz",
        "common_clients-0.1.1-py3-none-any.whl",
        "common_clients-0.1.1.tar.gz",
        *(
            f"{c.replace('-', '_')}-0.1.0{end}"
            for c in CLIENTS
            for end in ("-py3-none-any.whl", ".tar.gz")
        ),
        "common_utils-0.1.0-py3-none-any.whl",
        "common_utils-0.1.0.tar.gz",
        "common_utils-0.2.0-py3-none-any.whl",
        "common_utils-0.2.0.tar.gz",
    ]
    # Reproducible: a build of the release commit gives the bytes the index has (of the packages
    # it released; the client packages stay at the 0.1.0 built from an earlier commit).
    _assert_rebuild_gives_the_index_bytes(
        kit, repo, on_index, "common-utils", "common-auth", "common-clients"
    )

    again = tool("release", repo=repo, env=index_env(index))
    assert again.returncode == 0, again.stderr
    # The latest release of each of the six packages, compared with the index.
    assert "0 uploaded, 12 already there." in again.stdout


def test_dry_run_leaves_git_status_and_the_index_untouched(
    kit: Any, index: RunningIndex, index_target: IndexTarget
) -> None:
    make_repo, tool, git, index_env = kit.make_repo, kit.tool, kit.git, kit.index_env
    repo = make_repo(fragments={"common-utils": {"+x.breaking.md": "Removed `x`.\n"}})
    before = kit.state(repo)

    result = tool("release", "--dry-run", repo=repo, env=index_env(index))

    assert result.returncode == 0, result.stderr
    assert re.search(r"^common-utils +0\.1\.0 -> 0\.2\.0 ", result.stdout, re.MULTILINE)
    assert "cascade: common-utils 0.2.0 outside common-utils>=0.1.0,<0.2" in result.stdout
    assert git(repo, "status", "--porcelain", "--ignored") == ""
    assert kit.state(repo) == before
    assert _index_shas(index_target) == {}
    assert sorted(index.storage.iterdir()) == []


def test_pre_release_run_tags_rc_versions(
    kit: Any, index: RunningIndex, index_target: IndexTarget
) -> None:
    make_repo, tool, git, index_env = kit.make_repo, kit.tool, kit.git, kit.index_env
    repo = make_repo(fragments={"common-utils": {"+fix.fix.md": "Fixed `x`.\n"}})

    first = tool("release", "--pre", "rc", repo=repo, env=index_env(index))
    (repo / "packages/common_utils/changelog.d/+more.fix.md").write_text("Fixed `y`.\n")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "Fix y")
    second = tool("release", "--pre", "rc", "--no-publish", repo=repo, env=index_env(index))

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert git(repo, "tag", "--list", "common-utils-v0.1.1*").split() == [
        "common-utils-v0.1.1rc1",
        "common-utils-v0.1.1rc2",
    ]
    assert sorted(_index_shas(index_target)) == sorted(
        [
            "common_auth-0.1.0-py3-none-any.whl",
            "common_auth-0.1.0.tar.gz",
            "common_clients-0.1.0-py3-none-any.whl",
            "common_clients-0.1.0.tar.gz",
            "common_utils-0.1.0-py3-none-any.whl",
            "common_utils-0.1.0.tar.gz",
            "common_utils-0.1.1rc1-py3-none-any.whl",
            "common_utils-0.1.1rc1.tar.gz",
            *FIRST_CLIENT_FILES,
        ]
    )


def test_a_release_whose_tags_are_gone_is_published_from_releases_toml(
    kit: Any, index: RunningIndex, index_target: IndexTarget
) -> None:
    repo = kit.make_repo(fragments={"common-utils": {"+x.fix.md": "Fixed `x`.\n"}})
    committed = kit.tool("release", "--no-publish", repo=repo, env=kit.index_env(index))
    assert committed.returncode == 0, committed.stderr
    tags = kit.git(repo, "tag").split()
    kit.git(repo, "tag", "--delete", *tags)  # nothing reads them

    rerun = kit.tool("release", repo=repo, env=kit.index_env(index))

    assert rerun.returncode == 0, rerun.stderr
    assert kit.git(repo, "tag") == ""
    assert sorted(_index_shas(index_target)) == sorted(
        [
            "common_auth-0.1.0-py3-none-any.whl",  # every recorded release the index lacked
            "common_auth-0.1.0.tar.gz",
            "common_clients-0.1.0-py3-none-any.whl",
            "common_clients-0.1.0.tar.gz",
            "common_utils-0.1.0-py3-none-any.whl",
            "common_utils-0.1.0.tar.gz",
            "common_utils-0.1.1-py3-none-any.whl",
            "common_utils-0.1.1.tar.gz",
            *FIRST_CLIENT_FILES,
        ]
    )


def test_built_wheels_must_require_what_the_release_provides(
    tmp_path: Path, tiny_wheel: Callable[..., Path]
) -> None:
    auth = tiny_wheel(
        tmp_path, "common-auth", "0.1.1", "", ("common-utils>=0.1.0,<0.2", "httpx>=0.27")
    )

    verify_internal_requirements([auth], {"common-utils": Version("0.1.5")})
    with pytest.raises(
        VerifyError,
        match=r"common_auth-0\.1\.1-py3-none-any\.whl requires common-utils>=0\.1\.0,<0\.2 but "
        r"common-utils will be at 0\.2\.0",
    ):
        verify_internal_requirements([auth], {"common-utils": Version("0.2.0")})


def test_a_wheel_that_imports_at_another_version_than_planned_is_refused(
    tmp_path: Path, tiny_wheel: Callable[..., Path]
) -> None:
    wheel = tiny_wheel(tmp_path, "demo-pkg", "1.0.0", '__version__ = "1.0.0"\n')

    verify_wheels([wheel], {"demo-pkg": ("demo_pkg", "1.0.0")})
    with pytest.raises(
        VerifyError,
        match=r"demo-pkg: the wheel says demo_pkg\.__version__=1\.0\.0 and metadata 1\.0\.0, "
        r"the plan says 1\.0\.1",
    ):
        verify_wheels([wheel], {"demo-pkg": ("demo_pkg", "1.0.1")})
    with pytest.raises(VerifyError, match="do not import in a fresh venv: ModuleNotFoundError"):
        verify_wheels([wheel], {"demo-pkg": ("demo_pkg_missing", "1.0.0")})


def test_a_release_made_without_publishing_is_published_from_its_record_later(
    kit: Any, index: RunningIndex, index_target: IndexTarget
) -> None:
    repo = kit.make_repo(fragments={"common-auth": {"+x.fix.md": "Fixed `x`.\n"}})
    made = kit.tool("release", "--no-publish", repo=repo, env=kit.index_env(index))
    assert made.returncode == 0, made.stderr
    released = kit.git(repo, "rev-parse", "HEAD")
    (repo / "packages/common_auth/README.md").write_text("Work after the release.\n")
    kit.git(repo, "commit", "--quiet", "-am", "Work after the release")

    later = kit.tool("release", repo=repo, env=kit.index_env(index))

    assert later.returncode == 0, later.stderr
    rebuilt = next(line for line in later.stdout.splitlines() if "Rebuilding from" in line)
    assert "common-auth 0.1.1" in rebuilt
    on_index = _index_shas(index_target)
    assert sorted(on_index) == sorted(
        [
            # Every recorded release: the ones before the rehearsal (0.1.0) and the new one.
            "common_auth-0.1.0-py3-none-any.whl",
            "common_auth-0.1.0.tar.gz",
            "common_auth-0.1.1-py3-none-any.whl",
            "common_auth-0.1.1.tar.gz",
            "common_clients-0.1.0-py3-none-any.whl",
            "common_clients-0.1.0.tar.gz",
            "common_utils-0.1.0-py3-none-any.whl",
            "common_utils-0.1.0.tar.gz",
            *FIRST_CLIENT_FILES,
        ]
    )
    # Built from the recorded tree, not from the later README: a build of the release commit
    # gives the same bytes.
    kit.git(repo, "checkout", "--quiet", released)
    _assert_rebuild_gives_the_index_bytes(kit, repo, on_index, "common-auth")


def test_a_breaking_runtime_release_re_releases_each_client_package_on_its_new_range(
    kit: Any, index: RunningIndex, index_target: IndexTarget
) -> None:
    repo = kit.make_repo(
        fragments={"common-clients": {"+renamed.breaking.md": "Renamed `SyncClient.send`.\n"}}
    )

    result = kit.tool("release", repo=repo, env=kit.index_env(index))

    assert result.returncode == 0, result.stderr
    assert kit.git(repo, "log", "-1", "--format=%s") == (
        "Release common-clients 0.2.0, common-clients-notifications 0.1.1, "
        "common-clients-orders 0.1.1, common-clients-users 0.1.1"
    )
    users = repo / "packages/common_clients/clients/users"
    assert '"common-clients>=0.2.0,<0.3"' in (users / "pyproject.toml").read_text()
    assert '__version__ = "0.1.1"' in (users / "src/common_clients_users/__about__.py").read_text()
    log = (users / "CHANGELOG.md").read_text()
    assert "## 0.1.1 (" in log
    assert "Required `common-clients>=0.2.0,<0.3` (was `common-clients>=0.1.0,<0.2`)" in log
    assert "common-clients-users-v0.1.1" in kit.git(repo, "tag", "--points-at", "HEAD").split()
    on_index = _index_shas(index_target)
    assert "common_clients_users-0.1.1-py3-none-any.whl" in on_index
    assert "common_clients_users-0.1.1.tar.gz" in on_index
