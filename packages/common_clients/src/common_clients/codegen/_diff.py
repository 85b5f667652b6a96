"""The API changes between two versions of an OpenAPI document, each classed breaking or not.

"Breaking" is judged from a generated client's side: a change is breaking when code written against
the old client, or an old client talking to the new service, can fail. Values flow two ways, so
the same schema change reads differently by direction:

- a request value (parameter, body) may not *narrow*: a new required input, a type or enum that
  accepts less (a removed enum value), a field or parameter removed (the keyword argument
  disappears);
- a response value may not *widen*: a field that can now be missing or null, a union member the
  old client cannot parse, a removed field (code reading it breaks). A new enum value is not
  breaking there when the old client's type admits unknown values (enums of two or more strings
  or integers: ``UnknownStr``/``UnknownInt``); it is for a one-value enum, which stays strict;
- removed or renamed operations and schemas, removed media types and changed status codes break
  either way;
- bounds and patterns (``maxLength``, ``minimum``, ``pattern``...) are not enforced by generated
  models, so only a tighter one on a request value breaks.

:func:`diff_specs` walks every operation (matched by method and path, path parameter names
ignored) and every schema reached from it, and returns :class:`ApiChange` records in document
order, each once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from common_clients.codegen._schema import enum_rejects_unknown
from common_clients.codegen._spec import Operation, Spec, escape_pointer

__all__ = ["ApiChange", "ChangeKind", "diff_specs"]

_Direction = Literal["request", "response"]
_TEMPLATE = re.compile(r"\{[^{}]*\}")
# Formats that change the Python type a value gets in generated code.
_TYPED_FORMATS = frozenset({"date-time", "date", "time", "duration", "uuid", "decimal", "binary"})


class ChangeKind(StrEnum):
    """What changed."""

    OPERATION_ADDED = "operation-added"
    OPERATION_REMOVED = "operation-removed"
    OPERATION_RENAMED = "operation-renamed"
    PARAMETER_ADDED = "parameter-added"
    PARAMETER_REMOVED = "parameter-removed"
    PARAMETER_NOW_REQUIRED = "parameter-now-required"
    PARAMETER_NOW_OPTIONAL = "parameter-now-optional"
    REQUEST_BODY_ADDED = "request-body-added"
    REQUEST_BODY_REMOVED = "request-body-removed"
    REQUEST_BODY_NOW_REQUIRED = "request-body-now-required"
    MEDIA_TYPE_ADDED = "media-type-added"
    MEDIA_TYPE_REMOVED = "media-type-removed"
    STATUS_ADDED = "status-added"
    STATUS_REMOVED = "status-removed"
    SCHEMA_ADDED = "schema-added"
    SCHEMA_REMOVED = "schema-removed"
    FIELD_ADDED = "field-added"
    FIELD_REMOVED = "field-removed"
    FIELD_NOW_REQUIRED = "field-now-required"
    FIELD_NOW_OPTIONAL = "field-now-optional"
    ENUM_VALUE_ADDED = "enum-value-added"
    ENUM_VALUE_REMOVED = "enum-value-removed"
    TYPE_NARROWED = "type-narrowed"
    TYPE_WIDENED = "type-widened"
    TYPE_CHANGED = "type-changed"
    CONSTRAINT_TIGHTENED = "constraint-tightened"
    CONSTRAINT_LOOSENED = "constraint-loosened"


@dataclass(frozen=True)
class ApiChange:
    """One change: its kind, whether it breaks clients, where, and a sentence saying what."""

    kind: ChangeKind
    breaking: bool
    pointer: str
    """JSON pointer of the changed node, in the new document (in the old one for removals)."""
    message: str
    operation: str | None = None
    """``operationId`` (or ``METHOD /path``) of the operation the change was found through."""

    def __str__(self) -> str:
        label = "BREAKING" if self.breaking else "compatible"
        where = f" [{self.operation}]" if self.operation else ""
        return f"{label}: {self.message}{where} (#{self.pointer})"


def _join(pointer: str, *segments: object) -> str:
    return pointer + "".join("/" + escape_pointer(segment) for segment in segments)


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    """The JSON types a schema admits (``None``: anything)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = set(kind)
    elif isinstance(kind, str):
        kinds = {kind}
    elif "properties" in schema or "additionalProperties" in schema or "allOf" in schema:
        kinds = {"object"}
    elif "items" in schema:
        kinds = {"array"}
    elif isinstance(schema.get("enum"), list):
        kinds = {_json_type(value) for value in schema["enum"]}
    elif "const" in schema:
        kinds = {_json_type(schema["const"])}
    else:
        return None
    if schema.get("nullable") is True:
        kinds.add("null")
    if "integer" in kinds:
        kinds.add("number-integer")
        kinds.discard("integer")
    if "number" in kinds:
        kinds.add("number-integer")
    return kinds


