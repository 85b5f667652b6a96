"""The workspace model: the packages under ``packages/``, their versions and dependencies.

The packages are the members the root ``pyproject.toml`` lists under ``[tool.uv.workspace]``
(globs such as ``packages/*`` and ``packages/common_clients/clients/*``): a folder holding a
``pyproject.toml`` that matches one of them is a package, nothing else is. Each package's import
name comes from its ``[tool.hatch.version] path`` (``src/<module>/__about__.py``). A generated
client package names its OpenAPI document with ``[tool.commons] spec = "..."`` (relative to the
package folder).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from commons_tools.errors import WorkspaceError

# Spaces only at the end: ``\s*$`` would swallow the line's newline, and the rewrite with it.
_VERSION_LINE = re.compile(r'^__version__[ \t]*=[ \t]*"(?P<version>[^"]+)"[ \t]*$', re.MULTILINE)

#: The example services under ``services/`` (each its own Django project).
SERVICES = ("users", "orders", "notifications")


@dataclass(frozen=True)
class Package:
    """One independently versioned package: ``packages/<module>`` with dist name ``<dist_name>``."""

    dist_name: str
    module: str
    root: Path
    requirements: tuple[Requirement, ...]
    #: The OpenAPI document a generated client package is made from (None for hand-written ones).
    spec: Path | None = None

    @property
    def pyproject(self) -> Path:
        return self.root / "pyproject.toml"

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def about(self) -> Path:
        return self.root / "src" / self.module / "__about__.py"

    @property
    def changelog_dir(self) -> Path:
        return self.root / "changelog.d"

    @property
    def changelog(self) -> Path:
        return self.root / "CHANGELOG.md"

    @property
    def version(self) -> Version:
        return read_version(self.about)

    @property
    def tag_prefix(self) -> str:
        return f"{self.dist_name}-v"

    def tag(self, version: Version | None = None) -> str:
        """The release tag of ``version`` (the current one by default): ``common-utils-v1.2.0``."""
        return f"{self.tag_prefix}{version or self.version}"


@dataclass(frozen=True)
class Workspace:
    """All packages of the repository at ``repo``, in dependency order (dependencies first)."""

    repo: Path
    packages: tuple[Package, ...]

    def get(self, name: str) -> Package:
        """The package called ``name``, by dist name (``common-utils``) or module name."""
        wanted = canonicalize_name(name)
        for package in self.packages:
            if wanted in (canonicalize_name(package.dist_name), canonicalize_name(package.module)):
                return package
        known = ", ".join(p.dist_name for p in self.packages)
        raise WorkspaceError(f"unknown package {name!r}; the packages are: {known}")

    @cached_property
    def _by_dist(self) -> dict[str, Package]:
        return {canonicalize_name(p.dist_name): p for p in self.packages}

    def internal_requirements(self, package: Package) -> list[tuple[Requirement, Package]]:
        """The requirements of ``package`` on other packages of this workspace."""
        found = []
        for requirement in package.requirements:
            target = self._by_dist.get(canonicalize_name(requirement.name))
            if target is not None:
                found.append((requirement, target))
        return found

    def dependents(self, package: Package) -> list[Package]:
        """The packages that require ``package`` directly."""
        return [
            other
            for other in self.packages
            if any(target == package for _, target in self.internal_requirements(other))
        ]


def read_version(about: Path) -> Version:
    """The ``__version__`` written in an ``__about__.py`` file."""
    match = _VERSION_LINE.search(about.read_text(encoding="utf-8"))
    if match is None:
        raise WorkspaceError(f'{about}: no line of the form __version__ = "X.Y.Z"')
    try:
        return Version(match["version"])
    except InvalidVersion:
        raise WorkspaceError(f"{about}: {match['version']!r} is not a PEP 440 version") from None


def write_version(about: Path, version: Version) -> None:
    """Rewrite the ``__version__`` line of an ``__about__.py`` file, leaving the rest as it is."""
    text = about.read_text(encoding="utf-8")
    new, count = _VERSION_LINE.subn(f'__version__ = "{version}"', text)
    if count != 1:
        raise WorkspaceError(f'{about}: expected exactly one __version__ = "..." line')
    about.write_text(new, encoding="utf-8")


#: The members when the root ``pyproject.toml`` names none.
DEFAULT_MEMBERS = ("packages/*",)


def member_globs(repo: Path) -> tuple[str, ...]:
    """The ``[tool.uv.workspace] members`` globs of the root ``pyproject.toml``."""
    root = repo / "pyproject.toml"
    if not root.is_file():
        return DEFAULT_MEMBERS
    try:
        config = tomllib.loads(root.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{root}: not a valid project file ({exc})") from None
    members = config.get("tool", {}).get("uv", {}).get("workspace", {}).get("members")
    if members is None:
        return DEFAULT_MEMBERS
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise WorkspaceError(f"{root}: [tool.uv.workspace] members must be a list of globs")
    return tuple(members)


def package_roots(repo: Path) -> list[Path]:
    """Every folder below ``repo`` that a member glob matches and that holds a pyproject.toml."""
    roots = {
        folder
        for pattern in member_globs(repo)
        for folder in repo.glob(pattern)
        if (folder / "pyproject.toml").is_file()
    }
    return sorted(roots)


def _module_of(pyproject: Path, config: dict[str, object], name: str) -> str:
    """The import name: the folder of ``[tool.hatch.version] path`` (``src/<module>/...``)."""
    tool = config.get("tool")
    hatch = tool.get("hatch", {}) if isinstance(tool, dict) else {}
    version = hatch.get("version", {}) if isinstance(hatch, dict) else {}
    path = version.get("path") if isinstance(version, dict) else None
    parts = Path(path).parts if isinstance(path, str) else ()
    if len(parts) != 3 or parts[0] != "src" or parts[2] != "__about__.py":
        raise WorkspaceError(
            f"{pyproject}: [tool.hatch.version] path must be src/<module>/__about__.py "
            f"(the version file of {name})"
        )
    return parts[1]


def _spec_of(pyproject: Path, config: dict[str, object]) -> Path | None:
    tool = config.get("tool")
    commons = tool.get("commons", {}) if isinstance(tool, dict) else {}
    spec = commons.get("spec") if isinstance(commons, dict) else None
    if spec is None:
        return None
    if not isinstance(spec, str):
        raise WorkspaceError(f"{pyproject}: [tool.commons] spec must be a path")
    return (pyproject.parent / spec).resolve()


def load_workspace(repo: Path) -> Workspace:
    """Read the ``pyproject.toml`` of every workspace member below ``repo``."""
    packages: list[Package] = []
    for root in package_roots(repo):
        pyproject = root / "pyproject.toml"
        try:
            config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            project = config["project"]
            name = project["name"]
            requirements = tuple(Requirement(r) for r in project.get("dependencies", []))
        except (tomllib.TOMLDecodeError, KeyError) as exc:
            raise WorkspaceError(f"{pyproject}: not a valid project file ({exc})") from None
        except InvalidRequirement as exc:
            raise WorkspaceError(f"{pyproject}: a dependency does not parse ({exc})") from None
        packages.append(
            Package(
                dist_name=name,
                module=_module_of(pyproject, config, name),
                root=root,
                requirements=requirements,
                spec=_spec_of(pyproject, config),
            )
        )
    names = [canonicalize_name(p.dist_name) for p in packages]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise WorkspaceError(f"two workspace members are called {', '.join(twice)}")
    workspace = Workspace(repo=repo, packages=tuple(packages))
    return Workspace(repo=repo, packages=tuple(_dependency_order(workspace)))


def _dependency_order(workspace: Workspace) -> list[Package]:
    ordered: list[Package] = []
    visiting: set[str] = set()

    def visit(package: Package) -> None:
        if package in ordered:
            return
        if package.dist_name in visiting:
            raise WorkspaceError(f"dependency cycle through {package.dist_name}")
        visiting.add(package.dist_name)
        for _, target in workspace.internal_requirements(package):
            visit(target)
        visiting.discard(package.dist_name)
        ordered.append(package)

    for package in workspace.packages:
        visit(package)
    return ordered
