"""Writing Python source that holds a document's text: literals, docstrings, ``__all__``, ruff.

Text from an OpenAPI document reaches generated code only through :func:`literal_source` (a
``repr``, ASCII-escaped) and :func:`docstring` (escaped, control characters out): never as code.
:func:`sort_all` is the one order for every generated ``__all__`` (ruff's RUF022: constants,
classes, the rest, digit runs by value) and :func:`format_sources` the one ruff run over a whole
generated package (imports sorted, then formatted), independent of any configuration near it.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

from common_clients.codegen._errors import CodegenError
from common_clients.codegen._extra import require

__all__ = [
    "LINE_LENGTH",
    "docstring",
    "format_python",
    "format_sources",
    "literal_source",
    "sort_all",
]

LINE_LENGTH = 100

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Lone surrogates (JSON admits them) cannot be written as UTF-8: they become U+FFFD in docstrings.
_UNWRITABLE = re.compile("[\ud800-\udfff]")
# Look-alike punctuation in descriptions, spelt in ASCII so that docstrings read (and lint) clean.
_CONFUSABLES = str.maketrans(
    {
        "\u00a0": " ",
        "\u00d7": "x",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2212": "-",
    }
)


def literal_source(value: object) -> str:
    """``repr`` with non-ASCII characters escaped: the value exact, the source unambiguous."""
    return repr(value).encode("ascii", "backslashreplace").decode("ascii")


def docstring(text: str, indent: str) -> str:
    """A triple-quoted docstring of ``text`` that is valid Python whatever ``text`` holds."""
    text = text.translate(_CONFUSABLES).replace("\r\n", "\n").replace("\r", "\n")
    clean = _CONTROL.sub(" ", text).strip()
    clean = _UNWRITABLE.sub("\ufffd", clean)
    clean = clean.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    width = max(100 - len(indent) - 6, 40)  # room for the quotes
    lines = [
        wrapped
        for line in clean.split("\n")
        for wrapped in (
            textwrap.wrap(
                line.rstrip(),
                width=width,
                subsequent_indent=re.match(r"\s*", line).group(),  # type: ignore[union-attr]
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [""]
        )
    ]
    body = "\n".join(f"{indent}{line}" if line else "" for line in lines)[len(indent) :]
    if len(lines) == 1:
        if body.endswith('"') and not body.endswith('\\"'):
            body = body[:-1] + '\\"'
        return f'{indent}"""{body}"""\n'
    return f'{indent}"""{body}\n{indent}"""\n'


def sort_all(names: Iterable[str]) -> list[str]:
    """``names`` in the order ruff's RUF022 wants for ``__all__`` (and isort for imported names).

    Constants (``MAX``), then classes (``Pet``), then the rest (``path_param``), each in natural
    order: ``Pet2`` before ``Pet10``, as ruff compares digit runs by value.
    """
    return sorted(names, key=functools.cmp_to_key(_member_compare))


def _member_compare(a: str, b: str) -> int:
    return (_member_group(a) - _member_group(b)) or _natural_compare(a, b)


def _member_group(name: str) -> int:
    """RUF022's groups: SCREAMING_CASE, then CamelCase, then everything else."""
    if len(name) > 1 and name.upper() == name and name.lower() != name:
        return 0
    return 1 if name[:1].isupper() else 2


def _natural_compare(a: str, b: str) -> int:
    """strnatcmp (as ruff's RUF022 applies it): digit runs by value, or left-aligned after a 0."""
    i = j = 0
    while True:
        ca, cb = a[i : i + 1], b[j : j + 1]
        if ca.isdigit() and cb.isdigit():
            left = ca == "0" or cb == "0"
            bias = 0
            while True:
                da, db = a[i : i + 1].isdigit(), b[j : j + 1].isdigit()
                if not da and not db:
                    if bias:
                        return bias
                    break
                if not da:
                    return -1
                if not db:
                    return 1
                if a[i] != b[j]:
                    order = -1 if a[i] < b[j] else 1
                    if left:
                        return order
                    bias = bias or order
                i, j = i + 1, j + 1
            continue
        if not ca and not cb:
            return 0
        if ca != cb:
            return -1 if ca < cb else 1
        i, j = i + 1, j + 1


def format_sources(files: Mapping[str, str], *, first_party: Iterable[str] = ()) -> dict[str, str]:
    """``files`` (relative path -> source) with imports sorted and code formatted by ruff.

    One ruff process per step over the whole package, whatever configuration is near: the output
    is the same wherever the generator runs. ``first_party`` names the packages isort puts last.
    """
    require("ruff")
    with tempfile.TemporaryDirectory(prefix="common-clients-") as folder:
        root = Path(folder)
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        common = ["--isolated", f"--line-length={LINE_LENGTH}", "--target-version=py311"]
        known = sorted(set(first_party))
        steps = [
            [
                "check",
                *common,
                "--select=I",
                "--fix-only",
                "--exit-zero",
                f"--config=lint.isort.known-first-party={known!r}",
                ".",
            ],
            ["format", *common, "."],
        ]
        for step in steps:
            result = subprocess.run(
                [sys.executable, "-m", "ruff", *step], cwd=root, capture_output=True, check=False
            )
            if result.returncode != 0:  # a bug here: generated code always parses
                raise CodegenError(
                    f"ruff could not format generated code: {result.stderr.decode().strip()}"
                )
        return {relative: (root / relative).read_text(encoding="utf-8") for relative in files}


def format_python(source: str, *, first_party: Iterable[str] = ("common_clients",)) -> str:
    """One module's ``source``, imports sorted and formatted as :func:`format_sources` does."""
    return format_sources({"module.py": source}, first_party=first_party)["module.py"]
