"""The example services are what the template makes: each structural file of a service rendered
from the template under the service's name is the service's own, byte for byte (the pyproject's
ruff table aside: the examples extend the repository's, a made service carries its own)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from template.support import ROOT, copier

SERVICES = ROOT / "services"
# Files every example service shares with the template; orders is wired as the template is.
COMMON_FILES = ("manage.py",)
ORDERS_FILES = (
    "manage.py",
    "gunicorn.conf.py",
    "orders_service/__init__.py",
    "orders_service/celery.py",
    "orders_service/urls.py",
    "orders_service/wsgi.py",
)


# Names whose lines the formatter would join or split differently from the examples', and whose
# lines run longest: the shortest and a longest service_name copier.yml allows (no underscore: the
# longest client class).
OTHER_NAMES = ("a", "s" + "x" * 39)


def _make(factory: pytest.TempPathFactory, template_repo: Path, service: str) -> Path:
    target = factory.mktemp("made") / service
    copier(
        "copy",
        "--defaults",
        "--vcs-ref=HEAD",
        "--data",
        f"service_name={service}",
        str(template_repo),
        str(target),
        cwd=target.parent,
    )
    return target


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, template_repo: Path) -> dict[str, Path]:
    """The template made under each example service's name."""
    return {
        service: _make(tmp_path_factory, template_repo, service)
        for service in ("orders", "users", "notifications")
    }


@pytest.fixture(scope="module")
def rendered_other_names(
    tmp_path_factory: pytest.TempPathFactory, template_repo: Path
) -> dict[str, Path]:
    """The template made under the shortest and a longest name a service may have."""
    return {service: _make(tmp_path_factory, template_repo, service) for service in OTHER_NAMES}


def _tool_tables(path: Path) -> dict[str, Any]:
    tables = tomllib.loads(path.read_text())
    tables["tool"].pop("ruff")
    return tables


@pytest.mark.parametrize("name", ORDERS_FILES)
def test_orders_is_wired_as_the_template_makes_it(rendered: dict[str, Path], name: str) -> None:
    made = (rendered["orders"] / name).read_text()
    assert (SERVICES / "orders" / name).read_text() == made, (
        f"services/orders/{name} differs from what templates/service makes: change both"
    )


def _needs(path: Path) -> list[str]:
    """A requirements.in's requirement lines, without the generated clients of other services."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "common-clients-"))]


def test_orders_needs_what_the_template_needs_besides_its_clients(
    rendered: dict[str, Path],
) -> None:
    """Orders asks for what a made service asks for, pin for pin, and the users client besides
    (a made service calls no other service yet); each has its own lock made by ``nox -s pins``."""
    made = _needs(rendered["orders"] / "requirements.in")
    assert _needs(SERVICES / "orders" / "requirements.in") == made, (
        "services/orders/requirements.in differs from what templates/service makes: change both"
    )


@pytest.mark.parametrize("service", ["orders", "users", "notifications"])
def test_every_example_service_shares_the_templates_manage_py_and_tool_settings(
    rendered: dict[str, Path], service: str
) -> None:
    for name in COMMON_FILES:
        assert (SERVICES / service / name).read_text() == (rendered[service] / name).read_text(), (
            f"services/{service}/{name} differs from what templates/service makes"
        )
    assert _tool_tables(SERVICES / service / "pyproject.toml") == _tool_tables(
        rendered[service] / "pyproject.toml"
    )


def test_a_made_service_passes_its_own_lint_whatever_its_name(
    rendered: dict[str, Path], rendered_other_names: dict[str, Path]
) -> None:
    """ruff, with the made service's own settings, on each made service: the service's package
    and ``tests`` are both first-party, so their imports sort by name (``users`` after
    ``tests``, ``orders`` before it), and no line passes 100 characters, whatever the name's
    length (docstrings that name the service are wrapped as they are rendered)."""
    ruff = Path(sys.executable).with_name("ruff")
    for service, target in {**rendered, **rendered_other_names}.items():
        result = subprocess.run(
            [str(ruff), "check", "--no-cache", "."],
            cwd=target,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, f"{service}:\n{result.stdout}{result.stderr}"


def test_a_made_service_is_formatted_whatever_its_name(
    rendered: dict[str, Path], rendered_other_names: dict[str, Path]
) -> None:
    """``ruff format --check .``, which the made service's pyproject asks for, on each made
    service: no line the formatter would join or split, whatever the name's length."""
    ruff = Path(sys.executable).with_name("ruff")
    for service, target in {**rendered, **rendered_other_names}.items():
        result = subprocess.run(
            [str(ruff), "format", "--check", "--diff", "--no-cache", "."],
            cwd=target,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, f"{service}:\n{result.stdout}{result.stderr}"
