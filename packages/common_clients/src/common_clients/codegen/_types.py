"""Type mapping: OpenAPI schemas to pydantic v2 types, the models of a generated client.

:class:`ModelEmitter` answers the operations emitter's question "what type is this schema?" with a
type expression (:meth:`ModelEmitter.type_for`), naming and queueing the schemas that need a model
of their own on the way, and turns each into a definition (``_render``'s :class:`ClassDef` or
:class:`AliasDef`); :meth:`ModelEmitter.render` hands them to rendering for the source of
``models.py``. What it needs to know about schemas it asks ``_schema``'s :class:`SchemaAnalysis`.

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

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from common_clients.codegen._names import NameAllocator, pascal_case
from common_clients.codegen._render import (
    AliasDef,
    ClassDef,
    FieldDef,
    annotation_imports,
    render_models,
)
from common_clients.codegen._schema import (
    SchemaAnalysis,
    deprecated,
    describe,
    enum_rejects_unknown,
    join_schema,
    literal_values,
    says_type,
    unknown_member,
)
from common_clients.codegen._source import format_python, literal_source
from common_clients.codegen._spec import Spec

__all__ = ["Direction", "ModelEmitter", "enum_rejects_unknown"]

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
_MAX_TYPE_DEPTH = 100
_PRIMITIVES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


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
        self._names_of: dict[tuple[int, _Variant], str] = {}
        self._queue: list[tuple[str, Any, str, _Variant]] = []
        self._defs: dict[str, ClassDef | AliasDef] = {}
        self._shared_uses: dict[int, set[Direction]] = {}
        self.component_names: dict[str, str] = {}
        """Schema name in ``components.schemas`` -> name of its (response) model or alias."""
        self._all_names: set[str] = set()
        self._schemas = SchemaAnalysis(spec)
        self._polymorphic_names: dict[tuple[str, Direction], str] = {}
        for key, schema in spec.schemas.items():
            name = self._names.allocate(key)
            self.component_names[key] = name
            # drf-spectacular's split components (``UserRequest``) are meant for requests: their
            # plain name is their request form; every other schema's is its response form.
            primary: Direction = "request" if key.endswith("Request") else "response"
            self._register(schema, join_schema(key), name, self._variant(schema, primary))

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
        self._bounded(expression, pointer)
        return _or_none(expression) if nullable else expression

    def properties_of(self, schema: Mapping[str, Any] | bool | None) -> dict[str, Any]:
        """The properties of an object schema by wire name, ``$ref`` and ``allOf`` seen through.

        For questions about a body's shape without reading schemas, e.g. whether a response is a
        DRF page: ``{"next", "results"} <= emitter.properties_of(schema).keys()``. Values are the
        property schemas as written (pass them to :meth:`type_for`); ``{}`` for anything else.
        """
        target, pointer = self._spec.resolve(schema) if isinstance(schema, Mapping) else (None, "")
        if not isinstance(target, Mapping):
            return {}
        collected = self._schemas.collect(target, at=pointer or "")
        return {name: value for name, (value, _) in collected.properties.items()}

    def imports_for(self, annotations: Iterable[str], *, models_module: str) -> list[str]:
        """Import lines a module needs to use ``annotations`` (from :meth:`type_for`), sorted."""
        return annotation_imports(annotations, models=self._all_names, models_module=models_module)

    def render(self, *, header: str | None = None, formatted: bool = True) -> str:
        """The source of ``models.py``; ``header`` is its docstring.

        Formatted by ruff, unless ``formatted`` is false (for a caller that formats a whole
        package in one run, as :func:`~common_clients.codegen.generate_client` does).
        """
        self._drain()
        missing = [key for key, name in self.component_names.items() if name not in self._defs]
        if missing:  # pragma: no cover - a bug here, never a property of the input
            raise AssertionError(f"schemas without a model: {missing}")
        title = header or (
            f"Models of {self._spec.title or 'the API'}, generated from its OpenAPI document"
            f" (sha256 {self._spec.sha256}). Do not edit."
        )
        source = render_models(self._defs, spec=self._spec, title=title)
        return format_python(source) if formatted else source

    # -- naming and the work queue ---------------------------------------------------------------

    def _variant(self, schema: Any, direction: Direction) -> _Variant:
        return direction if self._schemas.needs_split(schema) else "shared"

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
        component = self._schemas.component_ids.get(id(schema))
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

    def _only_requests(self, name: str, schema: Any) -> bool:
        """Whether a shared (unsplit) schema is never read from a response, so typed strictly.

        A component: when operations reach it through parameters and request bodies only. An
        inline schema: when every use so far (its parent's) is a request's.
        """
        component = self._schemas.component_ids.get(id(schema))
        if component is not None:
            return component in self._schemas.request_only_components
        return self._shared_uses.get(id(schema)) == {"request"}

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
        if not top and id(schema) in self._schemas.component_ids:
            return self._component_type(self._schemas.component_ids[id(schema)], direction)
        nullable = self._schemas.nullable(schema)
        if self._schemas.is_model(schema):
            return self._name_for(schema, at, hint, direction), nullable
        return self._structural(
            schema, hint=hint, direction=direction, at=at, nullable=nullable, top=top
        )

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
                self._spec.ref_pointer(ref, at="") if ref.startswith("#") else join_schema(ref)
            )
            for ref in (discriminator.get("mapping") or {}).values()
        }
        # The base itself is a member unless an explicit mapping leaves it out (its implicit tag
        # is its own name, like any schema's).
        with_base = not discriminator.get("mapping") or key in mapped
        members = [k for k in [key, *self._schemas.polymorphic[key]] if k != key or with_base]
        resolved = [(self._spec.schemas[k], join_schema(k)) for k in members]
        parts = [
            self._name_for(schema, at, k, direction)
            for k, (schema, at) in zip(members, resolved, strict=True)
        ]
        tag_of = self._explicit_tags(discriminator, resolved, parts) if len(parts) > 1 else None
        if tag_of is None:
            expression = " | ".join(parts)
        else:
            expression = _tagged_union(discriminator["propertyName"], parts, tag_of)
        self._defs[name] = AliasDef(
            name=name,
            expression=expression,
            doc=f"Any schema that extends {self.component_names[key]}.",
            pointer=join_schema(key),
        )
        return name

    def _component_type(self, key: str, direction: Direction) -> tuple[str, bool]:
        schema = self._spec.schemas[key]
        if key in self._schemas.polymorphic:
            return self._polymorphic_type(key, direction), False
        pointer = join_schema(key)
        name = self._name_for(schema, pointer, key, direction)
        # An alias carries its own ``| None``; a class cannot, so a nullable one needs it here.
        nullable = (
            isinstance(schema, Mapping)
            and self._schemas.is_model(schema)
            and self._schemas.nullable(schema)
        )
        unknown = self._unknown_in(schema, direction)
        return (f"{name} | {unknown}" if unknown else name), nullable

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
                (i for i, m in enumerate(members) if isinstance(m, Mapping) and says_type(m)), 0
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
        kept = literal_values(schema["enum"] if "enum" in schema else [schema["const"]])
        if kept is None:
            return None  # floats, objects: Literal cannot hold them; the base type is used
        if not kept:
            return "None"
        return f"Literal[{', '.join(literal_source(value) for value in kept)}]"

    def _unknown_in(self, schema: Any, direction: Direction) -> str | None:
        """What an enum ``schema`` read in ``direction`` admits beside its values, if anything."""
        if direction != "response" or not isinstance(schema, Mapping):
            return None
        kept = literal_values(schema.get("enum"))
        return None if kept is None else unknown_member(kept)

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
            self._defs[name] = AliasDef(
                name=name, expression=tagged, doc=describe(schema), pointer=at
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
            if not isinstance(target, Mapping) or not self._schemas.is_model(target):
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
            implied = self._schemas.implied_discriminator([target for target, _ in resolved])
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
        if any(prop not in self._schemas.collect(target, at="").required for target, _ in resolved):
            # A member may arrive without the tag (GitHub's ``user_view_type``): a tagged union
            # would reject it, a plain one picks the member that fits best.
            return None
        by_pointer = {pointer: part for (_, pointer), part in zip(resolved, parts, strict=True)}
        tag_of: dict[str, str] = {}
        for value, ref in (discriminator.get("mapping") or {}).items():
            target = self._spec.ref_pointer(ref, at="") if ref.startswith("#") else join_schema(ref)
            if target in by_pointer:
                tag_of[str(value)] = by_pointer[target]
        mapped = set(tag_of.values())
        for (_, member), part in zip(resolved, parts, strict=True):
            component = self._spec.component_name(member)
            if part not in mapped and component is not None:
                tag_of[component] = part
        return tag_of if set(tag_of.values()) == set(parts) else None

    # -- definitions -----------------------------------------------------------------------------

    def _define(
        self, name: str, schema: Any, pointer: str, variant: _Variant
    ) -> ClassDef | AliasDef:
        direction: Direction = "request" if variant == "request" else "response"
        if variant == "shared" and self._only_requests(name, schema):
            direction = "request"
        if isinstance(schema, Mapping) and self._schemas.is_model(schema):
            return self._define_class(name, schema, pointer, variant, direction)
        expression, nullable = self._typed(
            schema, hint=name, direction=direction, at=pointer, top=True
        )
        if nullable:
            expression = _or_none(expression)
        self._bounded(expression, pointer)
        doc = None
        if isinstance(schema, Mapping):
            doc = describe(schema)
        return AliasDef(name=name, expression=expression, doc=doc, pointer=pointer)

    def _bounded(self, expression: str, pointer: str) -> None:
        """A :class:`SpecError` for a type nested past what Python's parser takes (200 levels).

        The document's own depth is bounded when it is read; ``$ref``s between inline schemas
        can still chain one type inside another.
        """
        if expression.count("[") <= _MAX_TYPE_DEPTH:
            return
        depth = deepest = 0
        for character in expression:
            if character == "[":
                depth += 1
                deepest = max(deepest, depth)
            elif character == "]":
                depth -= 1
        if deepest > _MAX_TYPE_DEPTH:
            raise self._spec.error(
                f"the type nests deeper than {_MAX_TYPE_DEPTH} levels (through $refs)", pointer
            )

    def _define_class(
        self,
        name: str,
        schema: Mapping[str, Any],
        pointer: str,
        variant: _Variant,
        direction: Direction,
    ) -> ClassDef:
        collected = self._schemas.collect(schema, at=pointer)
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
            if skipped is None or not self._schemas.flag(value, skipped)
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
        description = describe(schema)
        if description:
            doc_parts.append(description)
        properties = collected.properties.values()
        if variant == "request" and any(self._schemas.flag(v, "readOnly") for v in properties):
            doc_parts.append("The request form: read-only properties left out.")
        if variant == "response" and any(self._schemas.flag(v, "writeOnly") for v in properties):
            doc_parts.append("The response form: write-only properties left out.")
        if deprecated(schema):
            doc_parts.append("Deprecated.")
        return ClassDef(
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
    ) -> FieldDef:
        expression, nullable = self._typed(value, hint=hint, direction=direction, at=at)
        self._bounded(expression, at)
        resolved, target = self._spec.resolve(value, at=at)
        default = None if required else self._default(resolved, expression, at=target or at)
        annotation = expression
        if nullable or (not required and default is None):
            annotation = _or_none(expression)
        if not required and default is None:
            default = "None"
        # A named schema documents itself where it is defined; only an unnamed target's text is
        # brought to the field.
        borrowed = resolved is not value and self._spec.component_name(target) is None
        description = describe(value) or (describe(resolved) if borrowed else None)
        return FieldDef(
            name=attribute,
            wire=prop,
            annotation=annotation,
            default=default,
            deprecated=deprecated(value) or deprecated(resolved),
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
                source = literal_source(value)
        elif isinstance(kind, str) and fits.get(kind) and schema.get("format") != "decimal":
            source = _number_source(value) if kind == "number" else literal_source(value)
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


def _or_none(expression: str) -> str:
    """``expression`` admitting ``None`` too: ``Any`` and ``None`` admit it already (and
    ``None | None`` would not evaluate)."""
    return expression if expression in ("Any", "None") else f"{expression} | None"


def _number_source(value: float) -> str | None:
    """``repr`` of ``value`` as a float, or ``None`` when it is infinite, NaN or too large."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return repr(number) if math.isfinite(number) else None


def _tagged_union(prop: str, parts: list[str], tag_of: dict[str, str]) -> str:
    """``Annotated[A | B, Discriminator(...)]``: members picked by the value of ``prop``."""
    members = " | ".join(f"Annotated[{part}, Tag({part!r})]" for part in parts)
    chooser = f"discriminate({literal_source(prop)}, {literal_source(tag_of)})"
    return f"Annotated[{members}, Discriminator({chooser})]"
