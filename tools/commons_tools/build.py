"""Reproducible builds: a wheel and an sdist of each package, from a git tree, with a fixed epoch.

A build never reads the work tree directly: the package's folder is first written as a git tree
(:func:`commons_tools.git.work_tree_ids`, or the tree ``releases.toml`` recorded), exported with
``git archive`` into a scratch folder and built there. The same tree and SOURCE_DATE_EPOCH give
the same bytes, so a release recorded years ago rebuilds byte-identically from its tree id alone.

The build backend (hatchling, pinned in each package's ``build-system.requires``) is installed once
per run into a scratch environment holding only the build requirements, and builds every package
of the run in one process: the isolation of ``python -m build`` without its two environments per
package.

Also here: the checks of built files (``twine check --strict``; the wheels installed into a fresh
venv without any index and imported at their versions).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import site
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from commons_tools import git as g
from commons_tools.errors import BuildError, CommonsToolsError, VerifyError, describe_os_error
from commons_tools.processes import run, tail, uv_command
from commons_tools.state import STATE_FILE, ReleaseRecord, load_state
from commons_tools.workspace import Package, load_workspace


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class BuildSource:
    """What to build: a package's folder as a git tree, its version and the build's epoch."""

    dist_name: str
    version: Version
    tree: str
    epoch: int

    @classmethod
    def of_record(cls, record: ReleaseRecord) -> BuildSource:
        return cls(record.package, record.version, record.tree, record.epoch)

    def artifacts(self, outdir: Path) -> list[Path]:
        """The wheel and sdist this source builds into ``outdir``."""
        stem = canonicalize_name(self.dist_name).replace("-", "_")
        return sorted(
            [
                outdir / f"{stem}-{self.version}-py3-none-any.whl",
                outdir / f"{stem}-{self.version}.tar.gz",
            ]
        )


def artifacts_of(package: Package, outdir: Path) -> list[Path]:
    """The wheel and sdist of ``package``'s current version in ``outdir``."""
    return BuildSource(package.dist_name, package.version, "", 0).artifacts(outdir)


def work_tree_sources(repo: Path, packages: Sequence[Package], epoch: int) -> list[BuildSource]:
    """Each package's folder as it is in the work tree now, as a tree to build at ``epoch``."""
    folders = {p.dist_name: p.root.relative_to(repo).as_posix() for p in packages}
    trees = g.work_tree_ids(repo, list(folders.values()))
    return [
        BuildSource(p.dist_name, p.version, trees[folders[p.dist_name]], epoch) for p in packages
    ]


_BUILD_SCRIPT = """
import importlib, json, os, sys
for job in json.loads(sys.argv[1]):
    os.environ["SOURCE_DATE_EPOCH"] = str(job["epoch"])
    os.chdir(job["root"])
    try:
        module, _, attribute = job["backend"].partition(":")
        backend = importlib.import_module(module)
        for part in filter(None, attribute.split(".")):
            backend = getattr(backend, part)
        backend.build_sdist(job["outdir"], {})
        backend.build_wheel(job["outdir"], {})
    except Exception as exc:
        print(json.dumps({"failed": job["name"], "error": f"{type(exc).__name__}: {exc}"}))
        sys.exit(1)
"""


