"""Builds are reproducible: two builds of one commit give byte-identical wheels and sdists."""

from __future__ import annotations

import zipfile
from pathlib import Path

from commons_tools.build import build_all, sha256


def test_two_builds_give_identical_bytes_for_all_six_files(
    workspace_repo: Path, tmp_path: Path
) -> None:
    # A committed copy of the packages: a build reads the work tree, which must not move under it.
    first = build_all(workspace_repo, tmp_path / "one")
    second = build_all(workspace_repo, tmp_path / "two")

    assert len(first) == 6
    assert [p.name for p in first] == [p.name for p in second]
    assert {p.name: sha256(p) for p in first} == {p.name: sha256(p) for p in second}


def test_wheels_carry_typing_marker_and_version(workspace_repo: Path, tmp_path: Path) -> None:
    built = build_all(workspace_repo, tmp_path, ["common-utils"])

    wheel = next(p for p in built if p.suffix == ".whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "common_utils/py.typed" in names
    assert "common_utils/__about__.py" in names
