"""Schema analysis: what the generator needs to know about a document's schemas before typing them.

:class:`SchemaAnalysis` answers questions about schemas, never about Python: which components must
be split into a response and a request form (``readOnly``/``writeOnly`` properties, directly or
through what they reference), which are only ever sent (typed strictly), which are polymorphic
bases (OpenAPI 2-style ``discriminator`` extended through ``allOf``), whether a schema is an object
with properties (a class) or ``null``-able, the properties of an ``allOf`` flattened, and the
property an untagged union's members can be told apart by. The type mapping (``_types``) asks;
rendering (``_render``) never does.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from common_clients.codegen._spec import Spec, escape_pointer

__all__ = [
    "Collected",
    "SchemaAnalysis",
    "deprecated",
    "describe",
    "enum_rejects_unknown",
    "join_schema",
    "literal_values",
    "says_type",
    "unknown_member",
]


@dataclass
class Collected:
    """An object schema with its ``allOf`` flattened."""

    properties: dict[str, tuple[Any, str]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    extra: Any = None  # additionalProperties schema (True for "anything")


class SchemaAnalysis:
    """Facts about the schemas of one :class:`Spec`, computed once and memoised.

    ``component_ids`` maps ``id()`` of each ``components.schemas`` entry to its name;
    ``split_components`` names those with a request and a response form; ``polymorphic`` maps each
    polymorphic base to its extensions, in document order.
    """

    def __init__(self, spec: Spec) -> None:
        self._spec = spec
        self._scan_memo: dict[int, tuple[bool, frozenset[str]]] = {}
        self._split_memo: dict[int, bool] = {}
        self._objectish_active: set[int] = set()
        self.component_ids: dict[int, str] = {
            id(schema): key for key, schema in spec.schemas.items()
        }
        self.split_components = self._compute_split_components()
        self.polymorphic = self._find_polymorphic_bases()

    def flag(self, schema: Any, flag: str) -> bool:
        """Whether ``schema`` (or what it references, or its one ``allOf`` member) sets ``flag``."""
        if not isinstance(schema, Mapping):
            return False
        if schema.get(flag) is True:
            return True
        if "$ref" in schema:
            target, _ = self._spec.resolve(schema)
            return isinstance(target, Mapping) and target.get(flag) is True
        members = schema.get("allOf")
        return isinstance(members, list) and len(members) == 1 and self.flag(members[0], flag)

    def scan(self, schema: Any) -> tuple[bool, frozenset[str]]:
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
                    if self.flag(value, "readOnly") or self.flag(value, "writeOnly"):
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
            direct, refs = self.scan(schema)
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

    def needs_split(self, schema: Any) -> bool:
        """Whether ``schema`` has a request and a response form (read/write-only properties)."""
        if not isinstance(schema, Mapping):
            return False
        key = id(schema)
        if key not in self._split_memo:
            component = self.component_ids.get(key)
            if component is not None:
                self._split_memo[key] = component in self.split_components
            else:
                direct, refs = self.scan(schema)
                self._split_memo[key] = direct or bool(refs & self.split_components)
        return self._split_memo[key]

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

    @functools.cached_property
    def request_only_components(self) -> frozenset[str]:
        """Components that parameters and request bodies reach and no response does."""
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
        frontier = [key for root in roots for key in self.scan(root)[1]]
        reached: set[str] = set()
        while frontier:
            key = frontier.pop()
            if key in reached or key not in self._spec.schemas:
                continue
            reached.add(key)
            frontier += self.scan(self._spec.schemas[key])[1]
            # A polymorphic base read from a response is read as one of its extensions.
            frontier += self.polymorphic.get(key, [])
        return reached

    def nullable(self, schema: Mapping[str, Any]) -> bool:
        """Whether ``schema`` admits ``null`` (3.0 ``nullable``, 3.1 types, enum or const)."""
        if schema.get("nullable") is True:
            return True
        kind = schema.get("type")
        if kind == "null" or (isinstance(kind, list) and "null" in kind):
            return True
        enum = schema.get("enum")
        if isinstance(enum, list) and None in enum:
            return True
        return "const" in schema and schema["const"] is None

    def is_model(self, schema: Mapping[str, Any]) -> bool:
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
            return len(members) > 1 and any(self.objectish(member) for member in members)
        options = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(options, list) and any(
            isinstance(o, Mapping) and "$ref" in o for o in options
        ):
            # Properties beside a union of schemas (a discriminator restated): the union rules.
            return False
        return bool(schema.get("properties"))

    def objectish(self, schema: Any) -> bool:
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
                isinstance(target.get("allOf"), list) and self.is_model(target)
            )
        finally:
            self._objectish_active.discard(id(target))

    def collect(
        self, schema: Mapping[str, Any], *, at: str, seen: frozenset[int] = frozenset()
    ) -> Collected:
        """The properties, required names and extra of ``schema``, its ``allOf`` flattened."""
        collected = Collected()
        if id(schema) in seen:
            return collected
        seen = seen | {id(schema)}
        for index, member in enumerate(schema.get("allOf") or []):
            target, pointer = self._spec.resolve(member, at=f"{at}/allOf/{index}")
            if not isinstance(target, Mapping):
                continue
            inner = self.collect(target, at=pointer or f"{at}/allOf/{index}", seen=seen)
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

    def implied_discriminator(
        self, targets: list[Mapping[str, Any]]
    ) -> tuple[str, list[str]] | None:
        """The property every member of a union holds one distinct constant in, and those."""
        candidates: dict[str, list[str]] | None = None
        for target in targets:
            collected = self.collect(target, at="")
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


def literal_values(values: object) -> list[Any] | None:
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


def unknown_member(values: list[Any]) -> str | None:
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
    kept = literal_values(values)
    return kept is not None and unknown_member(kept) is None


def says_type(schema: Mapping[str, Any]) -> bool:
    """Whether a schema says what type its values are (rather than only constraining them)."""
    return any(
        keyword in schema
        for keyword in ("$ref", "type", "enum", "const", "oneOf", "anyOf", "allOf", "properties")
    )


def join_schema(key: str) -> str:
    return f"/components/schemas/{escape_pointer(key)}"


def describe(schema: Any) -> str | None:
    if not isinstance(schema, Mapping):
        return None
    description = schema.get("description")
    if isinstance(description, str) and description.strip():
        return description
    title = schema.get("title")
    if isinstance(title, str) and title.strip():
        return title
    return None


def deprecated(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("deprecated") is True
