"""Reproducible builds: a wheel and an sdist of each package, with SOURCE_DATE_EPOCH from git.

hatchling writes the same bytes for the same sources, hatchling version and SOURCE_DATE_EPOCH;
the epoch comes from the last commit, so two builds of one commit are byte-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from commons_tools import git as g
from commons_tools.processes import run, tail
from commons_tools.workspace import Package, WorkspaceError, load_workspace


class BuildError(Exception):
    """A package did not build; the message names it and carries the backend's last words."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def artifacts_of(package: Package, outdir: Path) -> list[Path]:
    """The wheel and sdist of ``package``'s current version in ``outdir``."""
    stem = canonicalize_name(package.dist_name).replace("-", "_")
    return sorted(
        [
            outdir / f"{stem}-{package.version}-py3-none-any.whl",
            outdir / f"{stem}-{package.version}.tar.gz",
        ]
    )


def build_package(package: Package, outdir: Path, *, epoch: int) -> list[Path]:
    """Build ``package`` into ``outdir`` (replacing earlier files of the same version)."""
    outdir.mkdir(parents=True, exist_ok=True)
    expected = artifacts_of(package, outdir)
    for path in expected:
        path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "build", "--outdir", str(outdir), str(package.root)]
    if shutil.which("uv"):
        command[3:3] = ["--installer", "uv"]
    result = run(command, env={"SOURCE_DATE_EPOCH": str(epoch)})
    if result.returncode != 0:
        said = tail(result, 15, sep="\n")
        raise BuildError(f"{package.dist_name} did not build:\n{said}")
    missing = [path.name for path in expected if not path.is_file()]
    if missing:
        raise BuildError(f"{package.dist_name}: the build did not write {', '.join(missing)}")
    return expected


def twine_check(paths: Sequence[Path]) -> None:
    """``twine check --strict`` the built files; raise BuildError with its report if it objects."""
    result = run([sys.executable, "-m", "twine", "check", "--strict", *map(str, paths)])
    if result.returncode != 0:
        raise BuildError(f"twine check failed:\n{result.stdout}{result.stderr}")


def build_all(repo: Path, outdir: Path, names: Sequence[str] = ()) -> list[Path]:
    """Build the named packages (all by default) reproducibly and check them with twine."""
    workspace = load_workspace(repo)
    packages = [workspace.get(n) for n in names] if names else list(workspace.packages)
    return build_and_check(packages, outdir, g.commit_epoch(repo))


def build_and_check(packages: Sequence[Package], outdir: Path, epoch: int) -> list[Path]:
    """Build each package's wheel and sdist with SOURCE_DATE_EPOCH ``epoch``; twine check."""
    built: list[Path] = []
    for package in packages:
        built.extend(build_package(package, outdir, epoch=epoch))
    twine_check(built)
    return built


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s build --", description=__doc__)
    parser.add_argument("packages", nargs="*", help="dist names or modules (default: all)")
    parser.add_argument("--outdir", type=Path, default=Path("dist"))
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        built = build_all(args.repo.resolve(), args.outdir.resolve(), args.packages)
    except (BuildError, WorkspaceError, g.GitError) as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 1
    for path in built:
        print(f"{sha256(path)}  {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
