"""The release state: ``releases.toml`` at the repository root lists every release of this line.

Each ``[[release]]`` entry says which package was released at which version, from which source
commit, what the package's folder held (its git tree id, taken from the files the release built
and committed) and the SOURCE_DATE_EPOCH of the build. That is everything a rebuild needs:
``git archive <tree>`` gives the package's files and the epoch gives the same bytes, with no tag and
without knowing the release commit (a commit cannot name its own hash, so the entry names its
parent, ``source``, and the tree, which the commit holds).

The release tools read this file and nothing else to learn what was released: the plan (a package
without an entry was never released and releases the version its ``__about__.py`` holds), the
changelog gate (source changed since the recorded tree) and a re-publish (each entry rebuilt,
uploaded where the index lacks it). Tags are still made, for people; nothing reads them.

A maintenance branch (``maint/common-utils-0.2``, made from a release commit) carries the file as
it was then and appends its own releases to it; main's file stays as it is.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from commons_tools.errors import StateError

STATE_FILE = "releases.toml"

HEADER = """\
# Every release made on this line of the repository, oldest first. Written by `nox -s release`;
# the release tools read this file, never the tags, to learn what was released.
#
#   package  the distribution released
#   version  its version
#   source   the commit the release run started from (the release commit is its child)
#   tree     the git tree id of the package's folder as released: `git archive <tree>` gives
#            the files that were built, so a rebuild needs no tag and no checkout
#   epoch    the SOURCE_DATE_EPOCH of the build (the release commit's time): same tree and
#            epoch, same bytes
"""

_OBJECT_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_KEYS = ("package", "version", "source", "tree", "epoch")


@dataclass(frozen=True)
class ReleaseRecord:
    """One release of one package, as ``releases.toml`` records it."""

    package: str
    version: Version
    source: str
    tree: str
    epoch: int

    @property
    def key(self) -> tuple[str, Version]:
        return canonicalize_name(self.package), self.version

    def render(self) -> str:
        return (
            "[[release]]\n"
            f'package = "{self.package}"\n'
            f'version = "{self.version}"\n'
            f'source = "{self.source}"\n'
            f'tree = "{self.tree}"\n'
            f"epoch = {self.epoch}\n"
        )


@dataclass(frozen=True)
class ReleaseState:
    """The records of ``releases.toml`` (none when the file does not exist yet)."""

    path: Path
    records: tuple[ReleaseRecord, ...]

    def of(self, package: str) -> list[ReleaseRecord]:
        """The releases of ``package``, oldest first."""
        wanted = canonicalize_name(package)
        return [r for r in self.records if canonicalize_name(r.package) == wanted]

    def last(self, package: str) -> ReleaseRecord | None:
        """The newest release of ``package`` on this line, or None if it was never released."""
        found = self.of(package)
        return found[-1] if found else None

    def find(self, package: str, version: Version) -> ReleaseRecord | None:
        wanted = (canonicalize_name(package), version)
        return next((r for r in self.records if r.key == wanted), None)

    def render(self, added: Iterable[ReleaseRecord] = ()) -> str:
        """The file's text with ``added`` appended (refused when one is recorded already)."""
        records = list(self.records)
        for record in added:
            if self.find(record.package, record.version) is not None:
                raise StateError(
                    f"{self.path.name}: {record.package} {record.version} is recorded already"
                )
            records.append(record)
        return HEADER + "".join(f"\n{record.render()}" for record in records)


def state_path(repo: Path) -> Path:
    return repo / STATE_FILE


def load_state(repo: Path) -> ReleaseState:
    """Read and check ``releases.toml``; a :class:`StateError` names the entry at fault."""
    path = state_path(repo)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise StateError(f"{STATE_FILE}: not a regular file")
    if not path.exists():
        return ReleaseState(path, ())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise StateError(f"{STATE_FILE}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"release"})
    if unknown:
        raise StateError(f"{STATE_FILE}: unknown table(s) {', '.join(unknown)}")
    entries = data.get("release", [])
    if not isinstance(entries, list):
        raise StateError(f"{STATE_FILE}: `release` must be an array of tables ([[release]])")
    records: list[ReleaseRecord] = []
    seen: set[tuple[str, Version]] = set()
    for number, entry in enumerate(entries, start=1):
        record = _record(entry, f"{STATE_FILE}: release #{number}")
        if record.key in seen:
            raise StateError(
                f"{STATE_FILE}: release #{number}: {record.package} {record.version} is "
                "recorded twice"
            )
        seen.add(record.key)
        records.append(record)
    return ReleaseState(path, tuple(records))


def _record(entry: object, where: str) -> ReleaseRecord:
    if not isinstance(entry, dict):
        raise StateError(f"{where}: not a table")
    missing = [key for key in _KEYS if key not in entry]
    extra = sorted(set(entry) - set(_KEYS))
    if missing or extra:
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unknown {', '.join(extra)}" if extra else "",
            )
            if part
        )
        raise StateError(f"{where}: {detail}")
    package, version, source, tree, epoch = (entry[key] for key in _KEYS)
    if not isinstance(package, str) or not package:
        raise StateError(f"{where}: package must be a distribution name")
    try:
        parsed = Version(version) if isinstance(version, str) else None
    except InvalidVersion:
        parsed = None
    if parsed is None:
        raise StateError(f"{where}: version {version!r} is not a PEP 440 version")
    for key, value in (("source", source), ("tree", tree)):
        if not isinstance(value, str) or not _OBJECT_ID.match(value):
            raise StateError(f"{where}: {key} {value!r} is not a git object id")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 315532800:
        # 1980-01-01: zip files cannot hold earlier times.
        raise StateError(f"{where}: epoch {epoch!r} is not a time in seconds after 1980")
    return ReleaseRecord(package, parsed, source, tree, epoch)
