"""Bundling a document split over several files into one: ``$ref: schemas/user.yaml#/User``.

A reference to another file (a relative path, never a URL: the generator reads no network) is
replaced by a local one to a copy of its target placed in the main document: schemas go to
``components.schemas`` (under the name the target has in its file, made unique), anything else
(parameters, responses, path items) to ``components.x-bundled``. References inside the bundled
copies are followed the same way, relative to the file they were written in, so a tree of files
becomes one document that the rest of the generator reads as if it had been written so.

A document is not trusted to name the files it reads: a ``$ref`` is followed only to a file under
the root (the main document's folder, or one given), never through a symlink, and an error about
a file it may not read says so without a word of its content.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from common_clients.codegen._errors import SpecError
from common_clients.codegen._spec import MAX_BYTES, escape_pointer, node_at

__all__ = ["bundle"]

# Keywords whose value is a Schema Object, whose values are, and whose items are.
_SCHEMA_VALUE = frozenset(
    {
        "additionalItems",
        "additionalProperties",
        "contains",
        "else",
        "if",
        "items",
        "not",
        "propertyNames",
        "then",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_SCHEMA_MAP = frozenset(
    {"$defs", "definitions", "dependentSchemas", "patternProperties", "properties"}
)
_SCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_DATA = frozenset({"const", "default", "enum", "example", "examples", "value"})
_COMPONENT_KEY = re.compile(r"[^A-Za-z0-9._-]+")


class _Bundler:
    def __init__(
        self,
        document: dict[str, Any],
        main: Path,
        source: str | None,
        parse: Callable[..., Any],
        root: Path,
    ) -> None:
        self.document = document
        self.main = main
        self.root = root
        self.read_bytes = 0
        self.source = source
        self.parse = parse
        self.files: dict[Path, Any] = {}
        self.hashes: dict[Path, str] = {}
        self.placed: dict[tuple[Path, str], str] = {}
        components = document.setdefault("components", {})
        self.schemas: dict[str, Any] = components.setdefault("schemas", {})
        self.others: dict[str, Any] = {}

    def error(self, message: str, pointer: str, file: Path) -> SpecError:
        where = self.source if file == self.main else str(file)
        return SpecError(message, pointer=pointer, source=where)

    def walk(self, node: Any, pointer: str, file: Path, *, schema: bool) -> None:
        """Rewrite the file references under ``node`` (a part of ``file``) to local ones."""
        if isinstance(node, list):
            for index, item in enumerate(node):
                self.walk(item, f"{pointer}/{index}", file, schema=False)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and (file != self.main or not ref.startswith("#")):
            node["$ref"] = self.place(ref, pointer, file, schema=schema)
        for key, value in list(node.items()):
            if key in _DATA or str(key).startswith("x-") or not isinstance(value, dict | list):
                continue
            at = f"{pointer}/{escape_pointer(key)}"
            for child, child_at, child_schema in self._children(key, value, at, file, schema):
                self.walk(child, child_at, file, schema=child_schema)

    def _children(
        self, key: str, value: dict[str, Any] | list[Any], at: str, file: Path, schema: bool
    ) -> list[tuple[Any, str, bool]]:
        """The nodes under ``value`` (at key ``key``), each with whether it is a schema."""
        members: list[tuple[Any, str]] = (
            [(member, f"{at}/{escape_pointer(name)}") for name, member in value.items()]
            if isinstance(value, dict)
            else [(member, f"{at}/{index}") for index, member in enumerate(value)]
        )
        if schema and key in _SCHEMA_MAP and isinstance(value, dict):
            return [(member, where, True) for member, where in members]
        if schema and key in _SCHEMA_LIST and isinstance(value, list):
            return [(member, where, True) for member, where in members]
        if (schema and key in _SCHEMA_VALUE) or key == "schema":
            return [(value, at, True)]
        if at == "/components/schemas" and file == self.main:
            return [(member, where, True) for member, where in members]
        return [(value, at, False)]

    def place(self, ref: str, pointer: str, file: Path, *, schema: bool) -> str:
        """The local reference for ``ref`` (written in ``file``), bundling its target once."""
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", ref):
            raise self.error(
                f"$ref {ref!r} is remote: only files beside the document are read", pointer, file
            )
        path_part, _, fragment = ref.partition("#")
        target_file = (
            self.inside_root(ref, unquote(path_part), pointer, file) if path_part else file
        )
        target_pointer = unquote(fragment)
        if target_file == self.main:
            return f"#{fragment}"  # back into the main document: already local
        key = (target_file, target_pointer)
        if key in self.placed:
            return self.placed[key]
        document = self.load(target_file, ref, pointer, file)
        try:
            target = copy.deepcopy(node_at(document, target_pointer))
        except KeyError:
            raise self.error(f"$ref {ref!r} points to nothing", pointer, file) from None
        if not isinstance(target, dict | bool) or (isinstance(target, bool) and not schema):
            # Said without the value: the file may be anything, a $ref is not to show it.
            raise self.error(
                f"$ref {ref!r}: the target is not an object (a {type(target).__name__})",
                pointer,
                file,
            )
        stem = target_pointer.rsplit("/", 1)[-1] if target_pointer else target_file.stem
        if schema:
            name = _unique(_COMPONENT_KEY.sub("_", stem) or "Schema", self.schemas)
            self.schemas[name] = target
            local = f"#/components/schemas/{escape_pointer(name)}"
        else:
            name = _unique(_COMPONENT_KEY.sub("_", f"{target_file.stem}{fragment}"), self.others)
            self.others[name] = target
            local = f"#/components/x-bundled/{escape_pointer(name)}"
        self.placed[key] = local
        self.walk(target, target_pointer, target_file, schema=schema)
        return local

    def inside_root(self, ref: str, relative: str, pointer: str, file: Path) -> Path:
        """The file ``relative`` to ``file`` names, if under the root and reached without links."""
        target = Path(os.path.normpath(file.parent / relative))
        if not target.is_relative_to(self.root):
            raise self.error(
                f"$ref {ref!r} leaves {self.root}: a $ref reads files under the document's folder"
                " only (--root names another)",
                pointer,
                file,
            )
        step = self.root
        for part in target.relative_to(self.root).parts:
            step = step / part
            if step.is_symlink():
                raise self.error(
                    f"$ref {ref!r} goes through the symlink {step.relative_to(self.root)}:"
                    " refused (a link may lead anywhere)",
                    pointer,
                    file,
                )
        return target

    def load(self, target: Path, ref: str, pointer: str, file: Path) -> Any:
        if target not in self.files:
            try:
                data = target.read_bytes()
            except OSError as exc:
                raise self.error(
                    f"$ref {ref!r}: cannot read {target.name}: {exc.strerror}", pointer, file
                ) from None
            self.read_bytes += len(data)
            if self.read_bytes > MAX_BYTES:
                raise self.error(
                    f"$ref {ref!r}: the files read pass the {MAX_BYTES}-byte bound", pointer, file
                )
            self.hashes[target] = hashlib.sha256(data).hexdigest()
            self.files[target] = self.parse(data, source=str(target))
        return self.files[target]


def _unique(name: str, taken: Mapping[str, Any]) -> str:
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate


def bundle(
    document: dict[str, Any],
    *,
    path: Path,
    source: str | None,
    parse: Callable[..., Any],
    root: Path | None = None,
) -> list[str]:
    """Bring every file ``document`` (read from ``path``) references into it, in place.

    ``parse(data, source=...)`` turns a referenced file's bytes into its content. Only files under
    ``root`` (default: ``path``'s folder) are read, none through a symlink. Returns the sha256 of
    each file read, so that the document's hash covers them.
    """
    main = path.resolve()
    bundler = _Bundler(document, main, source, parse, (root or main.parent).resolve())
    bundler.walk(document, "", bundler.main, schema=False)
    if bundler.others:
        document["components"]["x-bundled"] = bundler.others
    if not document["components"]["schemas"]:
        del document["components"]["schemas"]
    if not document["components"]:
        del document["components"]
    return [bundler.hashes[file] for file in sorted(bundler.hashes)]
