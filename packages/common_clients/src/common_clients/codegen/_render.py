"""Rendering: the source of ``models.py`` from the definitions the type mapping made.

The type mapping (``_types``) decides every name and type and hands over :class:`ClassDef` and
:class:`AliasDef` objects; :func:`render_models` orders them (an alias is evaluated at import, so
it follows what it names; one that reaches itself becomes a lazy ``TypeAliasType``), writes the
imports the code uses and nothing more, and puts every text from the document through
:func:`~common_clients.codegen._source.docstring` or
:func:`~common_clients.codegen._source.literal_source`. :func:`annotation_imports` is the same
import logic for modules that use the models (the resources).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from common_clients.codegen._source import docstring, literal_source, sort_all
from common_clients.codegen._spec import Spec

__all__ = ["AliasDef", "ClassDef", "FieldDef", "annotation_imports", "render_models"]

_MODULE_IMPORTS = {
    "_dt": "import datetime as _dt",
    "_decimal": "import decimal as _decimal",
    "_uuid": "import uuid as _uuid",
}
_TYPING_NAMES = ("Annotated", "Any", "Literal", "TypeAlias")
# The runtime's types for enum values a client does not know (see common_clients._enums).
_RUNTIME_NAMES = ("UnknownInt", "UnknownStr")
# What generated models stand on, from the runtime's public surface for generated code.
_GENERATED_NAMES = ("GeneratedModel", "discriminate")
_PYDANTIC_NAMES = ("ConfigDict", "Discriminator", "Field", "Tag")
_STRING_LITERAL = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'""")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_NAME = re.compile(r"(^|_)(pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)($|_)", re.IGNORECASE)


@dataclass
class FieldDef:
    """One field of a model: attribute name, wire name, annotation and default as source."""

    name: str
    wire: str
    annotation: str
    default: str | None  # Python source; None when the field is required
    deprecated: bool
    description: str | None


@dataclass
class ClassDef:
    """A model class (``pointer``: the schema it comes from, for errors)."""

    name: str
    fields: list[FieldDef]
    doc: str | None
    extra: str | None  # the type of additional properties, when they are allowed
    pointer: str


@dataclass
class AliasDef:
    """A named type (``Name: TypeAlias = ...``); ``depends``/``recursive`` are set by rendering."""

    name: str
    expression: str
    doc: str | None
    pointer: str
    depends: set[str] = field(default_factory=set)
    recursive: bool = False


def render_models(definitions: Mapping[str, ClassDef | AliasDef], *, spec: Spec, title: str) -> str:
    """The source of ``models.py`` (not yet formatted) holding ``definitions``; ``title`` is its
    docstring. A :class:`SpecError` when an alias is defined only through itself."""
    body = _render_definitions(definitions, spec)
    used = _used_names(definitions)
    lines = [
        docstring(title, "").rstrip("\n"),
        "",
        *(
            ["# Defaults are the API's documented values, not secrets:", "# ruff: noqa: S105"]
            if _secret_named_defaults(definitions)
            else []
        ),
        "",
        "from __future__ import annotations",
        "",
    ]
    lines += sorted(
        (line for name, line in _MODULE_IMPORTS.items() if name in used), key=_import_order
    )
    typing_names = [name for name in _TYPING_NAMES if name in used]
    if typing_names:
        lines.append(f"from typing import {', '.join(typing_names)}")
    lines.append("")
    pydantic_names = [name for name in _PYDANTIC_NAMES if name in used]
    if pydantic_names:
        lines.append(f"from pydantic import {', '.join(pydantic_names)}")
    if "TypeAliasType" in used:
        lines.append("from typing_extensions import TypeAliasType")
    runtime_names = [name for name in _RUNTIME_NAMES if name in used]
    if runtime_names:
        lines += ["", f"from common_clients import {', '.join(runtime_names)}"]
    generated_names = [name for name in _GENERATED_NAMES if name in used]
    lines.append(f"from common_clients.runtime import {', '.join(generated_names)}")
    lines += ["", f"__all__ = {sort_all(definitions)!r}", "", ""]
    return "\n".join(lines) + "\n" + body


def annotation_imports(
    annotations: Iterable[str], *, models: Iterable[str] | set[str], models_module: str
) -> list[str]:
    """Import lines a module needs to use ``annotations`` naming ``models``, sorted."""
    known = models if isinstance(models, set) else set(models)
    modules: set[str] = set()
    typing_names: set[str] = set()
    runtime_names: set[str] = set()
    used_models: set[str] = set()
    for annotation in annotations:
        for name in _IDENTIFIER.findall(_STRING_LITERAL.sub("", annotation)):
            if name in _MODULE_IMPORTS:
                modules.add(_MODULE_IMPORTS[name])
            elif name in _TYPING_NAMES:
                typing_names.add(name)
            elif name in _RUNTIME_NAMES:
                runtime_names.add(name)
            elif name in known:
                used_models.add(name)
    lines = sorted(modules, key=_import_order)
    if typing_names:
        lines.append(f"from typing import {', '.join(sorted(typing_names))}")
    if runtime_names:
        lines.append(f"from common_clients import {', '.join(sorted(runtime_names))}")
    if used_models:
        lines.append(f"from {models_module} import {', '.join(sorted(used_models))}")
    return lines