# Bound keywords and the way each moves when it tightens ("lower": a smaller value accepts less).
_BOUNDS = {
    "maxLength": "lower",
    "maximum": "lower",
    "exclusiveMaximum": "lower",
    "maxItems": "lower",
    "maxProperties": "lower",
    "minLength": "higher",
    "minimum": "higher",
    "exclusiveMinimum": "higher",
    "minItems": "higher",
    "minProperties": "higher",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _enum(schema: Mapping[str, Any]) -> list[Any] | None:
    if isinstance(schema.get("enum"), list):
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


@dataclass(frozen=True)
class _Site:
    """Two versions of one schema being compared, and how they travel."""

    old: Mapping[str, Any]
    new: Mapping[str, Any]
    direction: _Direction
    pointer: str
    what: str

    def directional(self, differ: _Differ, *, narrowed: bool, message: str) -> None:
        differ.directional(self.direction, narrowed=narrowed, pointer=self.pointer, message=message)


class _Differ:
    def __init__(self, old: Spec, new: Spec) -> None:
        self.old = old
        self.new = new
        self.changes: list[ApiChange] = []
        self._seen_changes: dict[tuple[ChangeKind, str, str], int] = {}
        self._compared: set[tuple[int, int, _Direction]] = set()
        self._operation: str | None = None

    def add(self, kind: ChangeKind, breaking: bool, pointer: str, message: str) -> None:
        key = (kind, pointer, message)
        index = self._seen_changes.get(key)
        if index is None:
            self._seen_changes[key] = len(self.changes)
            self.changes.append(ApiChange(kind, breaking, pointer, message, self._operation))
        elif breaking and not self.changes[index].breaking:
            # Reached again by a route where it breaks (a schema used in requests and responses).
            self.changes[index] = ApiChange(kind, True, pointer, message, self._operation)

    def directional(
        self, direction: _Direction, *, narrowed: bool, pointer: str, message: str
    ) -> None:
        """A narrowing breaks requests, a widening breaks responses."""
        if narrowed:
            self.add(ChangeKind.TYPE_NARROWED, direction == "request", pointer, message)
        else:
            self.add(ChangeKind.TYPE_WIDENED, direction == "response", pointer, message)

    # -- operations ------------------------------------------------------------------------------

    def run(self) -> list[ApiChange]:
        old_ops = {_operation_key(op): op for op in self.old.operations()}
        new_ops = {_operation_key(op): op for op in self.new.operations()}
        for key, op in old_ops.items():
            if key not in new_ops:
                self._operation = _label(op)
                self.add(
                    ChangeKind.OPERATION_REMOVED,
                    True,
                    op.pointer,
                    f"operation {_label(op)} removed",
                )
        for key, op in new_ops.items():
            self._operation = _label(op)
            if key not in old_ops:
                self.add(
                    ChangeKind.OPERATION_ADDED, False, op.pointer, f"operation {_label(op)} added"
                )
            else:
                self.operation(old_ops[key], op)
        self._operation = None
        self.schemas()
        return self.changes

    def operation(self, old: Operation, new: Operation) -> None:
        if old.operation_id != new.operation_id:
            self.add(
                ChangeKind.OPERATION_RENAMED,
                True,
                _join(new.pointer, "operationId"),
                f"operationId {old.operation_id!r} became {new.operation_id!r}",
            )
        self.parameters(old, new)
        self.request_body(old, new)
        self.responses(old, new)

    def parameters(self, old: Operation, new: Operation) -> None:
        old_params = {(p.location, p.name): p for p in old.parameters}
        new_params = {(p.location, p.name): p for p in new.parameters}
        for key, param in old_params.items():
            if key not in new_params:
                self.add(
                    ChangeKind.PARAMETER_REMOVED,
                    True,
                    param.pointer,
                    f"{param.location} parameter {param.name!r} removed",
                )
        for key, param in new_params.items():
            before = old_params.get(key)
            what = f"{param.location} parameter {param.name!r}"
            if before is None:
                self.add(
                    ChangeKind.PARAMETER_ADDED,
                    param.required,
                    param.pointer,
                    f"{'required' if param.required else 'optional'} {what} added",
                )
                continue
            if param.required and not before.required:
                self.add(
                    ChangeKind.PARAMETER_NOW_REQUIRED, True, param.pointer, f"{what} now required"
                )
            elif before.required and not param.required:
                self.add(
                    ChangeKind.PARAMETER_NOW_OPTIONAL, False, param.pointer, f"{what} now optional"
                )
            self.schema(
                before.schema, param.schema, "request", _join(param.pointer, "schema"), what
            )

    def request_body(self, old: Operation, new: Operation) -> None:
        before, after = old.request_body, new.request_body
        if before is None and after is None:
            return
        if after is None:
            assert before is not None
            self.add(ChangeKind.REQUEST_BODY_REMOVED, True, before.pointer, "request body removed")
            return
        if before is None:
            self.add(
                ChangeKind.REQUEST_BODY_ADDED,
                after.required,
                after.pointer,
                f"{'required' if after.required else 'optional'} request body added",
            )
            return
        if after.required and not before.required:
            self.add(
                ChangeKind.REQUEST_BODY_NOW_REQUIRED,
                True,
                after.pointer,
                "request body now required",
            )
        self.content(
            {m.media_type: m for m in before.content},
            {m.media_type: m for m in after.content},
            "request",
            "request body",
        )

    def responses(self, old: Operation, new: Operation) -> None:
        before = {r.status: r for r in old.responses}
        after = {r.status: r for r in new.responses}
        for status, response in before.items():
            if status not in after:
                self.add(
                    ChangeKind.STATUS_REMOVED, True, response.pointer, f"response {status} removed"
                )
        for status, response in after.items():
            if status not in before:
                # A new success status changes what the call returns; a new error is one more
                # status the error hierarchy already covers.
                success = status.startswith("2")
                self.add(
                    ChangeKind.STATUS_ADDED, success, response.pointer, f"response {status} added"
                )
                continue
            self.content(
                {m.media_type: m for m in before[status].content},
                {m.media_type: m for m in response.content},
                "response",
                f"response {status}",
            )

    def content(
        self, before: Mapping[str, Any], after: Mapping[str, Any], direction: _Direction, what: str
    ) -> None:
        for media_type, media in before.items():
            if media_type not in after:
                self.add(
                    ChangeKind.MEDIA_TYPE_REMOVED,
                    True,
                    media.pointer,
                    f"{what}: media type {media_type} removed",
                )
        for media_type, media in after.items():
            if media_type not in before:
                self.add(
                    ChangeKind.MEDIA_TYPE_ADDED,
                    False,
                    media.pointer,
                    f"{what}: media type {media_type} added",
                )
            else:
                self.schema(
                    before[media_type].schema,
                    media.schema,
                    direction,
                    _join(media.pointer, "schema"),
                    f"{what} ({media_type})",
                )

    def schemas(self) -> None:
        for name in self.old.schemas:
            if name not in self.new.schemas:
                self.add(
                    ChangeKind.SCHEMA_REMOVED,
                    True,
                    _join("/components/schemas", name),
                    f"schema {name!r} removed",
                )
        for name in self.new.schemas:
            if name not in self.old.schemas:
                self.add(
                    ChangeKind.SCHEMA_ADDED,
                    False,
                    _join("/components/schemas", name),
                    f"schema {name!r} added",
                )

    # -- schemas ---------------------------------------------------------------------------------

    def schema(self, old: Any, new: Any, direction: _Direction, pointer: str, what: str) -> None:
        old, _ = self.old.resolve(old) if old is not None else (None, None)
        new, new_pointer = self.new.resolve(new) if new is not None else (None, None)
        pointer = new_pointer or pointer
        # Named by the schema, not the route that reached it: one change, however many routes.
        what = self.new.component_name(new_pointer) or what
        if not isinstance(old, Mapping) or not isinstance(new, Mapping):
            if isinstance(old, Mapping) != isinstance(new, Mapping):
                narrowed = isinstance(new, Mapping) and bool(new)
                self.directional(
                    direction, narrowed=narrowed, pointer=pointer, message=f"{what}: schema changed"
                )
            return
        key = (id(old), id(new), direction)
        if key in self._compared:
            return
        self._compared.add(key)
        site = _Site(old, new, direction, pointer, what)
        self.types(site)
        self.constraints(site)
        self.enums(site)
        self.properties(site)
        if "items" in old or "items" in new:
            self.schema(
                old.get("items"), new.get("items"), direction, _join(pointer, "items"), f"{what}[]"
            )
        self.unions(site)

    def types(self, site: _Site) -> None:
        before, after = _types(site.old), _types(site.new)
        if before != after:
            accepts = f"{site.what}: accepts {_describe(after)} instead of {_describe(before)}"
            if before is None or (after is not None and after < before):
                site.directional(self, narrowed=True, message=accepts)
            elif after is None or after > before:
                site.directional(self, narrowed=False, message=accepts)
            else:
                became = f"{site.what}: {_describe(before)} became {_describe(after)}"
                self.add(ChangeKind.TYPE_CHANGED, True, site.pointer, became)
        old_format, new_format = site.old.get("format"), site.new.get("format")
        if old_format != new_format and (
            old_format in _TYPED_FORMATS or new_format in _TYPED_FORMATS
        ):
            became = f"{site.what}: format {old_format!r} became {new_format!r}"
            self.add(ChangeKind.TYPE_CHANGED, True, site.pointer, became)

    def constraints(self, site: _Site) -> None:
        """Bounds and patterns. Generated models do not enforce them (the service does), so a
        tighter one breaks only what clients send, and a looser one breaks nothing."""
        for keyword, tighter in _BOUNDS.items():
            before, after = site.old.get(keyword), site.new.get(keyword)
            if before == after or not all(
                isinstance(v, int | float | None) and not isinstance(v, bool)
                for v in (before, after)
            ):
                continue
            if before is None:
                tightened = True
            elif after is None:
                tightened = False
            else:
                tightened = (after < before) if tighter == "lower" else (after > before)
            self._constraint(site, tightened, f"{keyword} {before!r} became {after!r}")
        before_pattern, after_pattern = site.old.get("pattern"), site.new.get("pattern")
        if before_pattern != after_pattern:
            # A different pattern may reject what the old one accepted: counted as tighter,
            # unless the pattern went away.
            tightened = after_pattern is not None
            self._constraint(
                site, tightened, f"pattern {before_pattern!r} became {after_pattern!r}"
            )

    def _constraint(self, site: _Site, tightened: bool, change: str) -> None:
        kind = ChangeKind.CONSTRAINT_TIGHTENED if tightened else ChangeKind.CONSTRAINT_LOOSENED
        breaking = tightened and site.direction == "request"
        self.add(kind, breaking, site.pointer, f"{site.what}: {change}")

    def enums(self, site: _Site) -> None:
        before, after = _enum(site.old), _enum(site.new)
        if before is None and after is None:
            return
        # Whether an old client fails on a response value its enum does not list.
        strict = before is not None and enum_rejects_unknown(before)
        if before is None or after is None:
            narrowed = before is None
            limit = "now limited to" if narrowed else "no longer limited to"
            message = f"{site.what}: {limit} {after if narrowed else before}"
            if narrowed or strict:
                site.directional(self, narrowed=narrowed, message=message)
            else:  # any value of the base type already fits the old client's response type
                self.add(ChangeKind.TYPE_WIDENED, False, site.pointer, message)
            return
        for value in before:
            if value not in after:
                # The service refuses it in a request; a response that stops sending it breaks
                # no client.
                message = f"{site.what}: value {value!r} removed"
                breaking = site.direction == "request"
                self.add(ChangeKind.ENUM_VALUE_REMOVED, breaking, site.pointer, message)
        for value in after:
            if value not in before:
                # A request may simply not use it; a response breaks only a strict old enum.
                message = f"{site.what}: value {value!r} added"
                breaking = site.direction == "response" and strict
                self.add(ChangeKind.ENUM_VALUE_ADDED, breaking, site.pointer, message)

    def properties(self, site: _Site) -> None:
        before_props, before_required = self._collect(self.old, site.old)
        after_props, after_required = self._collect(self.new, site.new)
        skip = "writeOnly" if site.direction == "response" else "readOnly"
        requests = site.direction == "request"
        for name, schema in before_props.items():
            if name not in after_props and not _flag(self.old, schema, skip):
                at = _join(site.pointer, "properties", name)
                self.add(ChangeKind.FIELD_REMOVED, True, at, f"{site.what}: field {name!r} removed")
        for name, schema in after_props.items():
            if _flag(self.new, schema, skip):
                continue
            at = _join(site.pointer, "properties", name)
            required = name in after_required
            if name not in before_props:
                optional = "required" if required else "optional"
                message = f"{site.what}: {optional} field {name!r} added"
                self.add(ChangeKind.FIELD_ADDED, required and requests, at, message)
                continue
            was_required = name in before_required
            if required and not was_required:
                # A request must now send it; a response merely promises it.
                message = f"{site.what}: field {name!r} now required"
                self.add(ChangeKind.FIELD_NOW_REQUIRED, requests, at, message)
            elif was_required and not required:
                # A response may now omit it: readers get None where they had a value.
                message = f"{site.what}: field {name!r} now optional"
                self.add(ChangeKind.FIELD_NOW_OPTIONAL, not requests, at, message)
            self.schema(before_props[name], schema, site.direction, at, f"{site.what}.{name}")

    def unions(self, site: _Site) -> None:
        before = _members(self.old, site.old)
        after = _members(self.new, site.new)
        if before is None or after is None:
            return  # a union appearing or going shows up as a type change already
        for name in before:
            if name not in after:
                message = f"{site.what}: union member {name} removed"
                site.directional(self, narrowed=True, message=message)
        for name in after:
            if name not in before:
                message = f"{site.what}: union member {name} added"
                site.directional(self, narrowed=False, message=message)
            else:
                what = f"{site.what}<{name}>"
                self.schema(before[name], after[name], site.direction, site.pointer, what)

    def _collect(self, spec: Spec, schema: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
        properties: dict[str, Any] = {}
        required: set[str] = set()
        for member in schema.get("allOf") or []:
            target, _ = spec.resolve(member)
            if isinstance(target, Mapping):
                inner, inner_required = self._collect(spec, target)
                properties.update(inner)
                required |= inner_required
        properties.update(schema.get("properties") or {})
        required |= set(schema.get("required") or ())
        return properties, required


def _members(spec: Spec, schema: Mapping[str, Any]) -> dict[str, Any] | None:
    options = schema.get("oneOf") or schema.get("anyOf")
    if not isinstance(options, list):
        return None
    members: dict[str, Any] = {}
    for index, option in enumerate(options):
        _, pointer = spec.resolve(option)
        name = spec.component_name(pointer) or f"#{index + 1}"
        members[name] = option
    return members


def _flag(spec: Spec, schema: Any, flag: str) -> bool:
    if not isinstance(schema, Mapping):
        return False
    if schema.get(flag) is True:
        return True
    target, _ = spec.resolve(schema)
    return isinstance(target, Mapping) and target.get(flag) is True


def _describe(kinds: set[str] | None) -> str:
    if kinds is None:
        return "anything"
    names = sorted(
        "number" if kind == "number" else "integer" if kind == "number-integer" else kind
        for kind in kinds
        if not (kind == "number-integer" and "number" in kinds)
    )
    return " | ".join(names)


def _operation_key(operation: Operation) -> tuple[str, str]:
    return operation.method, _TEMPLATE.sub("{}", operation.path)


def _label(operation: Operation) -> str:
    return operation.operation_id or f"{operation.method.upper()} {operation.path}"


def diff_specs(old: Spec, new: Spec) -> list[ApiChange]:
    """Every API change from ``old`` to ``new``, in document order, breaking ones flagged."""
    return _Differ(old, new).run()
