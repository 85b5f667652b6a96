"""pydantic v2 model source from OpenAPI schemas: the ``models.py`` of a generated client.

:class:`ModelEmitter` turns every schema of a :class:`~common_clients.codegen.Spec` into Python
source, and answers the operations emitter's question "what type is this schema?" with a type
expression (:meth:`ModelEmitter.type_for`), naming and queueing inline object schemas on the way.
:meth:`ModelEmitter.render` then writes the module.

How schemas map (decisions a reader of generated code should know):

- an object schema with properties is a class; ``allOf`` is flattened into one class; an object
  without properties is ``dict[str, T]``; arrays are ``list[T]``;
- ``enum`` and ``const`` are ``Literal[...]`` (a named one is ``Name: TypeAlias = Literal[...]``);
  where a response reads an enum of two or more string or integer values, its type also admits an
  unknown value (``Status | UnknownStr``, ``UnknownInt``): a value the service added after the
  client was generated is kept, typed as unknown, instead of failing the response. Request-only
  models and parameters keep the strict ``Literal``; so does a model that only requests reach
  (drf-spectacular's ``UserRequest``). One-value enums and ``const`` stay strict (they are tags);
- ``oneOf``/``anyOf`` are unions; when the spec gives a ``discriminator``, or every member is an
  object with a property holding one distinct constant (an implied discriminator), the union is
  tagged on that property and gets a name of its own; a schema with a ``discriminator`` that
  others extend through ``allOf`` (OpenAPI 2-style polymorphism) keeps its own model, and where it
  is referenced stands for the union of its extensions (``AnyPet``); a discriminator property
  that a member may omit gives a plain union (pydantic picks the member that fits best);
- nullable (3.0 ``nullable``, 3.1 ``type: [..., "null"]``, a ``null`` member or enum value) adds
  ``| None``; an optional property is ``T | None = None`` (no "unset" sentinel: request bodies are
  serialised with ``exclude_unset=True``, so a field never set is never sent);
- a schema with ``readOnly``/``writeOnly`` properties (directly or through what it references) is
  split: ``Name`` (response: no write-only fields) and ``NameRequest`` (request: no read-only
  fields), the request form made only when a request uses it;
- every model ignores unknown fields (a service adding a field never breaks an old client), request
  models too: a body built from a response (``UserRequest.model_validate(user.model_dump())``)
  must work, and a misspelt keyword is already a type error; ``additionalProperties`` allows extra
  fields, typed through ``__pydantic_extra__``;
- property names become snake_case attributes (``validation_alias``/``serialization_alias`` keep
  the wire name); dump with ``model_dump(mode="json", by_alias=True, exclude_unset=True)``;
- formats: ``date-time``, ``date``, ``time``, ``duration``, ``uuid``, ``decimal`` map to the
  standard library types, ``binary`` to ``bytes``; descriptions become docstrings; ``deprecated``
  properties warn on access (``Field(deprecated=True)``) and deprecated schemas say so.
"""

from __future__ import annotations

import functools
import math
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from common_clients.codegen._names import NameAllocator, pascal_case
from common_clients.codegen._spec import Spec, escape_pointer

__all__ = ["Direction", "ModelEmitter", "enum_rejects_unknown", "format_python"]

Direction = Literal["request", "response"]
_Variant = Literal["request", "response", "shared"]

_STRING_FORMATS = {
    "date-time": "_dt.datetime",
    "date": "_dt.date",
    "time": "_dt.time",
    "duration": "_dt.timedelta",
    "uuid": "_uuid.UUID",
    "decimal": "_decimal.Decimal",
    "binary": "bytes",
}
_PRIMITIVES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
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
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Lone surrogates (JSON admits them) cannot be written as UTF-8: they become U+FFFD in docstrings.
_UNWRITABLE = re.compile("[\ud800-\udfff]")
_SECRET_NAME = re.compile(r"(^|_)(pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)($|_)", re.IGNORECASE)
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


def _literal_source(value: object) -> str:
    """``repr`` with non-ASCII characters escaped: the value exact, the source unambiguous."""
    return repr(value).encode("ascii", "backslashreplace").decode("ascii")


def _literal_values(values: object) -> list[Any] | None:
    """The values a ``Literal`` of an ``enum`` holds (``null`` left to ``| None``), or ``None``.

    ``None`` when a value cannot be a ``Literal`` (floats, objects): the base type is used then.
    """
    if not isinstance(values, list):
        return None
    kept: list[Any] = []
    for value in values:
        if value is None:
            continue
        if not isinstance(value, bool | int | str):
            return None
        if value not in kept:
            kept.append(value)
    return kept


def _unknown_member(values: list[Any]) -> str | None:
    """The runtime type(s) an unknown value of an enum of ``values`` gets in a response, if any.

    Only enums with a choice to grow: two or more string or integer values. A one-value enum is a
    tag that picks a union member, and booleans have no third value.
    """
    if len(values) < 2 or any(isinstance(value, bool) for value in values):
        return None
    members = []
    if any(isinstance(value, str) for value in values):
        members.append("UnknownStr")
    if any(isinstance(value, int) for value in values):
        members.append("UnknownInt")
    return " | ".join(members)


def enum_rejects_unknown(values: object) -> bool:
    """Whether a generated response type of an ``enum`` with ``values`` fails on a value it lacks.

    False for an enum whose response type admits unknown values (``UnknownStr``/``UnknownInt``),
    and for one that is typed by its base type (floats, objects): a new value reaches those clients
    as data. ``diff`` uses this to class a value added to a response enum.
    """
    kept = _literal_values(values)
    return kept is not None and _unknown_member(kept) is None


