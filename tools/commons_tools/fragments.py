"""News fragments (``packages/<pkg>/changelog.d/<id>.<type>.md``), their types and bumps."""

from __future__ import annotations

import enum
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from commons_tools.errors import FragmentError
from commons_tools.workspace import Package


class Bump(enum.IntEnum):
    """How far a release moves a version; ordered, so ``max()`` picks the strongest."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3


#: Fragment type -> bump. ``breaking`` is a major bump (a minor one while the major is 0).
BUMP_OF_TYPE: dict[str, Bump] = {
    "breaking": Bump.MAJOR,
    "feature": Bump.MINOR,
    "fix": Bump.PATCH,
    "security": Bump.PATCH,
    "deprecation": Bump.PATCH,
    "perf": Bump.PATCH,
    "doc": Bump.NONE,
    "misc": Bump.NONE,
}
FRAGMENT_TYPES = tuple(BUMP_OF_TYPE)

#: Files a changelog.d folder may hold beside fragments (``.gitkeep`` keeps the folder in git
#: when a release has consumed every fragment).
ALLOWED_EXTRAS = frozenset({".gitignore", ".gitkeep", "README.md", "template.md"})

#: A fragment is a sentence or a short paragraph; anything larger is not one.
MAX_FRAGMENT_BYTES = 16 * 1024

_NAME = re.compile(r"^(?P<id>\+?[A-Za-z0-9][A-Za-z0-9_-]*)\.(?P<type>[a-z]+)(?:\.(?P<n>\d+))?\.md$")


@dataclass(frozen=True)
class Fragment:
    """One pending news fragment of one package."""

    path: Path
    package: Package
    id: str
    type: str
    text: str

    @property
    def bump(self) -> Bump:
        return BUMP_OF_TYPE[self.type]


def parse_fragment(path: Path, package: Package) -> Fragment:
    """Read and check one fragment file; raise :class:`FragmentError` naming what is wrong."""
    match = _NAME.match(path.name)
    if match is None:
        raise FragmentError(
            path,
            "not a fragment name: expected <id>.<type>.md, "
            "e.g. 123.fix.md or +short-slug.feature.md",
        )
    if match["type"] not in BUMP_OF_TYPE:
        raise FragmentError(
            path,
            f"unknown fragment type {match['type']!r}; the types are: {', '.join(FRAGMENT_TYPES)}",
        )
    # Opened without following a link, then checked: a symlink or a fifo is refused unread.
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if path.is_symlink():
            raise FragmentError(path, "a symbolic link: fragments must be regular files") from None
        raise FragmentError(path, f"cannot be read ({exc.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FragmentError(path, "not a regular file: fragments must be regular files")
        if info.st_size > MAX_FRAGMENT_BYTES:
            raise FragmentError(
                path, f"{info.st_size} bytes: a fragment is at most {MAX_FRAGMENT_BYTES} bytes"
            )
        data = handle.read(MAX_FRAGMENT_BYTES + 1)
    if len(data) > MAX_FRAGMENT_BYTES:
        raise FragmentError(path, f"a fragment is at most {MAX_FRAGMENT_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FragmentError(path, "not UTF-8 text") from None
    if not text.strip():
        raise FragmentError(path, "empty: say in one sentence what changed for users")
    return Fragment(path=path, package=package, id=match["id"], type=match["type"], text=text)


def pending_fragments(package: Package) -> tuple[list[Fragment], list[FragmentError]]:
    """Every fragment waiting in the package's ``changelog.d/``, and every malformed file there."""
    fragments: list[Fragment] = []
    errors: list[FragmentError] = []
    folder = package.changelog_dir
    if folder.is_symlink():
        errors.append(FragmentError(folder, "a symbolic link: changelog.d/ must be a real folder"))
        return fragments, errors
    if not folder.is_dir():
        return fragments, errors
    for path in sorted(folder.iterdir()):
        if path.is_symlink():
            errors.append(FragmentError(path, "a symbolic link: fragments must be regular files"))
            continue
        if path.is_dir():
            errors.append(FragmentError(path, "a folder in changelog.d/: fragments are flat files"))
            continue
        if path.name in ALLOWED_EXTRAS:
            continue
        try:
            fragments.append(parse_fragment(path, package))
        except FragmentError as exc:
            errors.append(exc)
    return fragments, errors


def strongest_bump(fragments: list[Fragment]) -> Bump:
    """The bump the strongest fragment asks for (``Bump.NONE`` when there are none)."""
    return max((f.bump for f in fragments), default=Bump.NONE)
