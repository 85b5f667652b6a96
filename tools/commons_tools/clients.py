"""``nox -s clients``: each service's client package generated from its OpenAPI document.

A generated client is a workspace package of its own under ``packages/common_clients/clients/``
(``common-clients-users``, import ``common_clients_users``): its ``pyproject.toml`` names the
document it is made from (``[tool.commons] spec``), and everything in ``src/<module>/`` but the
release's ``__about__.py`` and ``py.typed`` is written by the generator (its marker file lists
what), never by hand. The
test-only inventory client is generated the same way into ``packages/common_clients/tests/``, out
of every published wheel.

``--check`` writes nothing and fails, naming the files, when a committed client differs from what
its document generates now. ``--new SERVICE`` makes the package of a new service's client (its
folder, ``pyproject.toml``, version file, changelog, README and a first-release news fragment);
the document must already be in ``packages/common_clients/specs/SERVICE.yaml``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from commons_tools.errors import CommonsToolsError, WorkspaceError
from commons_tools.workspace import load_workspace

#: Where the client packages live, and the documents they are generated from.
CLIENTS_DIR = Path("packages/common_clients/clients")
SPECS_DIR = Path("packages/common_clients/specs")
#: Files of a client's ``src/<module>/`` that the generator leaves alone: the release writes the
#: version, and the typing marker is the package's.
KEPT = frozenset({"__about__.py", "py.typed"})
#: Generated clients that are no package: the inventory client the runtime's tests call.
TEST_CLIENTS = {"inventory": Path("packages/common_clients/tests/inventory_client")}


class ClientsError(CommonsToolsError):
    """A client package could not be generated or made; the message names it."""


@dataclass(frozen=True)
class Target:
    """One generated client: its document, the folder it is written to and its import name."""

    service: str
    spec: Path
    folder: Path
    package: str


def targets(repo: Path) -> list[Target]:
    """Every generated client of the repository: the packages that name a spec, then the tests'."""
    found = []
    for member in load_workspace(repo).packages:
        if member.spec is None:
            continue
        if not member.spec.is_file():
            raise ClientsError(f"{member.pyproject}: [tool.commons] spec {member.spec} is missing")
        found.append(
            Target(member.spec.stem, member.spec, member.src / member.module, member.module)
        )
    for service, folder in TEST_CLIENTS.items():
        spec = repo / SPECS_DIR / f"{service}.yaml"
        if spec.is_file():
            found.append(Target(service, spec, repo / folder, folder.name))
    return found


def generate(repo: Path, target: Target) -> dict[str, str]:
    """The files of ``target``'s client, by path relative to its folder."""
    try:
        from common_clients.codegen import CodegenError
        from common_clients.codegen._generate import generate_client
    except ImportError:
        raise ClientsError(
            "the generator is not installed: pip install 'common-clients[codegen]'"
        ) from None
    label = target.spec.relative_to(repo).as_posix()
    try:
        return generate_client(
            target.spec, service=target.service, package=target.package, spec_label=label
        )
    except (CodegenError, ValueError) as exc:
        raise ClientsError(f"{label}: {exc}") from None


def stale(files: dict[str, str], folder: Path) -> list[str]:
    """Paths under ``folder`` that differ from ``files``: changed, missing or left over (the
    package's own ``__about__.py`` and ``py.typed`` are not left over)."""
    from common_clients.codegen._generate import stale_files

    kept = {f"{name} (not generated)" for name in KEPT}
    return [entry for entry in stale_files(files, folder) if entry not in kept]


def write(files: dict[str, str], folder: Path) -> None:
    """Put ``files`` under ``folder`` as the generator does: its marker lists what it wrote, and
    only those files are ever replaced or removed (the release's ``__about__.py`` stays)."""
    from common_clients.codegen import CodegenError
    from common_clients.codegen._generate import write_client

    try:
        write_client(files, folder)
    except CodegenError as exc:  # OutputError: a folder it did not make, a symlink
        raise ClientsError(str(exc)) from None


def run_clients(repo: Path, *, check: bool, say: Callable[[str], None] = print) -> bool:
    """Regenerate (or with ``check`` compare) every client; True when nothing was stale."""
    fresh = True
    for target in targets(repo):
        files = generate(repo, target)
        shown = target.folder.relative_to(repo).as_posix()
        if not check:
            write(files, target.folder)
            say(f"generated {target.package} in {shown} ({len(files)} files)")
            continue
        differing = stale(files, target.folder)
        fresh = fresh and not differing
        for entry in differing:
            say(f"stale: {shown}/{entry}")
        if not differing:
            say(f"up to date: {target.package} ({target.spec.relative_to(repo).as_posix()})")
    return fresh


# -- a new client package -------------------------------------------------------------------