def format_python(source: str, *, line_length: int = 100) -> str:
    """``source`` formatted by ruff, independent of any configuration file around it."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "format",
            "--isolated",
            f"--line-length={line_length}",
            "--target-version=py311",
            "--stdin-filename=generated.py",
            "-",
        ],
        input=source.encode(),
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ruff could not format generated code: {result.stderr.decode()}")
    return result.stdout.decode()


def _docstring(text: str, indent: str) -> str:
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


@dataclass
class _Field:
    name: str
    wire: str
    annotation: str
    default: str | None  # Python source; None when the field is required
    deprecated: bool
    description: str | None


@dataclass
class _ClassDef:
    name: str
    fields: list[_Field]
    doc: str | None
    extra: str | None  # the type of additional properties, when they are allowed
    pointer: str


@dataclass
class _AliasDef:
    name: str
    expression: str
    doc: str | None
    pointer: str
    depends: set[str] = field(default_factory=set)
    recursive: bool = False


@dataclass
class _Collected:
    """An object schema with its ``allOf`` flattened."""

    properties: dict[str, tuple[Any, str]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    extra: Any = None  # additionalProperties schema (True for "anything")


class ModelEmitter:
    """Builds the models module of one spec; see the module docstring for the mapping.

    Use: ``emitter = ModelEmitter(spec)``; for every parameter, body and response schema an
    operation has, ``emitter.type_for(schema, name_hint="CreateUserBody", direction="request")``
    gives the annotation to write (it may name a model that :meth:`render` will define);
    ``emitter.imports_for(annotations, models_module=".models")`` gives the import lines a module
    using those annotations needs; finally ``emitter.render()`` is the source of ``models.py``.
    Every name that leaves here is fixed for the emitter's life, so call order decides names of
    inline schemas: call in document order and output is byte-identical on re-run.
    """

    def __init__(
        self,
        spec: Spec,
        *,
        reserved_names: Iterable[str] = (),
        progress: Callable[[int, int], None] | None = None,
        progress_every: int = 200,
    ) -> None:
        self._spec = spec
        self._progress = progress
        self._progress_every = progress_every
        self._names = NameAllocator(style="pascal", reserved=reserved_names)
        self._component_ids: dict[int, str] = {}
        self._names_of: dict[tuple[int, _Variant], str] = {}
        self._queue: list[tuple[str, Any, str, _Variant]] = []
        self._defs: dict[str, _ClassDef | _AliasDef] = {}
        self._scan_memo: dict[int, tuple[bool, frozenset[str]]] = {}
        self._split_memo: dict[int, bool] = {}
        self._objectish_active: set[int] = set()
        self._shared_uses: dict[int, set[Direction]] = {}
        self.component_names: dict[str, str] = {}
        """Schema name in ``components.schemas`` -> name of its (response) model or alias."""
        self._all_names: set[str] = set()
        for key, schema in spec.schemas.items():
            self._component_ids[id(schema)] = key
        self._split_components = self._compute_split_components()
        self._polymorphic = self._find_polymorphic_bases()
        self._polymorphic_names: dict[tuple[str, Direction], str] = {}
        for key, schema in spec.schemas.items():
            name = self._names.allocate(key)
            self.component_names[key] = name
            # drf-spectacular's split components (``UserRequest``) are meant for requests: their
            # plain name is their request form; every other schema's is its response form.
            primary: Direction = "request" if key.endswith("Request") else "response"
            self._register(schema, _join_schema(key), name, self._variant(schema, primary))

    # -- the API the operations emitter uses ----------------------------------------------------

    def type_for(
        self,
        schema: Mapping[str, Any] | bool | None,
        *,
        name_hint: str,
        direction: Direction,
        pointer: str = "",
    ) -> str:
        """The annotation for values of ``schema`` travelling in ``direction``.

        ``name_hint`` names an inline object schema that needs a model (made PascalCase and unique);
        ``pointer`` locates ``schema`` in the document for error messages.
        """
        expression, nullable = self._typed(schema, hint=name_hint, direction=direction, at=pointer)
        return f"{expression} | None" if nullable and expression != "Any" else expression

    def properties_of(self, schema: Mapping[str, Any] | bool | None) -> dict[str, Any]:
        """The properties of an object schema by wire name, ``$ref`` and ``allOf`` seen through.

        For questions about a body's shape without reading schemas, e.g. whether a response is a
        DRF page: ``{"next", "results"} <= emitter.properties_of(schema).keys()``. Values are the
        property schemas as written (pass them to :meth:`type_for`); ``{}`` for anything else.
        """
        target, pointer = self._spec.resolve(schema) if isinstance(schema, Mapping) else (None, "")
        if not isinstance(target, Mapping):
            return {}
        collected = self._collect(target, at=pointer or "")
        return {name: value for name, (value, _) in collected.properties.items()}

    def imports_for(self, annotations: Iterable[str], *, models_module: str) -> list[str]:
        """Import lines a module needs to use ``annotations`` (from :meth:`type_for`), sorted."""
        modules: set[str] = set()
        typing_names: set[str] = set()
        runtime_names: set[str] = set()
        models: set[str] = set()
        for annotation in annotations:
            for name in _IDENTIFIER.findall(_STRING_LITERAL.sub("", annotation)):
                if name in _MODULE_IMPORTS:
                    modules.add(_MODULE_IMPORTS[name])
                elif name in _TYPING_NAMES:
                    typing_names.add(name)
                elif name in _RUNTIME_NAMES:
                    runtime_names.add(name)
                elif name in self._all_names:
                    models.add(name)
        lines = sorted(modules, key=_import_order)
        if typing_names:
            lines.append(f"from typing import {', '.join(sorted(typing_names))}")
        if runtime_names:
            lines.append(f"from common_clients import {', '.join(sorted(runtime_names))}")
        if models:
            lines.append(f"from {models_module} import {', '.join(sorted(models))}")
        return lines

    def render(self, *, header: str | None = None) -> str:
        """The source of ``models.py``, formatted by ruff; ``header`` is its docstring."""
        self._drain()
        missing = [key for key, name in self.component_names.items() if name not in self._defs]
        if missing:  # pragma: no cover - a bug here, never a property of the input
            raise AssertionError(f"schemas without a model: {missing}")
        body = self._render_definitions()
        used = self._used_names()
        title = header or (
            f"Models of {self._spec.title or 'the API'}, generated from its OpenAPI document"
            f" (sha256 {self._spec.sha256}). Do not edit."
        )
        lines = [
            _docstring(title, "").rstrip("\n"),
            "",
            *(
                ["# Defaults are the API's documented values, not secrets:", "# ruff: noqa: S105"]
                if self._secret_named_defaults()
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
        exported = _isort_order(self._defs)
        lines += ["", f"__all__ = {exported!r}", "", ""]
        return format_python("\n".join(lines) + "\n" + body)

    def _secret_named_defaults(self) -> bool:
        """Whether a string default sits on a field ruff's S105 takes for a password."""
        return any(
            _SECRET_NAME.search(item.name) and (item.default or "")[:1] in "\"'"
            for definition in self._defs.values()
            if isinstance(definition, _ClassDef)
            for item in definition.fields
            if item.default
        )

    def _used_names(self) -> set[str]:
        """Names the definitions use, read from the code they hold (never from docstrings)."""
        code = ["GeneratedModel"]
        for definition in self._defs.values():
            if isinstance(definition, _AliasDef):
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

    # -- naming and the work queue ---------------------------------------------------------------

    def _variant(self, schema: Any, direction: Direction) -> _Variant:
        return direction if self._needs_split(schema) else "shared"

    def _register(self, schema: Any, pointer: str, name: str, variant: _Variant) -> None:
        self._names_of[(id(schema), variant)] = name
        self._all_names.add(name)
        self._queue.append((name, schema, pointer, variant))

    def _name_for(self, schema: Any, pointer: str, hint: str, direction: Direction) -> str:
        """The model or alias name of a schema that needs one, allocating and queueing it."""
        variant = self._variant(schema, direction)
        self._shared_uses.setdefault(id(schema), set()).add(direction)
        known = self._names_of.get((id(schema), variant))
        if known is not None:
            return known
        component = self._component_ids.get(id(schema))
        suffix = "Request" if variant == "request" else "Response"
        if component is not None:  # the other form of a split component is named late
            name = self._names.allocate(f"{self.component_names[component]}{suffix}")
        else:
            variants: tuple[_Variant, ...] = ("shared", "request", "response")
            other = next(
                (
                    self._names_of[(id(schema), v)]
                    for v in variants
                    if (id(schema), v) in self._names_of
                ),
                None,
            )
            name = self._names.allocate(hint if other is None else other + suffix)
        self._register(schema, pointer, name, variant)
        return name

    def _drain(self) -> None:
        done = 0
        while done < len(self._queue):
            name, schema, pointer, variant = self._queue[done]
            done += 1
            if name not in self._defs:
                self._defs[name] = self._define(name, schema, pointer, variant)
            if self._progress and done % self._progress_every == 0:
                self._progress(done, len(self._queue))
        if self._progress:
            self._progress(done, len(self._queue))

    # -- which shared schemas only requests use -------------------------------------------------

    def _only_requests(self, name: str, schema: Any) -> bool:
        """Whether a shared (unsplit) schema is never read from a response, so typed strictly.

        A component: when operations reach it through parameters and request bodies only. An
        inline schema: when every use so far (its parent's) is a request's.
        """
        component = self._component_ids.get(id(schema))
        if component is not None:
            return component in self._request_only_components
        return self._shared_uses.get(id(schema)) == {"request"}

    @functools.cached_property
    def _request_only_components(self) -> frozenset[str]:
        requests: list[Any] = []
        responses: list[Any] = []
        for operation in self._spec.operations():
            for parameter in operation.parameters:
                requests += [parameter.schema, *(media.schema for media in parameter.content)]
            if operation.request_body is not None:
                requests += [media.schema for media in operation.request_body.content]
            for response in operation.responses:
                responses += [media.schema for media in response.content]
        return frozenset(self._reached(requests) - self._reached(responses))

    def _reached(self, roots: Iterable[Any]) -> set[str]:
        """Components that ``roots`` reference, directly or through other components."""
        frontier = [key for root in roots for key in self._scan(root)[1]]
        reached: set[str] = set()
        while frontier:
            key = frontier.pop()
            if key in reached or key not in self._spec.schemas:
                continue
            reached.add(key)
            frontier += self._scan(self._spec.schemas[key])[1]
            # A polymorphic base read from a response is read as one of its extensions.
            frontier += self._polymorphic.get(key, [])
        return reached

    # -- readOnly / writeOnly splitting ----------------------------------------------------------

    def _flag(self, schema: Any, flag: str) -> bool:
        if not isinstance(schema, Mapping):
            return False
        if schema.get(flag) is True:
            return True
        if "$ref" in schema:
            target, _ = self._spec.resolve(schema)
            return isinstance(target, Mapping) and target.get(flag) is True
        members = schema.get("allOf")
        return isinstance(members, list) and len(members) == 1 and self._flag(members[0], flag)

    def _scan(self, schema: Any) -> tuple[bool, frozenset[str]]:
        """(has read/write-only properties in its own tree, components it references)."""
        key = id(schema)
        if key in self._scan_memo:
            return self._scan_memo[key]
        self._scan_memo[key] = (False, frozenset())
        direct = False
        refs: set[str] = set()
        stack = [schema]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if not isinstance(node, Mapping) or id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node.get("$ref"), str):
                target, pointer = self._spec.resolve(node)
                component = self._spec.component_name(pointer)
                if component is not None:
                    refs.add(component)
                else:
                    stack.append(target)
                continue
            properties = node.get("properties")
            if isinstance(properties, Mapping):
                for value in properties.values():
                    if self._flag(value, "readOnly") or self._flag(value, "writeOnly"):
                        direct = True
                    stack.append(value)
            stack += [node.get(keyword) for keyword in ("items", "additionalProperties", "not")]
            for keyword in ("allOf", "oneOf", "anyOf", "prefixItems"):
                members = node.get(keyword)
                if isinstance(members, list):
                    stack.extend(members)
        result = (direct, frozenset(refs))
        self._scan_memo[key] = result
        return result

    def _compute_split_components(self) -> set[str]:
        users: dict[str, set[str]] = {}
        split: set[str] = set()
        for key, schema in self._spec.schemas.items():
            direct, refs = self._scan(schema)
            if direct:
                split.add(key)
            for ref in refs:
                users.setdefault(ref, set()).add(key)
        frontier = list(split)
        while frontier:
            key = frontier.pop()
            for user in users.get(key, ()):
                if user not in split:
                    split.add(user)
                    frontier.append(user)
        return split

    def _needs_split(self, schema: Any) -> bool:
        if not isinstance(schema, Mapping):
            return False
        key = id(schema)
        if key not in self._split_memo:
            component = self._component_ids.get(key)
            if component is not None:
                self._split_memo[key] = component in self._split_components
            else:
                direct, refs = self._scan(schema)
                self._split_memo[key] = direct or bool(refs & self._split_components)
        return self._split_memo[key]

    # -- schema -> type expression ---------------------------------------------------------------

    def _typed(
        self, schema: Any, *, hint: str, direction: Direction, at: str, top: bool = False
    ) -> tuple[str, bool]:
        """(annotation without ``None``, whether ``None`` is allowed too)."""
        if schema is None or schema is True or schema is False:
            return "Any", False
        if not isinstance(schema, Mapping):
            raise self._spec.error(f"a schema must be an object, not {type(schema).__name__}", at)
        if "$ref" in schema:
            target, pointer = self._spec.resolve(schema, at=at)
            nullable = schema.get("nullable") is True
            component = self._spec.component_name(pointer)
            if component is not None:
                expression, target_nullable = self._component_type(component, direction)
            else:
                expression, target_nullable = self._typed(
                    target,
                    hint=pascal_case(pointer.rsplit("/", 1)[-1]) if pointer else hint,
                    direction=direction,
                    at=pointer or at,
                )
            return expression, nullable or target_nullable
        if not top and id(schema) in self._component_ids:
            return self._component_type(self._component_ids[id(schema)], direction)
        nullable = self._nullable(schema)
        if self._is_model(schema):
            return self._name_for(schema, at, hint, direction), nullable
        return self._structural(
            schema, hint=hint, direction=direction, at=at, nullable=nullable, top=top
        )

    def _find_polymorphic_bases(self) -> dict[str, list[str]]:
        """Schemas with a ``discriminator`` but no union, extended by others through ``allOf``.

        The OpenAPI 2-style polymorphism (``Pet`` with ``discriminator: pet_type``, ``Cat`` and
        ``Dog`` as ``allOf: [Pet, ...]``): a value said to be a ``Pet`` is one of its extensions.
        Base -> its extensions, in document order.
        """
        bases = {
            key
            for key, schema in self._spec.schemas.items()
            if isinstance(schema, Mapping)
            and isinstance(schema.get("discriminator"), Mapping)
            and not (schema.get("oneOf") or schema.get("anyOf"))
        }
        extensions: dict[str, list[str]] = {}
        for key, schema in self._spec.schemas.items():
            for member in (schema.get("allOf") or []) if isinstance(schema, Mapping) else []:
                if isinstance(member, Mapping) and isinstance(member.get("$ref"), str):
                    _, pointer = self._spec.resolve(member)
                    base = self._spec.component_name(pointer)
                    if base in bases and key != base:
                        extensions.setdefault(base, []).append(key)
        return extensions

    def _polymorphic_type(self, key: str, direction: Direction) -> str:
        """The union of a polymorphic base's extensions (and itself when its tag is mapped)."""
        known = self._polymorphic_names.get((key, direction))
        if known is not None:
            return known
        base = self._spec.schemas[key]
        name = self._names.allocate(f"Any{self.component_names[key]}")
        self._polymorphic_names[(key, direction)] = name
        self._all_names.add(name)
        discriminator = base["discriminator"]
        mapped = {
            self._spec.component_name(
                self._spec.ref_pointer(ref, at="") if ref.startswith("#") else _join_schema(ref)
            )
            for ref in (discriminator.get("mapping") or {}).values()
        }
        # The base itself is a member unless an explicit mapping leaves it out (its implicit tag
        # is its own name, like any schema's).
        with_base = not discriminator.get("mapping") or key in mapped
        members = [k for k in [key, *self._polymorphic[key]] if k != key or with_base]
        resolved = [(self._spec.schemas[k], _join_schema(k)) for k in members]
        parts = [
            self._name_for(schema, at, k, direction)
            for k, (schema, at) in zip(members, resolved, strict=True)
        ]
        tag_of = self._explicit_tags(discriminator, resolved, parts) if len(parts) > 1 else None
        if tag_of is None:
            expression = " | ".join(parts)
        else:
            expression = _tagged_union(discriminator["propertyName"], parts, tag_of)
        self._defs[name] = _AliasDef(
            name=name,
            expression=expression,
            doc=f"Any schema that extends {self.component_names[key]}.",
            pointer=_join_schema(key),
        )
        return name

    def _component_type(self, key: str, direction: Direction) -> tuple[str, bool]:
        schema = self._spec.schemas[key]
        if key in self._polymorphic:
            return self._polymorphic_type(key, direction), False
        pointer = _join_schema(key)
        name = self._name_for(schema, pointer, key, direction)
        # An alias carries its own ``| None``; a class cannot, so a nullable one needs it here.
        nullable = isinstance(schema, Mapping) and self._is_model(schema) and self._nullable(schema)
        unknown = self._unknown_in(schema, direction)
        return (f"{name} | {unknown}" if unknown else name), nullable

    def _nullable(self, schema: Mapping[str, Any]) -> bool:
        if schema.get("nullable") is True:
            return True
        kind = schema.get("type")
        if kind == "null" or (isinstance(kind, list) and "null" in kind):
            return True
        enum = schema.get("enum")
        if isinstance(enum, list) and None in enum:
            return True
        return "const" in schema and schema["const"] is None

    def _is_model(self, schema: Mapping[str, Any]) -> bool:
        """Whether ``schema`` becomes a class (an object with properties, or an allOf)."""
        if "enum" in schema or "const" in schema:
            return False
        kind = schema.get("type")
        kinds = [k for k in kind if k != "null"] if isinstance(kind, list) else [kind]
        if kinds not in (["object"], [None]):
            return False
        members = schema.get("allOf")
        if isinstance(members, list) and members:
            if schema.get("properties"):
                return True
            return len(members) > 1 and any(self._objectish(member) for member in members)
        options = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(options, list) and any(
            isinstance(o, Mapping) and "$ref" in o for o in options
        ):
            # Properties beside a union of schemas (a discriminator restated): the union rules.
            return False
        return bool(schema.get("properties"))

    def _objectish(self, schema: Any) -> bool:
        """Whether an ``allOf`` member contributes properties (so the whole is a class)."""
        target, _ = self._spec.resolve(schema)
        if not isinstance(target, Mapping) or id(target) in self._objectish_active:
            return False  # (an allOf that loops back adds nothing new)
        kind = target.get("type")
        if kind == "object" or (isinstance(kind, list) and "object" in kind):
            return True
        self._objectish_active.add(id(target))
        try:
            return bool(target.get("properties")) or (
                isinstance(target.get("allOf"), list) and self._is_model(target)
            )
        finally:
            self._objectish_active.discard(id(target))

    def _structural(
        self,
        schema: Mapping[str, Any],
        *,
        hint: str,
        direction: Direction,
        at: str,
        nullable: bool,
        top: bool = False,
    ) -> tuple[str, bool]:
        """The type of a schema that is not a class: by its keywords, then by its ``type``."""
        members = schema.get("allOf")
        if isinstance(members, list) and members:
            # Not a class (see _is_model): the member that says what type it is decides; the
            # others only constrain or annotate it.
            index = next(
                (i for i, m in enumerate(members) if isinstance(m, Mapping) and _typing(m)), 0
            )
            expression, inner = self._typed(
                members[index], hint=hint, direction=direction, at=f"{at}/allOf/{index}"
            )
            return expression, nullable or inner
        literal = self._literal(schema) if "enum" in schema or "const" in schema else None
        if literal is not None:
            # A named enum is defined strict; where a response reads it, its use admits more.
            unknown = None if top else self._unknown_in(schema, direction)
            return (f"{literal} | {unknown}" if unknown else literal), nullable
        for keyword in ("oneOf", "anyOf"):
            options = schema.get(keyword)
            if isinstance(options, list) and options:
                return self._union(
                    schema,
                    options,
                    keyword=keyword,
                    hint=hint,
                    direction=direction,
                    at=at,
                    nullable=nullable,
                    top=top,
                )
        kind = schema.get("type")
        kinds = [k for k in kind if k != "null"] if isinstance(kind, list) else [kind]
        parts: list[str] = []
        for one in kinds:
            expression = self._of_kind(one, schema, hint=hint, direction=direction, at=at)
            if expression not in parts:
                parts.append(expression)
        if "Any" in parts:
            return "Any", False
        if parts in ([], ["None"]):
            return "None", False
        return " | ".join(parts), nullable

    def _of_kind(
        self, kind: Any, schema: Mapping[str, Any], *, hint: str, direction: Direction, at: str
    ) -> str:
        if kind is None:
            if "items" in schema:
                kind = "array"
            elif "properties" in schema or "additionalProperties" in schema:
                kind = "object"
            else:
                return "Any"
        if kind == "array":
            items = schema.get("items")
            item_type = self.type_for(
                items, name_hint=f"{hint}Item", direction=direction, pointer=f"{at}/items"
            )
            return f"list[{item_type}]"
        if kind == "object":
            extra = schema.get("additionalProperties", True)
            if isinstance(extra, bool) or extra is None or extra == {}:
                return "dict[str, Any]"
            value_type = self.type_for(
                extra,
                name_hint=f"{hint}Value",
                direction=direction,
                pointer=f"{at}/additionalProperties",
            )
            return f"dict[str, {value_type}]"
        if kind in _PRIMITIVES or kind == "null":
            return self._primitive(kind, schema)
        raise self._spec.error(f"unknown schema type {kind!r}", f"{at}/type")

    def _primitive(self, kind: str, schema: Mapping[str, Any]) -> str:
        fmt = schema.get("format")
        if kind == "string" and isinstance(fmt, str) and fmt in _STRING_FORMATS:
            return _STRING_FORMATS[fmt]
        if kind == "string" and "contentMediaType" in schema and "contentEncoding" not in schema:
            return "bytes"  # 3.1 spelling of binary content
        if kind == "number" and fmt == "decimal":
            return "_decimal.Decimal"
        return _PRIMITIVES.get(kind, "None")

    def _literal(self, schema: Mapping[str, Any]) -> str | None:
        kept = _literal_values(schema["enum"] if "enum" in schema else [schema["const"]])
        if kept is None:
            return None  # floats, objects: Literal cannot hold them; the base type is used
        if not kept:
            return "None"
        return f"Literal[{', '.join(_literal_source(value) for value in kept)}]"

    def _unknown_in(self, schema: Any, direction: Direction) -> str | None:
        """What an enum ``schema`` read in ``direction`` admits beside its values, if anything."""
        if direction != "response" or not isinstance(schema, Mapping):
            return None
        kept = _literal_values(schema.get("enum"))
        return None if kept is None else _unknown_member(kept)

    def _union(
        self,
        schema: Mapping[str, Any],
        options: list[Any],
        *,
        keyword: str,
        hint: str,
        direction: Direction,
        at: str,
        nullable: bool,
        top: bool,
    ) -> tuple[str, bool]:
        parts: list[str] = []
        for index, option in enumerate(options):
            if isinstance(option, Mapping) and (
                option.get("type") == "null" or option.get("enum") == [None]
            ):
                nullable = True
                continue
            option_hint = f"{hint}{self._option_suffix(option, index)}"
            expression, option_nullable = self._typed(
                option, hint=option_hint, direction=direction, at=f"{at}/{keyword}/{index}"
            )
            nullable = nullable or option_nullable
            if expression not in parts:
                parts.append(expression)
        if "Any" in parts:
            return "Any", False
        if not parts:
            return "None", False
        tagged = self._discriminated(schema, options, parts, direction)
        if tagged is None:
            return " | ".join(parts), nullable
        if top:  # defining the named schema this union is
            return tagged, nullable
        # A tagged union is long and needs a helper: it always gets a name in the models module.
        variant = self._variant(schema, direction)
        name = self._names_of.get((id(schema), variant))
        if name is None:
            name = self._names.allocate(hint)
            self._names_of[(id(schema), variant)] = name
            self._all_names.add(name)
            self._defs[name] = _AliasDef(
                name=name, expression=tagged, doc=_describe(schema), pointer=at
            )
        return name, nullable

    def _option_suffix(self, option: Any, index: int) -> str:
        if isinstance(option, Mapping) and isinstance(option.get("title"), str):
            titled = pascal_case(option["title"])
            if titled:
                return titled
        return f"Option{index + 1}"

    def _discriminated(
        self, schema: Mapping[str, Any], options: list[Any], parts: list[str], direction: Direction
    ) -> str | None:
        """A tagged union of ``parts`` when the members can be told apart by a property."""
        resolved = []
        for option in options:
            target, pointer = self._spec.resolve(option)
            if not isinstance(target, Mapping) or not self._is_model(target):
                return None
            resolved.append((target, pointer))
        if len(resolved) != len(parts) or len(parts) < 2:
            return None
        discriminator = schema.get("discriminator")
        if isinstance(discriminator, Mapping) and isinstance(
            discriminator.get("propertyName"), str
        ):
            prop = discriminator["propertyName"]
            tag_of = self._explicit_tags(discriminator, resolved, parts)
        else:
            implied = self._implied_discriminator([target for target, _ in resolved])
            if implied is None:
                return None
            prop, values = implied
            tag_of = dict(zip(values, parts, strict=True))
        if tag_of is None:
            return None
        return _tagged_union(prop, parts, tag_of)

    def _explicit_tags(
        self,
        discriminator: Mapping[str, Any],
        resolved: Sequence[tuple[Mapping[str, Any], str | None]],
        parts: list[str],
    ) -> dict[str, str] | None:
        """Tag value -> member, from the spec's ``discriminator`` (mapping, else schema names)."""
        prop = discriminator["propertyName"]
        if any(prop not in self._collect(target, at="").required for target, _ in resolved):
            # A member may arrive without the tag (GitHub's ``user_view_type``): a tagged union
            # would reject it, a plain one picks the member that fits best.
            return None
        by_pointer = {pointer: part for (_, pointer), part in zip(resolved, parts, strict=True)}
        tag_of: dict[str, str] = {}
        for value, ref in (discriminator.get("mapping") or {}).items():
            target = (
                self._spec.ref_pointer(ref, at="") if ref.startswith("#") else _join_schema(ref)
            )
            if target in by_pointer:
                tag_of[str(value)] = by_pointer[target]
        mapped = set(tag_of.values())
        for (_, member), part in zip(resolved, parts, strict=True):
            component = self._spec.component_name(member)
            if part not in mapped and component is not None:
                tag_of[component] = part
        return tag_of if set(tag_of.values()) == set(parts) else None

    def _implied_discriminator(
        self, targets: list[Mapping[str, Any]]
    ) -> tuple[str, list[str]] | None:
        candidates: dict[str, list[str]] | None = None
        for target in targets:
            collected = self._collect(target, at="")
            constants: dict[str, str] = {}
            for name, (prop, _) in collected.properties.items():
                resolved, _ = self._spec.resolve(prop)
                if not isinstance(resolved, Mapping) or name not in collected.required:
                    continue
                if "const" in resolved and isinstance(resolved["const"], str):
                    constants[name] = resolved["const"]
                elif (
                    isinstance(resolved.get("enum"), list)
                    and len(resolved["enum"]) == 1
                    and isinstance(resolved["enum"][0], str)
                ):
                    constants[name] = resolved["enum"][0]
            if candidates is None:
                candidates = {name: [value] for name, value in constants.items()}
            else:
                candidates = {
                    name: [*values, constants[name]]
                    for name, values in candidates.items()
                    if name in constants
                }
        for name in sorted(candidates or {}):
            values = (candidates or {})[name]
            if len(set(values)) == len(values) == len(targets):
                return name, values
        return None

    # -- definitions -----------------------------------------------------------------------------

    def _define(
        self, name: str, schema: Any, pointer: str, variant: _Variant
    ) -> _ClassDef | _AliasDef:
        direction: Direction = "request" if variant == "request" else "response"
        if variant == "shared" and self._only_requests(name, schema):
            direction = "request"
        if isinstance(schema, Mapping) and self._is_model(schema):
            return self._define_class(name, schema, pointer, variant, direction)
        expression, nullable = self._typed(
            schema, hint=name, direction=direction, at=pointer, top=True
        )
        if nullable and expression not in ("Any", "None"):
            expression = f"{expression} | None"
        doc = None
        if isinstance(schema, Mapping):
            doc = _describe(schema)
        return _AliasDef(name=name, expression=expression, doc=doc, pointer=pointer)

    def _collect(
        self, schema: Mapping[str, Any], *, at: str, seen: frozenset[int] = frozenset()
    ) -> _Collected:
        collected = _Collected()
        if id(schema) in seen:
            return collected
        seen = seen | {id(schema)}
        for index, member in enumerate(schema.get("allOf") or []):
            target, pointer = self._spec.resolve(member, at=f"{at}/allOf/{index}")
            if not isinstance(target, Mapping):
                continue
            inner = self._collect(target, at=pointer or f"{at}/allOf/{index}", seen=seen)
            collected.properties.update(inner.properties)
            collected.required |= inner.required
            if inner.extra is not None:
                collected.extra = inner.extra
        for prop, value in (schema.get("properties") or {}).items():
            collected.properties[prop] = (value, f"{at}/properties/{escape_pointer(prop)}")
        collected.required |= set(schema.get("required") or ())
        extra = schema.get("additionalProperties")
        if extra is not None and extra is not False:
            collected.extra = extra
        return collected

    def _define_class(
        self,
        name: str,
        schema: Mapping[str, Any],
        pointer: str,
        variant: _Variant,
        direction: Direction,
    ) -> _ClassDef:
        collected = self._collect(schema, at=pointer)
        fields = NameAllocator(style="snake")
        # Properties already named like an identifier keep their name even when listed late.
        for prop in collected.properties:
            if fields.make(prop) == prop:
                fields.reserve(prop)
        skipped = {"request": "readOnly", "response": "writeOnly"}.get(variant)
        result = [
            self._field(
                prop,
                value,
                at=at,
                attribute=prop if fields.make(prop) == prop else fields.allocate(prop),
                hint=f"{name}{pascal_case(prop)}",
                required=prop in collected.required,
                direction=direction,
            )
            for prop, (value, at) in collected.properties.items()
            if skipped is None or not self._flag(value, skipped)
        ]
        extra = None
        if collected.extra is not None:
            extra = self.type_for(
                collected.extra if isinstance(collected.extra, Mapping) else None,
                name_hint=f"{name}Value",
                direction=direction,
                pointer=f"{pointer}/additionalProperties",
            )
        doc_parts = []
        description = _describe(schema)
        if description:
            doc_parts.append(description)
        properties = collected.properties.values()
        if variant == "request" and any(self._flag(v, "readOnly") for v in properties):
            doc_parts.append("The request form: read-only properties left out.")
        if variant == "response" and any(self._flag(v, "writeOnly") for v in properties):
            doc_parts.append("The response form: write-only properties left out.")
        if _deprecated(schema):
            doc_parts.append("Deprecated.")
        return _ClassDef(
            name=name,
            fields=result,
            doc="\n\n".join(doc_parts) or None,
            extra=extra,
            pointer=pointer,
        )

    def _field(
        self,
        prop: str,
        value: Any,
        *,
        at: str,
        attribute: str,
        hint: str,
        required: bool,
        direction: Direction,
    ) -> _Field:
        expression, nullable = self._typed(value, hint=hint, direction=direction, at=at)
        resolved, target = self._spec.resolve(value, at=at)
        default = None if required else self._default(resolved, expression, at=target or at)
        annotation = expression
        if expression not in ("Any", "None") and (nullable or (not required and default is None)):
            annotation = f"{expression} | None"
        if not required and default is None:
            default = "None"
        # A named schema documents itself where it is defined; only an unnamed target's text is
        # brought to the field.
        borrowed = resolved is not value and self._spec.component_name(target) is None
        description = _describe(value) or (_describe(resolved) if borrowed else None)
        return _Field(
            name=attribute,
            wire=prop,
            annotation=annotation,
            default=default,
            deprecated=_deprecated(value) or _deprecated(resolved),
            description=description,
        )

    def _default(self, schema: Any, expression: str, *, at: str) -> str | None:
        """Python source of the schema's default when it is valid for ``expression``.

        A number default that is no finite float (``1e400``, ``NaN``) is left out, with a warning:
        ``inf`` is not Python source, and no JSON value is infinite.
        """
        if not isinstance(schema, Mapping) or "default" not in schema:
            return None
        value = schema["default"]
        enum = schema.get("enum")
        # Judged on the schema (the expression may be an alias name): plain JSON types only; a
        # default of a converted type (date-time, uuid...) stays the server's business.
        kind = schema.get("type")
        fits = {
            "string": isinstance(value, str) and schema.get("format") not in _STRING_FORMATS,
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
        }
        source = None
        if isinstance(enum, list):
            if isinstance(value, str | int) and value in enum:
                source = _literal_source(value)
        elif isinstance(kind, str) and fits.get(kind) and schema.get("format") != "decimal":
            source = _number_source(value) if kind == "number" else _literal_source(value)
            if source is None:
                self._spec.warn(
                    "default is not a finite number: left out (the field defaults to None)",
                    f"{at}/default",
                )
        elif value == [] and expression.startswith("list["):
            source = "Field(default_factory=list)"
        elif value == {} and expression.startswith("dict["):
            source = "Field(default_factory=dict)"
        return source

    # -- rendering -------------------------------------------------------------------------------

    def _render_definitions(self) -> str:
        classes = [d for d in self._defs.values() if isinstance(d, _ClassDef)]
        aliases = {d.name: d for d in self._defs.values() if isinstance(d, _AliasDef)}
        class_names = {d.name for d in classes}
        references = {
            alias.name: {
                name
                for name in _IDENTIFIER.findall(_STRING_LITERAL.sub("", alias.expression))
                if name in self._defs
            }
            for alias in aliases.values()
        }
        # An alias that reaches itself through aliases alone cannot be evaluated at import: it
        # becomes a ``TypeAliasType`` with its value as a string, evaluated lazily.
        recursive = _cyclic({name: refs & set(aliases) for name, refs in references.items()})
        for name in sorted(recursive):
            if aliases[name].expression in recursive:  # A = B, B = A: no type at all
                raise self._spec.error(
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
        chunks += [self._render_alias(aliases[name]) for name in early]
        chunks += [self._render_class(d) for d in classes]
        chunks += [self._render_alias(aliases[name]) for name in late]
        return "\n\n".join(chunks)

    def _render_alias(self, alias: _AliasDef) -> str:
        if alias.recursive:
            value = _literal_source(alias.expression)
            text = f"{alias.name} = TypeAliasType({alias.name!r}, {value})\n"
        else:
            text = f"{alias.name}: TypeAlias = {alias.expression}\n"
        if alias.doc:
            text += _docstring(alias.doc, "")
        return text

    def _render_class(self, model: _ClassDef) -> str:
        lines = [f"class {model.name}(GeneratedModel):\n"]
        if model.doc:
            lines.append(_docstring(model.doc, "    "))
        if model.extra is not None:
            lines.append('    model_config = ConfigDict(extra="allow")\n')
        lines += [self._render_field(item) for item in model.fields]
        if model.extra is not None:
            lines.append(f"    __pydantic_extra__: dict[str, {model.extra}] = Field(init=False)\n")
        if len(lines) == 1:
            lines.append("    pass\n")
        return "".join(lines)

    def _render_field(self, item: _Field) -> str:
        arguments = []
        if item.default is not None:
            if item.default.startswith("Field("):
                arguments.append(item.default[len("Field(") : -1])
            else:
                arguments.append(f"default={item.default}")
        if item.name != item.wire:
            arguments.append(f"validation_alias={_literal_source(item.wire)}")
            arguments.append(f"serialization_alias={_literal_source(item.wire)}")
        if item.deprecated:
            arguments.append("deprecated=True")
        if not arguments:
            line = f"    {item.name}: {item.annotation}\n"
        elif len(arguments) == 1 and arguments[0].startswith("default="):
            line = f"    {item.name}: {item.annotation} = {item.default}\n"
        else:
            line = f"    {item.name}: {item.annotation} = Field({', '.join(arguments)})\n"
        if item.description:
            line += _docstring(item.description, "    ")
        return line


def _number_source(value: float) -> str | None:
    """``repr`` of ``value`` as a float, or ``None`` when it is infinite, NaN or too large."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return repr(number) if math.isfinite(number) else None


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


def _member_group(name: str) -> int:
    """RUF022's groups: SCREAMING_CASE, then CamelCase, then everything else."""
    if len(name) > 1 and name.upper() == name and name.lower() != name:
        return 0
    return 1 if name[:1].isupper() else 2


def _isort_order(names: Iterable[str]) -> list[str]:
    """``names`` in the order ruff's RUF022 wants for ``__all__``."""
    return sorted(names, key=functools.cmp_to_key(_member_compare))


def _member_compare(a: str, b: str) -> int:
    return (_member_group(a) - _member_group(b)) or _natural_compare(a, b)


def _tagged_union(prop: str, parts: list[str], tag_of: dict[str, str]) -> str:
    """``Annotated[A | B, Discriminator(...)]``: members picked by the value of ``prop``."""
    members = " | ".join(f"Annotated[{part}, Tag({part!r})]" for part in parts)
    chooser = f"discriminate({_literal_source(prop)}, {_literal_source(tag_of)})"
    return f"Annotated[{members}, Discriminator({chooser})]"


def _typing(schema: Mapping[str, Any]) -> bool:
    """Whether a schema says what type its values are (rather than only constraining them)."""
    return any(
        keyword in schema
        for keyword in ("$ref", "type", "enum", "const", "oneOf", "anyOf", "allOf", "properties")
    )


def _join_schema(key: str) -> str:
    return f"/components/schemas/{escape_pointer(key)}"


def _describe(schema: Any) -> str | None:
    if not isinstance(schema, Mapping):
        return None
    description = schema.get("description")
    if isinstance(description, str) and description.strip():
        return description
    title = schema.get("title")
    if isinstance(title, str) and title.strip():
        return title
    return None


def _deprecated(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("deprecated") is True
