"""Builds are reproducible: two builds of one commit give byte-identical wheels and sdists."""

from __future__ import annotations

import zipfile
from pathlib import Path

from commons_tools.build import build_all, sha256


def test_two_builds_give_identical_bytes_for_every_package(
    workspace_repo: Path, tmp_path: Path
) -> None:
    # A committed copy of the packages: a build reads the work tree, which must not move under it.
    first = build_all(workspace_repo, tmp_path / "one")
    second = build_all(workspace_repo, tmp_path / "two")

    # The runtime and the hand-written packages, and one package per service's client.
    assert len(first) == 2 * 6
    assert [p.name for p in first] == [p.name for p in second]
    assert {p.name: sha256(p) for p in first} == {p.name: sha256(p) for p in second}


def test_wheels_carry_typing_marker_and_version(workspace_repo: Path, tmp_path: Path) -> None:
    built = build_all(workspace_repo, tmp_path, ["common-utils"])

    wheel = next(p for p in built if p.suffix == ".whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "common_utils/py.typed" in names
    assert "common_utils/__about__.py" in names


def test_a_client_wheel_holds_its_generated_package_alone(
    workspace_repo: Path, tmp_path: Path
) -> None:
    built = build_all(workspace_repo, tmp_path, ["common-clients-users", "common-clients"])

    wheels = {p.name.split("-")[0]: zipfile.ZipFile(p) for p in built if p.suffix == ".whl"}
    client = wheels["common_clients_users"].namelist()
    assert "common_clients_users/py.typed" in client
    assert "common_clients_users/__about__.py" in client
    assert "common_clients_users/models.py" in client
    assert not [n for n in client if n.startswith("common_clients/")]
    metadata = next(n for n in client if n.endswith("METADATA"))
    requires = [
        line
        for line in wheels["common_clients_users"].read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    assert requires == ["Requires-Dist: common-clients<0.2,>=0.1.0"]

    runtime = wheels["common_clients"].namelist()
    # The generated clients, the test-only inventory client and the corpus fetcher stay out.
    for left_out in ("users/", "orders/", "notifications/", "inventory/", "codegen/_corpus.py"):
        assert not [n for n in runtime if n.startswith(f"common_clients/{left_out}")]
    metadata = next(n for n in runtime if n.endswith("METADATA"))
    text = wheels["common_clients"].read(metadata).decode()
    assert "Requires-Dist: common-auth" not in text
    assert "Requires-Dist: common-utils" in text