def _build_system(root: Path) -> tuple[list[str], str]:
    pyproject = root / "pyproject.toml"
    try:
        system = tomllib.loads(pyproject.read_text(encoding="utf-8"))["build-system"]
        requires, backend = list(system["requires"]), str(system["build-backend"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise BuildError(f"{pyproject.name}: no usable [build-system] ({exc})") from None
    if "backend-path" in system:
        raise BuildError(
            f"{pyproject.name}: an in-tree build backend (backend-path) is not supported"
        )
    return requires, backend


def _build_env(scratch: Path, requires: Sequence[str]) -> Path:
    """A scratch venv holding the build requirements alone; its python."""
    venv = scratch / "venv"
    made = run([*uv_command(), "venv", "--quiet", "--python", sys.executable, str(venv)])
    if made.returncode != 0:
        raise BuildError(f"could not make a build environment: {tail(made, 3)}")
    python = venv / "bin" / "python"
    installed = run(
        [*uv_command(), "pip", "install", "--quiet", "--python", str(python), *requires]
    )
    if installed.returncode != 0:
        raise BuildError(f"could not install {', '.join(requires)}: {tail(installed, 3)}")
    return python


def _build_failure(stdout: str, last_words: str) -> str:
    """One line naming the package whose build failed and the backend's error."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            said = json.loads(line)
        except ValueError:
            continue
        if isinstance(said, dict) and "failed" in said:
            error = " ".join(str(said.get("error", "")).split())
            return f"{said['failed']} did not build: {error}"
    return f"the build failed: {last_words}"


def export_tree(repo: Path, tree: str, dest: Path) -> Path:
    """Write the files of git tree ``tree`` into ``dest/package`` and return that folder.

    ``dest`` gets an empty ``.git`` folder: hatchling looks for a ``.gitignore`` upwards until it
    meets one, so nothing outside the tree can change what is built.
    """
    (dest / ".git").mkdir(parents=True)
    root = dest / "package"
    root.mkdir()
    with tarfile.open(fileobj=io.BytesIO(g.archive(repo, tree))) as archive:
        archive.extractall(root, filter="data")
    return root


def build_sources(repo: Path, sources: Sequence[BuildSource], outdir: Path) -> list[Path]:
    """Build the wheel and sdist of each source into ``outdir`` (replacing earlier files of the
    same names); files in the order given, sdist and wheel of each."""
    outdir.mkdir(parents=True, exist_ok=True)
    if not sources:
        return []
    with tempfile.TemporaryDirectory(prefix="commons-build-") as scratch_name:
        scratch = Path(scratch_name)
        jobs: dict[tuple[tuple[str, ...], str], list[dict[str, object]]] = {}
        for number, source in enumerate(sources):
            for path in source.artifacts(outdir):
                path.unlink(missing_ok=True)
            root = export_tree(repo, source.tree, scratch / f"source-{number}")
            requires, backend = _build_system(root)
            jobs.setdefault((tuple(requires), backend), []).append(
                {
                    "name": source.dist_name,
                    "root": str(root),
                    "epoch": source.epoch,
                    "outdir": str(outdir),
                    "backend": backend,
                }
            )
        for number, ((needs, _), group) in enumerate(jobs.items()):
            python = _build_env(scratch / f"env-{number}", needs)
            result = run([str(python), "-c", _BUILD_SCRIPT, json.dumps(group)], cwd=scratch)
            if result.returncode != 0:
                raise BuildError(_build_failure(result.stdout, tail(result, 1)))
    built: list[Path] = []
    for source in sources:
        expected = source.artifacts(outdir)
        missing = [path.name for path in expected if not path.is_file()]
        if missing:
            raise BuildError(f"{source.dist_name}: the build did not write {', '.join(missing)}")
        built.extend(expected)
    return built


def rebuild_records(
    repo: Path, records: Sequence[ReleaseRecord], outdir: Path, *, check: bool = True
) -> list[Path]:
    """Rebuild recorded releases from their trees and epochs: the bytes that were released."""
    built = build_sources(repo, [BuildSource.of_record(r) for r in records], outdir)
    if check and built:
        twine_check(built)
    return built


def twine_check(paths: Sequence[Path]) -> None:
    """``twine check --strict`` the built files; raise BuildError with its report if it objects."""
    result = run([sys.executable, "-m", "twine", "check", "--strict", *map(str, paths)])
    if result.returncode != 0:
        said = (result.stdout + result.stderr).splitlines()
        failed = [line.strip() for line in said if "FAILED" in line or "ERROR" in line]
        detail = "; ".join(failed[:3]) or tail(result, 1)
        raise BuildError(f"twine check --strict refused the build: {' '.join(detail.split())}")


def build_and_check(
    repo: Path, packages: Sequence[Package], outdir: Path, epoch: int
) -> list[Path]:
    """Build each package as the work tree holds it, at SOURCE_DATE_EPOCH ``epoch``; twine check."""
    built = build_sources(repo, work_tree_sources(repo, packages, epoch), outdir)
    twine_check(built)
    return built


def build_all(repo: Path, outdir: Path, names: Sequence[str] = ()) -> list[Path]:
    """Build the named packages (all by default) reproducibly and check them with twine."""
    workspace = load_workspace(repo)
    packages = [workspace.get(n) for n in names] if names else list(workspace.packages)
    return build_and_check(repo, packages, outdir, g.commit_epoch(repo))


# -- verifying ----------------------------------------------------------------------------------

_VERIFY_SCRIPT = """
import importlib, importlib.metadata, json, sys
found = {}
for dist, module in json.loads(sys.argv[1]).items():
    imported = importlib.import_module(module)
    # A generated client's __init__ is the generator's: its version is in its __about__.
    if not hasattr(imported, "__version__"):
        imported.__version__ = importlib.import_module(module + ".__about__").__version__
    found[dist] = [imported.__version__, importlib.metadata.version(dist), imported.__file__]
print(json.dumps(found))
"""


def verify_wheels(wheels: Sequence[Path], expected: dict[str, tuple[str, str]]) -> None:
    """Install ``wheels`` into a fresh venv without any index and import each at its version
    (``<module>.__version__``, else ``<module>.__about__.__version__``).

    ``expected`` maps dist name -> (module, version). The wheels come from their files alone
    (``--no-index --no-deps``); their third-party dependencies are the release environment's,
    reached through a path entry placed after the venv's own site-packages.
    """
    with tempfile.TemporaryDirectory(prefix="commons-verify-") as scratch:
        venv = Path(scratch) / "venv"
        _run_checked([*uv_command(), "venv", "--quiet", "--python", sys.executable, str(venv)])
        python = venv / "bin" / "python"
        _run_checked(
            [
                *uv_command(),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(python),
                "--no-index",
                "--no-deps",
                *map(str, wheels),
            ]
        )
        purelib = _run_checked(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).strip()
        outer = [p for p in site.getsitepackages() if Path(p).is_dir()]
        (Path(purelib) / "_commons_release_environment.pth").write_text(
            "".join(f"{p}\n" for p in outer), encoding="utf-8"
        )
        modules = {dist: module for dist, (module, _) in expected.items()}
        result = run([str(python), "-I", "-c", _VERIFY_SCRIPT, json.dumps(modules)])
        if result.returncode != 0:
            last = result.stderr.strip().splitlines()[-1:] or ["(no output)"]
            raise VerifyError(f"the new wheels do not import in a fresh venv: {last[0]}")
        found = json.loads(result.stdout)
        for dist, (module, version) in expected.items():
            module_version, dist_version, location = found[dist]
            if not location.startswith(str(venv)):
                raise VerifyError(f"{module} was imported from {location}, not from its wheel")
            if module_version != version or dist_version != version:
                raise VerifyError(
                    f"{dist}: the wheel says {module}.__version__={module_version} and "
                    f"metadata {dist_version}, the plan says {version}"
                )


def _run_checked(command: Sequence[str]) -> str:
    result = run(command)
    if result.returncode != 0:
        raise VerifyError(f"{' '.join(command[:4])} ... failed: {tail(result, 3)}")
    return result.stdout


def recorded(repo: Path, wanted: Sequence[str]) -> list[ReleaseRecord]:
    """The ``releases.toml`` entries named ``NAME==VERSION``; a BuildError names one missing."""
    state = load_state(repo)
    found = []
    for item in wanted:
        name, _, version = item.partition("==")
        try:
            record = state.find(name, Version(version)) if version else None
        except InvalidVersion:
            record = None
        if record is None:
            raise BuildError(f"{item}: no such release in {STATE_FILE} (expected NAME==VERSION)")
        found.append(record)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s build --", description=__doc__)
    parser.add_argument("packages", nargs="*", help="dist names or modules (default: all)")
    parser.add_argument(
        "--release",
        action="append",
        default=[],
        metavar="NAME==VERSION",
        help="rebuild this recorded release from releases.toml instead (repeatable)",
    )
    parser.add_argument("--outdir", type=Path, default=Path("dist"))
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repo, outdir = args.repo.resolve(), args.outdir.resolve()
    try:
        if args.release:
            built = rebuild_records(repo, recorded(repo, args.release), outdir)
        else:
            built = build_all(repo, outdir, args.packages)
    except CommonsToolsError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"build: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    for path in built:
        print(f"{sha256(path)}  {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
