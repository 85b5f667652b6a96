"""Imports of one app's modules by another, read from the source with ``ast`` (nothing imported).

The same walk notes where custom signals are defined (``name = Signal()`` at module level), so
receivers of another app's signal can be told apart.
"""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from common_utils.django.boundaries._code import ModuleOwners, display_path
from common_utils.django.boundaries._ties import Tie

MAX_SOURCE_BYTES = 2 * 1024 * 1024  # larger files are generated data, not code: skipped
MAX_DEPTH = 16  # folders below an app's package
SKIPPED_FOLDERS = frozenset({"migrations", "__pycache__", "node_modules", "static", "templates"})


@dataclass(frozen=True)
class AppSource:
    """An app whose source is read: its label, package name and folder."""

    label: str
    name: str
    path: Path


@dataclass
class ImportScan:
    """What the source walk found."""

    ties: list[Tie] = field(default_factory=list)
    signals: dict[tuple[str, str], str] = field(default_factory=dict)  # (module, name) -> app
    files: int = 0
    warnings: list[str] = field(default_factory=list)


def scan_imports(apps: list[AppSource], owners: ModuleOwners) -> ImportScan:
    """Read every module of ``apps`` and return the imports that reach into another app."""
    scan = ImportScan()
    app_folders = {app.path.resolve() for app in apps}
    seen: dict[str, Tie] = {}
    sources = [
        (app, module, path) for app in apps for module, path in _modules(app, app_folders, scan)
    ]
    known = {module for _, module, _ in sources} | set(sys.modules)
    for app, module, path in sources:
        scan.files += 1
        tree = _parse(path, scan)
        if tree is None:
            continue
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for target_module, lineno in _imported_modules(tree, package, known):
            target = owners.owner(target_module)
            if target is None or target == app.label:
                continue
            key = f"import:{module}->{target_module}"
            if key not in seen:
                seen[key] = Tie(
                    kind="import",
                    source=app.label,
                    target=target,
                    key=key,
                    detail=f"{module} imports {target_module}",
                    where=f"{display_path(str(path))}:{lineno}",
                )
        for name in _signal_definitions(tree):
            scan.signals[(module, name)] = app.label
    scan.ties = sorted(seen.values(), key=lambda tie: tie.key)
    return scan


def _modules(app: AppSource, app_folders: set[Path], scan: ImportScan) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    root = app.path.resolve()
    for folder, subfolders, files in os.walk(root):  # symlinked folders are not followed
        here = Path(folder)
        relative = here.relative_to(root).parts
        subfolders[:] = sorted(
            name
            for name in subfolders
            if name not in SKIPPED_FOLDERS
            and not name.startswith(".")
            and (here / name).resolve() not in app_folders  # a nested app reads its own
            and len(relative) < MAX_DEPTH
        )
        for filename in sorted(files):
            if not filename.endswith(".py"):
                continue
            path = here / filename
            if path.is_symlink():
                scan.warnings.append(f"{display_path(str(path))}: a symlink, not read")
                continue
            stem = filename[:-3]
            parts = [*relative] if stem == "__init__" else [*relative, stem]
            if not all(part.isidentifier() for part in parts):
                continue
            found.append((".".join([app.name, *parts]), path))
    return found


def _parse(path: Path, scan: ImportScan) -> ast.Module | None:
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            scan.warnings.append(f"{display_path(str(path))}: larger than 2 MiB, not read")
            return None
        return ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError) as exc:
        scan.warnings.append(f"{display_path(str(path))}: not read ({exc.__class__.__name__})")
        return None


def _imported_modules(tree: ast.Module, package: str, known: set[str]) -> list[tuple[str, int]]:
    """(module, line) for each import; ``from m import n`` gives ``m.n`` when that is a module."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base is None:
                continue
            for alias in node.names:
                if alias.name == "*":
                    found.append((base, node.lineno))
                else:
                    name = f"{base}.{alias.name}" if base else alias.name
                    found.append((name if name in known or not base else base, node.lineno))
    return found


def _absolute(module: str | None, level: int, package: str) -> str | None:
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None  # beyond the top-level package: Python refuses it too
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base)


def _signal_definitions(tree: ast.Module) -> list[str]:
    """Names bound at module level to ``Signal(...)`` (or ``dispatch.Signal(...)``)."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if not isinstance(value, ast.Call):
            continue
        func = value.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if called in {"Signal", "ModelSignal"}:
            names.extend(t.id for t in targets if isinstance(t, ast.Name))
    return names
