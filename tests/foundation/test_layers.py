"""The tools' modules import one way: each only from the layers below it (leaves <- users)."""

from __future__ import annotations

import ast
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "commons_tools"

#: Lowest first. A module may import from modules listed before it, never after.
LAYERS = [
    "errors",
    "processes",
    "git",
    "workspace",
    "fragments",
    "state",
    "build",
    "plan",
    "clients",
    "gate",
    "index",
    "simple_api",
    "publish",
    "rehearsal",
    "release",
    "pins",
    "stack",
    "traces",
    "specs",
    "demo",
]


def _imports(module: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "commons_tools":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("commons_tools."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(
                a.name.split(".")[1] for a in node.names if a.name.startswith("commons_tools.")
            )
    return found


def test_every_tools_module_has_a_layer() -> None:
    modules = {p.stem for p in TOOLS.glob("*.py") if p.stem != "__init__"}
    assert modules == set(LAYERS)


def test_imports_among_the_tools_point_one_way() -> None:
    upward = [
        f"{module} imports {imported}"
        for module in LAYERS
        for imported in sorted(_imports(TOOLS / f"{module}.py"))
        if LAYERS.index(imported) >= LAYERS.index(module)
    ]
    assert upward == []


def test_every_package_keeps_its_changelog_d_in_git() -> None:
    for package in (TOOLS.parents[1] / "packages").iterdir():
        if (package / "pyproject.toml").is_file():
            assert (package / "changelog.d" / ".gitkeep").is_file(), package.name