_PYPROJECT = """\
[build-system]
# hatchling's version is recorded in the wheel: pinned so that builds stay byte-reproducible.
requires = ["hatchling==1.33.0"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
dynamic = ["version"]
description = "Typed client of the {service} service's API, generated from its OpenAPI document."
readme = "README.md"
license = "MIT"
requires-python = ">=3.11"
authors = [{{ name = "Commons maintainers" }}]
classifiers = [
  "Development Status :: 3 - Alpha",
  "Intended Audience :: Developers",
  "Operating System :: OS Independent",
  "Programming Language :: Python :: 3",
  "Programming Language :: Python :: 3 :: Only",
  "Programming Language :: Python :: 3.11",
  "Programming Language :: Python :: 3.12",
  "Programming Language :: Python :: 3.13",
  "Typing :: Typed",
]
# The generated code stands on the runtime's public surface only. The range is the release
# tooling's: it admits the runtime's releases up to the next breaking one and is moved by the
# release cascade.
dependencies = ["{runtime_range}"]

[project.urls]
Changelog = "https://example.invalid/commons/packages/common_clients/clients/{service}/CHANGELOG.md"

[tool.commons]
# The document this package is generated from (`nox -s clients`); `nox -s specs -- --write`
# updates it from the service and writes this package's news fragment from the API's changes.
spec = "../../specs/{service}.yaml"

[tool.hatch.version]
path = "src/{module}/__about__.py"

[tool.hatch.build.targets.wheel]
packages = ["src/{module}"]

[tool.hatch.build.targets.sdist]
include = ["src/{module}", "CHANGELOG.md", "README.md", "pyproject.toml"]

[tool.towncrier]
name = "{dist}"
directory = "changelog.d"
filename = "CHANGELOG.md"
start_string = "<!-- towncrier release notes start -->\\n"
underlines = ["", "", ""]
title_format = "## {{version}} ({{project_date}})"
issue_format = ""
orphan_prefix = "+"
{types}"""

_TYPES = (
    ("breaking", "Breaking changes"),
    ("security", "Security"),
    ("feature", "Features"),
    ("fix", "Fixes"),
    ("deprecation", "Deprecations"),
    ("perf", "Performance"),
    ("doc", "Documentation"),
    ("misc", "Miscellaneous"),
)

_CHANGELOG = """\
# Changelog of {dist}

Versions follow semantic versioning; while the major version is 0, a breaking change bumps the
minor. A breaking change of the {service} API is a breaking release of this package. This file is
written by towncrier from `changelog.d/` at release; do not edit it by hand.

<!-- towncrier release notes start -->
"""

_README = """\
# {dist}

The typed client of the `{service}` service's API (httpx + pydantic, sync and async), generated
by [`common-clients`](../../README.md) from the service's OpenAPI document,
[`packages/common_clients/specs/{service}.yaml`](../../specs/{service}.yaml). It is versioned
on its own: its version says what changed in the `{service}` API (a breaking API change is a
breaking release), and it requires a range of the `common-clients` runtime.

```console
pip install {dist}
```

```python
from {module} import {client}, Async{client}

with {client}(base_url="http://{service}.internal") as client:
    ...  # one attribute per tag of the document, one method per operation
```

The code in `src/{module}/` is generated (`nox -s clients`) and never edited by hand; CI fails
when it is stale (`nox -s clients-check`). When the service's API changes,
`nox -s specs -- --write` updates the document and writes this package's news fragment, typed by
what changed (breaking, feature, or doc for descriptions only); then `nox -s clients`.
"""

_ABOUT = '''"""The version of {dist}.

Read by hatchling at build time and bumped by the release; the rest of this folder is generated.
"""

__version__ = "0.1.0"
'''


def new_client(repo: Path, service: str) -> Path:
    """Make ``packages/common_clients/clients/<service>/``: the package of a new service's client,
    at 0.1.0, with a news fragment announcing it; then generate it with :func:`run_clients`."""
    if not service.isidentifier() or not service.islower():
        raise ClientsError(f"--new {service!r}: a service name is a lower-case Python identifier")
    spec = repo / SPECS_DIR / f"{service}.yaml"
    if not spec.is_file():
        raise ClientsError(f"{spec.relative_to(repo)}: no such document; export it first")
    root = repo / CLIENTS_DIR / service
    if root.exists():
        raise ClientsError(f"{root.relative_to(repo)} exists already")
    try:
        runtime = load_workspace(repo).get("common-clients")
    except WorkspaceError as exc:
        raise ClientsError(str(exc)) from None
    from commons_tools.plan import compatible_range

    dist, module = f"common-clients-{service}", f"common_clients_{service}"
    values = {
        "dist": dist,
        "module": module,
        "service": service,
        "client": f"{service.title().replace('_', '')}Client",
        "runtime_range": f"common-clients{compatible_range(runtime.version)}",
        "types": "".join(
            f'\n[[tool.towncrier.type]]\ndirectory = "{d}"\nname = "{n}"\nshowcontent = true\n'
            for d, n in _TYPES
        ),
    }
    (root / "changelog.d").mkdir(parents=True)
    (root / "changelog.d" / ".gitkeep").write_text("", encoding="utf-8")
    (root / "changelog.d" / f"+{service}-client.feature.md").write_text(
        f"`{dist}`: the typed client of the {service} API as a distribution of its own, "
        f"generated from its OpenAPI document (it was `common_clients.{service}` inside "
        f"`common-clients`): `from {module} import {values['client']}`.\n",
        encoding="utf-8",
    )
    (root / "pyproject.toml").write_text(_PYPROJECT.format(**values), encoding="utf-8")
    (root / "CHANGELOG.md").write_text(_CHANGELOG.format(**values), encoding="utf-8")
    (root / "README.md").write_text(_README.format(**values), encoding="utf-8")
    # The generator's folder first (it refuses a folder it did not make), then the package's files.
    write(
        generate(repo, Target(service, spec, root / "src" / module, module)), root / "src" / module
    )
    (root / "src" / module / "__about__.py").write_text(_ABOUT.format(**values), encoding="utf-8")
    (root / "src" / module / "py.typed").write_text("", encoding="utf-8")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s clients --", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; fail when stale")
    parser.add_argument("--new", metavar="SERVICE", help="make the package of a new client")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    try:
        if args.new:
            root = new_client(repo, args.new)
            print(f"made {root.relative_to(repo)}")
        fresh = run_clients(repo, check=args.check)
    except CommonsToolsError as exc:
        print(f"clients: {exc}", file=sys.stderr)
        return 1
    if not fresh:
        print("clients: run `nox -s clients` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
