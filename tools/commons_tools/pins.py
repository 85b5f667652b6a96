"""Consumer pins: move a service's ``common-*`` requirements to the newest releases and re-lock.

A service keeps its direct needs in ``requirements.in`` and installs from the ``requirements.txt``
beside it, locked with hashes. ``nox -s pins -- PATH/requirements.in ...`` rewrites each line that
names a workspace package to ``==`` the newest version on the private index (pre-releases only with
``--pre``), then re-locks with ``uv pip compile --generate-hashes``, the private index first.
``--check`` changes nothing and exits 1 when a pin or a lock is behind. The service's
``pyproject.toml`` beside ``requirements.in`` names the Python it runs on (``[tool.uv.pip]
python-version``, where uv itself reads it): the lock is made for that Python, whichever one runs
the tool.

Why both hashes and the index order: a package called ``common-utils`` exists on the public
index. uv takes a name only from the first index that has it (the private one is given with
``--index``, which uv asks before its default index), and the lock's hashes make pip refuse any
file but ours, whatever indexes it is pointed at. After locking, every workspace package in the
lock is checked against the private index's own sha256 of that version.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from commons_tools.errors import CommonsToolsError, PinError, describe_os_error
from commons_tools.processes import run, tail, uv_command
from commons_tools.publish import release_index
from commons_tools.simple_api import IndexTarget, file_version, project_files, project_versions
from commons_tools.workspace import load_workspace

Say = Callable[[str], None]
_LOCKED = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>\S+)")
_HASH = re.compile(r"--hash=sha256:(?P<digest>[0-9a-f]{64})")
_PYTHON_VERSION = re.compile(r"3\.\d+(?:\.\d+)?")
SERVICE_CONFIG = "pyproject.toml"
SERVICE_CONFIG_LIMIT = 256 * 1024


def service_python(folder: Path) -> str | None:
    """The Python a service runs on: ``[tool.uv.pip] python-version`` of its ``pyproject.toml``.

    None when the folder has no such file or it names no version; PinError, naming the file, when
    it is a symlink, too large, not TOML, or the version is not a CPython version such as ``3.13``.
    """
    path = folder / SERVICE_CONFIG
    if path.is_symlink():
        raise PinError(f"{path}: a symlink; the service's configuration must be a regular file")
    if not path.is_file():
        return None
    if path.stat().st_size > SERVICE_CONFIG_LIMIT:
        raise PinError(f"{path}: larger than {SERVICE_CONFIG_LIMIT // 1024} KiB")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PinError(f"{path}: not readable TOML ({exc})") from None
    value = config.get("tool", {}).get("uv", {}).get("pip", {}).get("python-version")
    if value is None:
        return None
    if not isinstance(value, str) or not _PYTHON_VERSION.fullmatch(value):
        raise PinError(
            f"{path}: [tool.uv.pip] python-version {value!r} is not a Python version such as 3.13"
        )
    return value


@dataclass(frozen=True)
class PinMove:
    """One ``requirements.in`` line that is (or was) behind the newest release."""

    name: str
    line_number: int
    old: str
    new: str
    newest: Version


def newest_versions(
    target: IndexTarget, names: Sequence[str], *, pre: bool = False
) -> dict[str, Version]:
    """The newest version of each workspace package on the private index."""
    newest: dict[str, Version] = {}
    for name in names:
        versions = [v for v in project_versions(target, name) if pre or not v.is_prerelease]
        if versions:
            newest[canonicalize_name(name)] = versions[-1]
    return newest


def plan_moves(
    path: Path, newest: dict[str, Version], workspace_names: set[str]
) -> tuple[list[str], list[PinMove]]:
    """The new lines of ``path`` and the moves among them.

    Only lines naming a workspace package change; PinError for a line that does not parse or a
    workspace package the index has no release of.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    moves: list[PinMove] = []
    for number, line in enumerate(lines, start=1):
        body, hash_mark, comment = line.partition(" #")
        stripped = body.strip()
        if not stripped or stripped.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(stripped)
        except InvalidRequirement as exc:
            raise PinError(f"{path}:{number}: not a requirement ({exc})") from None
        name = canonicalize_name(requirement.name)
        if name not in workspace_names:
            continue
        if name not in newest:
            raise PinError(f"{path}:{number}: {requirement.name} has no release on the index")
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        marker = f"; {requirement.marker}" if requirement.marker else ""
        new = f"{requirement.name}{extras}=={newest[name]}{marker}"
        if hash_mark:
            new = f"{new}  #{comment}"
        if str(requirement.specifier) != f"=={newest[name]}":
            moves.append(PinMove(requirement.name, number, stripped, new, newest[name]))
        lines[number - 1] = new
    return lines, moves


