"""The workspace model and the foundation's commands refuse a malformed repository in one line."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from commons_tools.errors import WorkspaceError
from commons_tools.workspace import load_workspace, read_version, write_version

Tool = Callable[..., subprocess.CompletedProcess[str]]


def test_packages_come_in_dependency_order(workspace_repo: Path) -> None:
    workspace = load_workspace(workspace_repo)

    assert [p.dist_name for p in workspace.packages] == [
        "common-utils",
        "common-auth",
        "common-clients",
        "common-clients-notifications",
        "common-clients-orders",
        "common-clients-users",
    ]
    assert [p.dist_name for p in workspace.dependents(workspace.get("common_utils"))] == [
        "common-auth",
        "common-clients",
    ]
    assert [p.dist_name for p in workspace.dependents(workspace.get("common-clients"))] == [
        "common-clients-notifications",
        "common-clients-orders",
        "common-clients-users",
    ]


def test_the_members_globs_of_the_root_project_find_the_packages(workspace_repo: Path) -> None:
    users = load_workspace(workspace_repo).get("common-clients-users")

    assert users.module == "common_clients_users"
    assert users.root == workspace_repo / "packages/common_clients/clients/users"
    assert users.about == users.root / "src/common_clients_users/__about__.py"
    assert users.spec == (workspace_repo / "packages/common_clients/specs/users.yaml").resolve()
    assert load_workspace(workspace_repo).get("common-clients").spec is None

    # A new client package is found as soon as the folder holds a pyproject.toml; a folder no
    # members glob matches is not a package.
    clients = workspace_repo / "packages/common_clients/clients"
    shutil.copytree(clients / "users", clients / "catalog")
    catalog = clients / "catalog" / "pyproject.toml"
    catalog.write_text(
        catalog.read_text().replace(
            'name = "common-clients-users"', 'name = "common-clients-catalog"'
        )
    )
    (workspace_repo / "elsewhere").mkdir()
    shutil.copy2(catalog, workspace_repo / "elsewhere" / "pyproject.toml")
    names = [p.dist_name for p in load_workspace(workspace_repo).packages]
    assert "common-clients-catalog" in names
    assert len(names) == 7


def test_two_members_of_one_name_are_refused(workspace_repo: Path) -> None:
    clients = workspace_repo / "packages/common_clients/clients"
    shutil.copytree(clients / "users", clients / "users2")

    with pytest.raises(
        WorkspaceError, match="two workspace members are called common-clients-users"
    ):
        load_workspace(workspace_repo)


def test_a_member_without_its_version_file_path_names_the_project_file(
    workspace_repo: Path,
) -> None:
    pyproject = workspace_repo / "packages/common_clients/clients/orders/pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("[tool.hatch.version]", "[tool.hatch.nothing]")
    )

    with pytest.raises(
        WorkspaceError, match=r"orders/pyproject\.toml: \[tool\.hatch\.version\] path"
    ):
        load_workspace(workspace_repo)


def test_a_dependency_that_does_not_parse_names_the_project_file(workspace_repo: Path) -> None:
    pyproject = workspace_repo / "packages/common_auth/pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"common-utils>=', '"common-utils>>=', 1))

    with pytest.raises(WorkspaceError, match=r"common_auth/pyproject\.toml: a dependency does not"):
        load_workspace(workspace_repo)


def test_a_version_that_is_not_pep_440_names_the_about_file(workspace_repo: Path) -> None:
    about = workspace_repo / "packages/common_utils/src/common_utils/__about__.py"
    about.write_text('__version__ = "0.1.0-final-final"\n')

    with pytest.raises(WorkspaceError, match=r"__about__\.py: '0\.1\.0-final-final' is not a PEP"):
        _ = load_workspace(workspace_repo).get("common-utils").version


def test_build_of_an_unknown_package_is_one_line(
    workspace_repo: Path, tmp_path: Path, tool: Tool
) -> None:
    result = tool("build", workspace_repo, "common-nope", "--outdir", str(tmp_path / "out"))

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "build: unknown package 'common-nope'; the packages are: common-utils, common-auth, "
        "common-clients, common-clients-notifications, common-clients-orders, common-clients-users"
    ]
    assert not (tmp_path / "out").exists()


def test_gate_over_a_broken_project_file_is_one_line(workspace_repo: Path, tool: Tool) -> None:
    pyproject = workspace_repo / "packages/common_clients/pyproject.toml"
    pyproject.write_text("[project\n")

    result = tool("gate", workspace_repo)

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("changelog: ")
    assert "packages/common_clients/pyproject.toml: not a valid project file" in line


def test_writing_a_version_changes_only_the_version(tmp_path: Path) -> None:
    about = tmp_path / "__about__.py"
    text = '"""The version."""\n\n__version__ = "0.1.0"\n\n# kept\n'
    about.write_text(text, encoding="utf-8")

    write_version(about, Version("0.2.0rc1"))

    assert about.read_text(encoding="utf-8") == text.replace("0.1.0", "0.2.0rc1")
    assert read_version(about) == Version("0.2.0rc1")


def test_writing_a_version_keeps_the_final_newline(tmp_path: Path) -> None:
    about = tmp_path / "__about__.py"
    about.write_text('__version__ = "1.0.0"\n', encoding="utf-8")

    write_version(about, Version("1.0.1"))

    assert about.read_text(encoding="utf-8") == '__version__ = "1.0.1"\n'
