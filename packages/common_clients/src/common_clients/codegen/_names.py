"""Python names for things an OpenAPI document names: valid, collision-free and deterministic.

Spec names come in every style (``simple-user``, ``firstName``, ``HTTPError``, ``+1``, ``2fa``,
``class``). :func:`snake_case` and :func:`pascal_case` turn them into identifiers, and a
:class:`NameAllocator` hands each one out once per scope: the first come keeps the plain name, later
ones get ``_2``/``2``, ``_3``/``3``... Given the same names in the same order, the result is always
the same, so generated code is byte-identical on re-run.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
import re
import unicodedata
from collections.abc import Iterable
from typing import Literal

__all__ = [
    "FIELD_RESERVED",
    "MODULE_RESERVED",
    "NameAllocator",
    "field_name",
    "pascal_case",
    "snake_case",
    "split_words",
]

# Words inside one identifier-ish chunk: acronyms before a capitalised word (``HTTPServer`` ->
# ``HTTP``, ``Server``), capitalised or lower words, bare acronyms, digit runs (``2fa`` whole).
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+[a-z]*")
# Symbols that carry meaning at the start of a name (GitHub's reactions are ``+1`` and ``-1``).
_LEADING_SYMBOLS = {"+": "plus", "-": "minus", "@": "at", "$": "dollar", "#": "hash"}

# Names a generated model field can never take: keywords, the attributes and methods of
# ``pydantic.BaseModel`` (a field may not shadow them), and the builtin types that generated
# annotations use (a field called ``str`` would shadow ``str`` in its own class body). Spelled out
# here rather than read from pydantic at run time, so that output does not vary with its version.
FIELD_RESERVED: frozenset[str] = frozenset(
    {
        *keyword.kwlist,
        "bool",
        "bytes",
        "construct",
        "copy",
        "dict",
        "float",
        "from_orm",
        "int",
        "json",
        "list",
        "model_computed_fields",
        "model_config",
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_extra",
        "model_fields",
        "model_fields_set",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema",
        "schema_json",
        "str",
        "tuple",
        "update_forward_refs",
        "validate",
    }
)

# Names a generated module binds itself (imports, helpers): a generated class or alias never takes
# them.
MODULE_RESERVED: frozenset[str] = frozenset(
    {
        *keyword.kwlist,
        *(name for name in dir(builtins) if not name.startswith("_")),
        "Annotated",
        "Any",
        "BaseModel",
        "ConfigDict",
        "Discriminator",
        "Field",
        "GeneratedModel",
        "Literal",
        "Tag",
        "TypeAlias",
    }
)


# Longer names are cut and given a hash of the whole, so they stay unique and lines stay readable.
MAX_LENGTH = 72


def _bounded(candidate: str, original: str, *, separator: str) -> str:
    if len(candidate) <= MAX_LENGTH:
        return candidate
    digest = hashlib.sha256(original.encode()).hexdigest()[:8]
    if not separator:
        digest = digest.capitalize()
    return f"{candidate[: MAX_LENGTH - 9].rstrip('_')}{separator}{digest}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def split_words(name: str) -> list[str]:
    """The words of ``name`` whatever its style: ``getHTTPResponse2`` -> get, HTTP, Response, 2."""
    text = _ascii(name)
    words: list[str] = []
    stripped = text.lstrip()
    if stripped[:1] in _LEADING_SYMBOLS:
        words.append(_LEADING_SYMBOLS[stripped[0]])
    for chunk in re.split(r"[^A-Za-z0-9]+", text):
        words.extend(_WORD.findall(chunk))
    return words


def snake_case(name: str) -> str:
    """``firstName`` -> ``first_name``; empty when ``name`` has no letters or digits."""
    return "_".join(word.lower() for word in split_words(name))


def pascal_case(name: str) -> str:
    """``simple-user`` -> ``SimpleUser``; acronyms keep their capitals (``HTTPError``)."""
    return "".join(word[:1].upper() + word[1:] for word in split_words(name))


def field_name(name: str) -> str:
    """A valid attribute name for the property ``name``, before collision handling."""
    candidate = snake_case(name) or "field"
    if candidate[0].isdigit():
        candidate = f"field_{candidate}"
    if candidate in FIELD_RESERVED or keyword.iskeyword(candidate):
        candidate = f"{candidate}_"
    return _bounded(candidate, name, separator="_")


def _class_name(name: str) -> str:
    candidate = pascal_case(name) or "Model"
    if candidate[0].isdigit():
        candidate = f"Model{candidate}"
    if candidate in MODULE_RESERVED:
        candidate = f"{candidate}Model"
    return _bounded(candidate, name, separator="")


class NameAllocator:
    """Hands out unique names in one scope (a module, a class, a function signature).

    ``style="snake"`` makes attribute and function names, ``style="pascal"`` class names. A name
    asked for twice gets a numeric suffix the second time; ``reserved`` names are never handed out.
    """

    def __init__(
        self,
        *,
        style: Literal["snake", "pascal"],
        reserved: Iterable[str] = (),
    ) -> None:
        self._style = style
        self._taken: set[str] = set(reserved)

    def make(self, name: str) -> str:
        """The identifier ``name`` would get, without taking it."""
        return field_name(name) if self._style == "snake" else _class_name(name)

    def allocate(self, name: str) -> str:
        """A unique identifier for ``name``; taken from now on."""
        base = self.make(name)
        candidate, number = base, 1
        while candidate in self._taken:
            number += 1
            candidate = f"{base}_{number}" if self._style == "snake" else f"{base}{number}"
        self._taken.add(candidate)
        return candidate

    def reserve(self, name: str) -> None:
        """Take ``name`` as it is (an identifier the caller picked itself)."""
        self._taken.add(name)

    def __contains__(self, name: object) -> bool:
        return name in self._taken