def missing_from_lock(requirements_in: Path, workspace_names: set[str]) -> list[str]:
    """The workspace packages ``requirements_in`` names that its lock (``.txt``) does not hold:
    a package the service started to use (its client, say) since the lock was made."""
    locked = locked_versions(requirements_in.with_suffix(".txt"))
    named = set()
    for line in requirements_in.read_text(encoding="utf-8").splitlines():
        stripped = line.partition(" #")[0].strip()
        if not stripped or stripped.startswith(("#", "-")):
            continue
        try:
            named.add(canonicalize_name(Requirement(stripped).name))
        except InvalidRequirement:
            continue  # plan_moves names the line
    return sorted(name for name in named & workspace_names if name not in locked)


def locked_versions(lock: Path) -> dict[str, tuple[Version, set[str]]]:
    """Name -> (version, sha256 set) of each ``name==version`` entry of a hash-locked file."""
    if not lock.is_file():
        return {}
    entries: dict[str, tuple[Version, set[str]]] = {}
    current: str | None = None
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = _LOCKED.match(line)
        if match:
            try:
                version = Version(match["version"])
            except InvalidVersion:
                continue
            current = canonicalize_name(match["name"])
            entries[current] = (version, set())
        if current is not None:
            entries[current][1].update(m["digest"] for m in _HASH.finditer(line))
        if not line.rstrip().endswith("\\") and not match:
            current = None
    return entries


def lock(target: IndexTarget, requirements_in: Path, output: Path) -> None:
    """``uv pip compile --generate-hashes`` ``requirements_in`` into ``output`` (same folder).

    An existing ``output`` is read as uv's preferences, so third-party pins move only when they
    must. The lock is for the Python the service's ``pyproject.toml`` names, when it names one.
    """
    python = service_python(requirements_in.parent)
    env: dict[str, str] = {}
    if target.credentials is not None:
        env["UV_INDEX_COMMONS_USERNAME"] = target.credentials.username
        env["UV_INDEX_COMMONS_PASSWORD"] = target.credentials.password
    command = [
        *uv_command(),
        "pip",
        "compile",
        requirements_in.name,
        "--output-file",
        output.name,
        "--generate-hashes",
        "--index",
        f"commons={target.simple_url}",
        "--index-strategy",
        "first-index",
        "--quiet",
        "--custom-compile-command",
        f"nox -s pins -- {requirements_in.name}",
        *(["--python-version", python] if python else []),
    ]
    # Run beside the file, so that the lock's "via -r requirements.in" notes are relative.
    result = run(command, cwd=requirements_in.parent, env=env)
    if result.returncode != 0:
        said = tail(result, 4)
        if target.credentials is not None:
            said = said.replace(target.credentials.password, "***")
        raise PinError(f"{requirements_in}: uv could not lock it: {said}")


def without_entries(lock_text: str, names: Sequence[str]) -> str:
    """``lock_text`` without the entries (pin, hashes, ``# via`` notes) of the ``names``."""
    drop = {canonicalize_name(name) for name in names}
    kept: list[str] = []
    skipping = False
    for line in lock_text.splitlines(keepends=True):
        if line[:1] not in (" ", "\t"):
            match = _LOCKED.match(line)
            skipping = bool(match and canonicalize_name(match["name"]) in drop)
        if not skipping:
            kept.append(line)
    return "".join(kept)