def _secret_named_defaults(definitions: Mapping[str, ClassDef | AliasDef]) -> bool:
    """Whether a string default sits on a field ruff's S105 takes for a password."""
    return any(
        _SECRET_NAME.search(item.name) and (item.default or "")[:1] in "\"'"
        for definition in definitions.values()
        if isinstance(definition, ClassDef)
        for item in definition.fields
        if item.default
    )


def _used_names(definitions: Mapping[str, ClassDef | AliasDef]) -> set[str]:
    """Names the definitions use, read from the code they hold (never from docstrings)."""
    code = ["GeneratedModel"]
    for definition in definitions.values():
        if isinstance(definition, AliasDef):
            code += ["TypeAliasType" if definition.recursive else "TypeAlias"]
            code.append(definition.expression)
            continue
        for item in definition.fields:
            code += [item.annotation, item.default or ""]
            factory = (item.default or "").startswith("Field(")
            if item.name != item.wire or item.deprecated or factory:
                code.append("Field")
        if definition.extra is not None:
            code += ["ConfigDict", "Field", definition.extra]
    return set(_IDENTIFIER.findall(_STRING_LITERAL.sub("", " ".join(code))))


def _render_definitions(definitions: Mapping[str, ClassDef | AliasDef], spec: Spec) -> str:
    classes = [d for d in definitions.values() if isinstance(d, ClassDef)]
    aliases = {d.name: d for d in definitions.values() if isinstance(d, AliasDef)}
    class_names = {d.name for d in classes}
    references = {
        alias.name: {
            name
            for name in _IDENTIFIER.findall(_STRING_LITERAL.sub("", alias.expression))
            if name in definitions
        }
        for alias in aliases.values()
    }
    # An alias that reaches itself through aliases alone cannot be evaluated at import: it
    # becomes a ``TypeAliasType`` with its value as a string, evaluated lazily.
    recursive = _cyclic({name: refs & set(aliases) for name, refs in references.items()})
    for name in sorted(recursive):
        if aliases[name].expression in recursive:  # A = B, B = A: no type at all
            raise spec.error(
                f"schema {name!r} is defined only through itself", aliases[name].pointer
            )
    for alias in aliases.values():
        alias.recursive = alias.name in recursive
        alias.depends = set() if alias.recursive else references[alias.name] - {alias.name}
    # Aliases are evaluated at import: each must follow what it names. Classes annotate
    # lazily (``from __future__ import annotations``), so they can come in any order.
    ordered: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        done.add(name)
        for dep in sorted(aliases[name].depends):
            if dep in aliases:
                visit(dep)
        ordered.append(name)

    for name in aliases:
        visit(name)

    reaches: dict[str, bool] = {}
    for name in ordered:  # dependencies first, so each answer is ready when asked
        reaches[name] = any(
            dep in class_names or reaches.get(dep, False) for dep in aliases[name].depends
        )
    early = [name for name in ordered if not reaches[name]]
    late = [name for name in ordered if reaches[name]]
    chunks: list[str] = []
    chunks += [_render_alias(aliases[name]) for name in early]
    chunks += [_render_class(d) for d in classes]
    chunks += [_render_alias(aliases[name]) for name in late]
    return "\n\n".join(chunks)


def _render_alias(alias: AliasDef) -> str:
    if alias.recursive:
        value = literal_source(alias.expression)
        text = f"{alias.name} = TypeAliasType({alias.name!r}, {value})\n"
    else:
        text = f"{alias.name}: TypeAlias = {alias.expression}\n"
    if alias.doc:
        text += docstring(alias.doc, "")
    return text


def _render_class(model: ClassDef) -> str:
    lines = [f"class {model.name}(GeneratedModel):\n"]
    if model.doc:
        lines.append(docstring(model.doc, "    "))
    if model.extra is not None:
        lines.append('    model_config = ConfigDict(extra="allow")\n')
    lines += [_render_field(item) for item in model.fields]
    if model.extra is not None:
        lines.append(f"    __pydantic_extra__: dict[str, {model.extra}] = Field(init=False)\n")
    if len(lines) == 1:
        lines.append("    pass\n")
    return "".join(lines)


def _render_field(item: FieldDef) -> str:
    arguments = []
    if item.default is not None:
        if item.default.startswith("Field("):
            arguments.append(item.default[len("Field(") : -1])
        else:
            arguments.append(f"default={item.default}")
    if item.name != item.wire:
        arguments.append(f"validation_alias={literal_source(item.wire)}")
        arguments.append(f"serialization_alias={literal_source(item.wire)}")
    if item.deprecated:
        arguments.append("deprecated=True")
    if not arguments:
        line = f"    {item.name}: {item.annotation}\n"
    elif len(arguments) == 1 and arguments[0].startswith("default="):
        line = f"    {item.name}: {item.annotation} = {item.default}\n"
    else:
        line = f"    {item.name}: {item.annotation} = Field({', '.join(arguments)})\n"
    if item.description:
        line += docstring(item.description, "    ")
    return line


def _import_order(line: str) -> tuple[bool, str]:
    """isort's order in one section: ``import x`` lines, then ``from x import y`` lines."""
    return line.startswith("from "), line


def _cyclic(graph: Mapping[str, set[str]]) -> set[str]:
    """The nodes of ``graph`` that lie on a cycle (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: set[str] = set()

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                result.update(component)

    for node in graph:
        if node not in index:
            connect(node)
    return result
