"""Every schema of the third-party documents: values it accepts are accepted by its model.

For each schema, the smallest and the fullest value valid under JSON Schema's rules (made here
without the generator's help) goes through the annotation the generator gives a reference to that
schema, in the request and in the response direction. A model that rejects a valid value is what
breaks a client in production; this is where it would show.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
import pytest

from common_clients.codegen import Direction, ModelEmitter, Spec, load_spec
from openapi_corpus import DOCUMENTS, CorpusUnavailable, Document, fetch

CACHE = Path(__file__).resolve().parents[3] / ".cache" / "openapi-docs"
# The GitHub Enterprise Server documents repeat GitHub's schemas: left to the models tests.
VALID = [d for d in DOCUMENTS if d.valid and not d.name.startswith("ghes-")]

Mode = Literal["min", "max"]
_FORMATS = {
    "binary": "data",
    "date-time": "2024-01-31T10:00:00Z",
    "date": "2024-01-31",
    "time": "10:00:00",
    "duration": "P1D",
    "uuid": "12345678-1234-5678-1234-567812345678",
    "decimal": "1.50",
    "email": "ada@example.com",
    "uri": "https://example.com/x",
    "byte": "ZGF0YQ==",
}


def _kind(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return str(kinds[0]) if kinds else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    return "array" if "items" in schema else "any"


class Instances:
    """Makes the smallest (``min``) and fullest (``max``) JSON values a schema accepts.

    Written from JSON Schema's rules, not from the generator's, so that it checks the generator:
    ``min`` takes required properties only and ``null`` wherever allowed, ``max`` every property,
    the last enum value and union member, additional properties. Properties that do not travel
    in ``direction`` are left out (read-only ones from requests, write-only from responses).
    """

    def __init__(self, spec: Spec, direction: Direction) -> None:
        self.spec = spec
        self.direction = direction
        self.current: str | None = None
        """The schema being instantiated: the tag value of a discriminator it declares."""

    def make(self, schema: Any, mode: Mode, depth: int = 0) -> Any:
        """A value of ``schema``: ``null`` where ``min`` may, else by its keywords."""
        if not isinstance(schema, Mapping):
            schema = {}  # true, or no schema: anything
        nullable = schema.get("nullable") is True or (
            isinstance(schema.get("type"), list) and "null" in schema["type"]
        )
        if nullable and mode == "min":
            return None
        if "$ref" in schema:
            target, _ = self.spec.resolve(schema)
            return self.make(target, mode, depth + 1)
        if "const" in schema or (isinstance(schema.get("enum"), list) and schema["enum"]):
            values = [schema["const"]] if "const" in schema else schema["enum"]
            values = [v for v in values if v is not None] or [None]
            return values[0] if mode == "min" else values[-1]
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            return self.all_of(schema, mode, depth)
        options = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(options, list) and options and not schema.get("properties"):
            return self.union(schema, options, mode, depth)
        return self.of_kind(_kind(schema), schema, mode, depth)

    def all_of(self, schema: Mapping[str, Any], mode: Mode, depth: int) -> Any:
        """One object of all the members' properties; without properties, the typed member."""
        flat = self.flatten(schema)
        if flat is not None:
            return self.make(flat, mode, depth)
        typed = [m for m in schema["allOf"] if isinstance(m, Mapping) and len(m) > 0]
        return self.make(typed[0] if typed else None, mode, depth + 1)

    def union(self, schema: Mapping[str, Any], options: list[Any], mode: Mode, depth: int) -> Any:
        """The first (``min``) or last (``max``) member, tagged when there is a discriminator."""
        real = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
        if not real:
            return None
        option = real[0] if mode == "min" else real[-1]
        value = self.make(option, mode, depth + 1)
        discriminator = schema.get("discriminator")
        if isinstance(discriminator, Mapping) and isinstance(value, dict):
            value[discriminator["propertyName"]] = self.tag(discriminator, option)
        return value

    def flatten(self, schema: Mapping[str, Any]) -> dict[str, Any] | None:
        """An allOf as one object schema (properties merged, later ones winning)."""
        properties: dict[str, Any] = {}
        required: set[str] = set(schema.get("required") or ())
        found = bool(schema.get("properties"))
        for member in schema.get("allOf") or []:
            target, _ = self.spec.resolve(member)
            if not isinstance(target, Mapping):
                continue
            inner = self.flatten(target) if target.get("allOf") else dict(target)
            if inner and (inner.get("properties") or inner.get("type") == "object"):
                found = True
                properties.update(inner.get("properties") or {})
                required |= set(inner.get("required") or ())
        properties.update(schema.get("properties") or {})
        if not found:
            return None
        return {"type": "object", "properties": properties, "required": sorted(required)}

    def tag(self, discriminator: Mapping[str, Any], option: Any) -> str:
        _, pointer = self.spec.resolve(option)
        for value, ref in (discriminator.get("mapping") or {}).items():
            if ref.rsplit("/", 1)[-1] == (pointer or "").rsplit("/", 1)[-1]:
                return str(value)
        return self.spec.component_name(pointer) or "unknown"

    def of_kind(self, kind: str, schema: Mapping[str, Any], mode: Mode, depth: int) -> Any:
        if kind == "object":
            return self.object(schema, mode, depth)
        if kind == "array":
            count = max(int(schema.get("minItems") or 0), 1 if mode == "max" and depth < 4 else 0)
            return [self.make(schema.get("items"), mode, depth + 1) for _ in range(count)]
        if kind == "string":
            fmt = schema.get("format")
            text = _FORMATS.get(fmt, "text") if isinstance(fmt, str) else "text"
            minimum = int(schema.get("minLength") or 0)
            return text + "x" * max(0, minimum - len(text))
        scalars = {
            "integer": int(schema.get("minimum") or 1),
            "number": float(schema.get("minimum") or 1.5),
            "boolean": mode == "max",
            "any": {"any": 1} if mode == "max" else "anything",
        }
        return scalars.get(kind)

    def object(self, schema: Mapping[str, Any], mode: Mode, depth: int) -> dict[str, Any]:
        required = set(schema.get("required") or ())
        skipped = "writeOnly" if self.direction == "response" else "readOnly"
        result: dict[str, Any] = {
            name: self.make(prop, mode, depth + 1)
            for name, prop in (schema.get("properties") or {}).items()
            if not self.flag(prop, skipped) and (name in required or (mode == "max" and depth < 4))
        }
        discriminator = schema.get("discriminator")
        if isinstance(discriminator, Mapping) and self.current is not None:
            result[discriminator["propertyName"]] = self.current
        extra = schema.get("additionalProperties")
        if mode == "max" and isinstance(extra, Mapping) and depth < 4:
            result["an_extra_key"] = self.make(extra, mode, depth + 1)
        return result

    def flag(self, schema: Any, flag: str) -> bool:
        if not isinstance(schema, Mapping):
            return False
        target, _ = self.spec.resolve(schema)
        return schema.get(flag) is True or (
            isinstance(target, Mapping) and target.get(flag) is True
        )


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["request", "response"])
@pytest.mark.parametrize("document", VALID, ids=[d.name for d in VALID])
def test_models_accept_every_valid_value(
    document: Document, direction: Direction, tmp_path: Path
) -> None:
    try:
        spec = load_spec(fetch(document, CACHE))
    except CorpusUnavailable as exc:
        pytest.skip(f"third-party OpenAPI documents cannot be fetched here: {exc}")
    emitter = ModelEmitter(spec)
    annotations = {
        key: emitter.type_for(
            {"$ref": f"#/components/schemas/{key}"}, name_hint=key, direction=direction
        )
        for key in spec.schemas
    }
    path = tmp_path / "models.py"
    path.write_text(emitter.render())
    name = f"instances_{document.name.replace('-', '_').replace('.', '_')}_{direction}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    maker = Instances(spec, direction)
    rejected = []
    for key, annotation in annotations.items():
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(eval(annotation, vars(module)))  # noqa: S307 (an annotation the generator wrote)
        maker.current = key
        for mode in ("min", "max"):
            value = maker.make(spec.schemas[key], mode)
            try:
                adapter.validate_python(value)
            except pydantic.ValidationError as exc:
                rejected.append(f"{key} ({mode}): {exc}")
    assert not rejected, "\n".join(rejected[:5])