def move_and_lock(
    target: IndexTarget, requirements_in: Path, lines: Sequence[str], names: Sequence[str]
) -> Path:
    """Write the moved ``requirements.in`` and its lock, both or neither.

    The lock is made in a scratch file beside the real one and replaces it only once every
    workspace package in it carries the private index's hashes; on any failure the
    ``requirements.in`` is put back as it was.
    """
    output = requirements_in.with_suffix(".txt")
    scratch = requirements_in.with_name(f".{output.name}.new")
    original = requirements_in.read_bytes()
    try:
        requirements_in.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if output.is_file():
            # The old lock guides uv's choices of third-party versions; our packages' entries
            # are left out, so their files (and hashes) come from this index alone.
            scratch.write_text(
                without_entries(output.read_text(encoding="utf-8"), names), encoding="utf-8"
            )
        lock(target, requirements_in, scratch)
        verify_lock_sources(target, scratch, names)
        scratch.replace(output)
    except BaseException:
        requirements_in.write_bytes(original)
        raise
    finally:
        scratch.unlink(missing_ok=True)
    return output


def verify_lock_sources(target: IndexTarget, output: Path, names: Sequence[str]) -> None:
    """Every workspace package in the lock must carry the private index's own hashes."""
    entries = locked_versions(output)
    for name in names:
        key = canonicalize_name(name)
        if key not in entries:
            continue
        version, hashes = entries[key]
        ours = {
            entry.sha256
            for filename, entry in project_files(target, name).items()
            if entry.sha256 and file_version(filename) == version
        }
        if not hashes or not hashes <= ours:
            raise PinError(
                f"{output}: {name}=={version} is locked with hashes the private index does not "
                "have: it came from another index (dependency confusion); nothing was written"
            )


def run_pins(
    repo: Path, files: Sequence[Path], *, check: bool, pre: bool = False, say: Say = print
) -> bool:
    """Move and re-lock (or with ``check`` only report) each file; True when nothing is behind."""
    names = [p.dist_name for p in load_workspace(repo).packages]
    workspace_names: set[str] = {canonicalize_name(n) for n in names}
    for path in files:
        if not path.is_file():
            raise PinError(f"{path}: no such requirements file")
    up_to_date = True
    with release_index(repo, say=say) as target:
        newest = newest_versions(target, names, pre=pre)
        for path in files:
            lines, moves = plan_moves(path, newest, workspace_names)
            locked = locked_versions(path.with_suffix(".txt"))
            stale_lock = sorted(
                name
                for name, version in newest.items()
                if name in locked and locked[name][0] != version
            )
            for move in moves:
                say(f"{path}:{move.line_number}: {move.old} -> {move.new}")
            for name in stale_lock:
                say(f"{path.with_suffix('.txt')}: {name}=={locked[name][0]}, newest {newest[name]}")
            unlocked = missing_from_lock(path, workspace_names) if locked else []
            for name in unlocked:
                say(f"{path.with_suffix('.txt')}: {name} is not locked yet")
            if not locked:
                say(f"{path.with_suffix('.txt')}: no lock yet")
            behind = bool(moves or stale_lock or unlocked or not locked)
            up_to_date = up_to_date and not behind
            if check:
                if not behind:
                    say(f"{path}: up to date")
                continue
            output = move_and_lock(target, path, lines, names)
            say(f"  locked  {output}")
    return up_to_date or not check


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s pins --", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, help="requirements.in files of services")
    parser.add_argument(
        "--check", action="store_true", help="report what is behind, change nothing"
    )
    parser.add_argument("--pre", action="store_true", help="allow pre-releases of common-*")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        ok = run_pins(args.repo.resolve(), args.files, check=args.check, pre=args.pre)
    except CommonsToolsError as exc:
        print(f"pins: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"pins: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
