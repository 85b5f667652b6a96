"""Supported Python and Django versions: what the READMEs say, CI tests, installers accept."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("common_utils", "common_auth", "common_clients")
READMES = [REPO / "README.md", *(REPO / "packages" / p / "README.md" for p in PACKAGES)]


def _ci_pairs() -> dict[str, str]:
    """Django series -> Python, as the noxfile's DJANGO_PAIRS pairs them for CI."""
    tree = ast.parse((REPO / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Dict)
            and any(isinstance(t, ast.Name) and t.id == "DJANGO_PAIRS" for t in node.targets)
        ):
            pairs: dict[str, str] = {}
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                assert isinstance(key, ast.Constant)
                assert isinstance(value, ast.Call)
                python = value.args[0]
                assert isinstance(python, ast.Constant)
                pairs[str(key.value)] = str(python.value)
            return pairs
    raise AssertionError("noxfile.py has no DJANGO_PAIRS")


def _support_table(readme: Path) -> dict[str, dict[str, str]]:
    """The README's support table: Django series -> {Python: cell}."""
    text = readme.read_text(encoding="utf-8")
    match = re.search(r"## Supported versions\n\n(\|.+\|\n)+", text)
    assert match, f"{readme}: no support table"
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in match.group(0).splitlines()[2:]
    ]
    header, body = rows[0], rows[2:]
    pythons = [cell.removeprefix("Python ") for cell in header[1:]]
    return {row[0].split()[0]: dict(zip(pythons, row[1:], strict=True)) for row in body}


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(REPO)))
def test_each_readme_marks_the_pairs_ci_tests_and_no_others(readme: Path) -> None:
    table = _support_table(readme)
    tested = {
        (django, python)
        for django, row in table.items()
        for python, cell in row.items()
        if cell == "tested in CI"
    }
    assert tested == set(_ci_pairs().items())
    assert "4.2" not in table


@pytest.mark.parametrize("package", PACKAGES)
def test_classifiers_and_requirements_admit_every_supported_pair(package: str) -> None:
    project = tomllib.loads((REPO / "packages" / package / "pyproject.toml").read_text())["project"]
    table = _support_table(REPO / "packages" / package / "README.md")
    classifiers = set(project["classifiers"])
    for django, row in table.items():
        assert f"Framework :: Django :: {django}" in classifiers, django
        for python, cell in row.items():
            if cell in ("supported", "tested in CI"):
                assert f"Programming Language :: Python :: {python}" in classifiers, python
    assert "Framework :: Django :: 4.2" not in classifiers
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    requirements = [Requirement(r) for r in [*project["dependencies"], *extras]]
    for requirement in requirements:
        if requirement.name == "django":
            assert not requirement.specifier.contains(Version("4.2.20"))
            assert all(requirement.specifier.contains(Version(f"{d}.0")) for d in table)


@pytest.mark.slow
def test_common_auth_with_its_django_extras_resolves_beside_django_6_1() -> None:
    """The issue's done-check: `common-auth[django,drf]` beside `django==6.1.*` resolves."""
    requirements = "\n".join(
        [
            f"common-auth[django,drf] @ {(REPO / 'packages/common_auth').as_uri()}",
            f"common-utils @ {(REPO / 'packages/common_utils').as_uri()}",
            "django==6.1.*",
        ]
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "uv",
            "pip",
            "compile",
            "-",
            "--python-version",
            "3.13",
            "--quiet",
            "--no-header",
            "--no-annotate",
        ],
        input=requirements,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    pinned = dict(line.split("==", 1) for line in result.stdout.splitlines() if "==" in line)
    assert Version(pinned["django"]).release[:2] == (6, 1)
    assert "djangorestframework" in pinned
