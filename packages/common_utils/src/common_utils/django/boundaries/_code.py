"""Where code lives: the project's own files against libraries, and which app owns a module."""

from __future__ import annotations

import os
import site
import sysconfig
from collections.abc import Iterable
from functools import cache
from pathlib import Path

# Modules that are never a call site or a project app: the framework, Commons, the test tools,
# and the script that started the process (manage.py runs as __main__: a statement whose only
# project frame is manage.py is the test runner's own work, such as flushing the database).
FRAMEWORK_PACKAGES = frozenset(
    {"django", "common_utils", "pytest", "_pytest", "pluggy", "pytest_django", "unittest"}
    | {"__main__"}
)


@cache
def _library_roots() -> tuple[str, ...]:
    roots: set[str] = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(os.path.realpath(path))
    for path in [*site.getsitepackages(), site.getusersitepackages()]:
        if path:
            roots.add(os.path.realpath(path))
    return tuple(sorted(roots))


@cache
def is_library_file(filename: str) -> bool:
    """True for files of installed libraries and the standard library (and ``<frozen ...>``)."""
    if not filename or filename.startswith("<"):
        return True
    parts = Path(filename).parts
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    real = os.path.realpath(filename)
    return any(real == root or real.startswith(root + os.sep) for root in _library_roots())


def is_framework_module(module: str) -> bool:
    """True for modules of Django, Commons and the test tools."""
    return module.partition(".")[0] in FRAMEWORK_PACKAGES


class ModuleOwners:
    """Maps a dotted module name to the label of the app whose package holds it."""

    def __init__(self, apps: Iterable[tuple[str, str]]) -> None:
        """``apps``: (app label, app module name) pairs."""
        self._by_name = {name: label for label, name in apps}

    def owner(self, module: str) -> str | None:
        """The app label owning ``module`` (the longest app package that is a prefix), or None."""
        name = module
        while name:
            label = self._by_name.get(name)
            if label is not None:
                return label
            name, _, _ = name.rpartition(".")
        return None


def display_path(filename: str) -> str:
    """``filename`` relative to the current directory when it lies inside it."""
    try:
        return str(Path(filename).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return filename
