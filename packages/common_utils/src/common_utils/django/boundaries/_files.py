"""Reading files users hand to ``manage.py boundaries``: bounded, never through a symlink."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from common_utils._errors import BoundariesInputError


def read_untrusted(path: Path, *, what: str, limit: int) -> str:
    """Return the UTF-8 text of ``path``; a typed error names the file when it cannot be used.

    Refused: a missing file, a symlink, anything but a regular file (a FIFO would block), more
    than ``limit`` bytes, bytes that are not UTF-8.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise BoundariesInputError(f"{what} {path}: no such file") from None
    except OSError as exc:
        raise BoundariesInputError(f"{what} {path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise BoundariesInputError(f"{what} {path}: is a symlink, refused (give the file itself)")
    if not stat.S_ISREG(info.st_mode):
        raise BoundariesInputError(f"{what} {path}: not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:  # replaced by a symlink since the check, or unreadable
        raise BoundariesInputError(f"{what} {path}: cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise BoundariesInputError(f"{what} {path}: not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise BoundariesInputError(f"{what} {path}: larger than {limit} bytes, refused")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BoundariesInputError(f"{what} {path}: not UTF-8 text (byte {exc.start})") from None


def write_atomically(path: Path, text: str, *, what: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it: never half-written."""
    if path.is_symlink():
        raise BoundariesInputError(f"{what} {path}: is a symlink, refused (give the file itself)")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise BoundariesInputError(f"{what} {path}: cannot be written ({exc.strerror})") from None
