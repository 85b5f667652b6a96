"""Loading an OpenAPI 3.0 or 3.1 document: parse, validate, resolve ``$ref``s, walk operations.

:func:`load_spec` reads YAML or JSON (bundling in the files its ``$ref``s name, see ``_bundle``),
checks the document against the official OpenAPI schema of its version (through jsonschema-rs,
fast enough for documents with thousands of operations; in 3.1, each Schema Object against JSON
Schema 2020-12 too), then checks what a schema cannot say: every ``$ref`` points somewhere, no
``$ref`` loops on itself, operation ids are unique, every ``{name}`` in a path template has its
path parameter. Any problem is a :class:`SpecError` carrying the JSON pointer of the offending
node, never a traceback.

The :class:`Spec` it returns keeps the document as parsed (plain dicts and lists) and offers the
walks a generator needs: :meth:`Spec.operations` (path-level parameters merged, references
resolved) and :meth:`Spec.resolve` for schemas and other objects.
"""

from __future__ import annotations

import codecs
import hashlib
import importlib.util
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import unquote

from common_clients.codegen._errors import MissingExtraError, SpecError, SpecWarning
from common_clients.codegen._extra import require

__all__ = [
    "HTTP_METHODS",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "MediaType",
    "Operation",
    "Parameter",
    "RequestBody",
    "Response",
    "Spec",
    "SpecError",
    "SpecWarning",
    "escape_pointer",
    "load_spec",
    "node_at",
    "parse_spec",
]

MAX_DEPTH = 64
"""How deeply a document may nest (objects and lists); the largest public documents nest ~20."""
MAX_NODES = 2_000_000
"""The most objects and lists a YAML document may expand to (GitHub's has ~100,000)."""
MAX_BYTES = 64 * 1024 * 1024
"""The largest document read, the files its ``$ref``s name included (GitHub's is 14 MB)."""
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_ASCII_BYTES = bytes(range(128))
# The length of a UTF-8 sequence by the high four bits of its lead byte.
_UTF8_LENGTH = {0xC: 2, 0xD: 2, 0xE: 3, 0xF: 4}
DANGLING: Mapping[str, Any] = MappingProxyType({})
"""What :meth:`Spec.resolve` gives for a ``$ref`` that points to nothing (read as ``{}``)."""
# What the walks of a Spec read from an object a $ref reached, by the type they need it to be.
_SHAPES: dict[str, type] = {
    "content": Mapping,
    "headers": Mapping,
    "parameters": list,
    "responses": Mapping,
    "tags": list,
}
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_PATH_TEMPLATE = re.compile(r"\{([^{}]+)\}")
# A "$ref" whose value does not start with "#" (JSON or YAML spelling): a reference to a file.
_FILE_REF = re.compile(rb"""\$ref["']?\s*:\s*["']?(?![\s"'#])""")
# Keywords whose values are data (never document structure, so a "$ref" key there is just data).
_DATA_KEYWORDS = frozenset({"example", "default", "enum", "const", "value"})
# Keywords whose value is a schema, and whose members are (where a ``null`` is read as ``{}``).
_SCHEMA_KEYWORDS = frozenset({"schema", "items", "additionalProperties", "not"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
# Keywords whose values map names the author chose to objects (a property may be called "enum").
_NAMED_MAPS = frozenset(
    {
        "$defs",
        "callbacks",
        "content",
        "definitions",
        "dependentSchemas",
        "encoding",
        "examples",
        "headers",
        "links",
        "mapping",
        "parameters",
        "pathItems",
        "paths",
        "patternProperties",
        "properties",
        "requestBodies",
        "responses",
        "schemas",
        "securitySchemes",
        "variables",
        "webhooks",
    }
)


def escape_pointer(segment: object) -> str:
    """One JSON pointer segment: ``~`` -> ``~0``, ``/`` -> ``~1``."""
    return str(segment).replace("~", "~0").replace("/", "~1")


def node_at(document: Any, pointer: str) -> Any:
    """The node at an RFC 6901 pointer in ``document``; ``KeyError`` when there is none."""
    node = document
    for raw in pointer.split("/")[1:] if pointer else []:
        segment = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            raise KeyError(pointer)
    return node


def _join(pointer: str, *segments: object) -> str:
    return pointer + "".join("/" + escape_pointer(segment) for segment in segments)


@dataclass(frozen=True)
class MediaType:
    """One entry of a ``content`` map: ``application/json`` and its schema."""

    media_type: str
    schema: Mapping[str, Any] | bool | None
    pointer: str
    encoding: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Parameter:
    """A path, query, header or cookie parameter, with its ``$ref`` resolved."""

    name: str
    location: Literal["path", "query", "header", "cookie"]
    required: bool
    schema: Mapping[str, Any] | bool | None
    pointer: str
    description: str | None
    deprecated: bool
    style: str | None
    explode: bool | None
    content: tuple[MediaType, ...]
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class RequestBody:
    """An operation's request body, with its ``$ref`` resolved."""

    required: bool
    content: tuple[MediaType, ...]
    description: str | None
    pointer: str


@dataclass(frozen=True)
class Response:
    """One response of an operation (``status`` is ``"200"``, ``"4XX"`` or ``"default"``)."""

    status: str
    description: str | None
    content: tuple[MediaType, ...]
    headers: Mapping[str, Any]
    pointer: str


@dataclass(frozen=True)
class Operation:
    """One operation: a method on a path, parameters merged from its path item."""

    path: str
    method: str
    operation_id: str | None
    tags: tuple[str, ...]
    summary: str | None
    description: str | None
    deprecated: bool
    parameters: tuple[Parameter, ...]
    request_body: RequestBody | None
    responses: tuple[Response, ...]
    pointer: str
    raw: Mapping[str, Any]


@cache
def _validators() -> dict[str, Any]:
    jsonschema_rs = require("jsonschema_rs")
    return {
        version: jsonschema_rs.validator_for(_official_schema(version), validate_formats=False)
        for version in ("3.0", "3.1")
    }


def _official_schema(version: str) -> Any:
    """The OpenAPI Initiative's JSON schema of ``version``, as openapi-spec-validator ships it.

    Read from its file: importing openapi-spec-validator (for its ``schemas``) pulls in a pure-
    Python validation stack that takes seconds and tens of MB, and none of it is used here.
    """
    found = importlib.util.find_spec("openapi_spec_validator")
    if found is None or not found.submodule_search_locations:
        raise MissingExtraError("openapi_spec_validator")
    folder = Path(next(iter(found.submodule_search_locations)))
    path = folder / "resources" / "schemas" / f"v{version}" / "schema.json"
    if not path.is_file():  # a release that moved its files: ask it the long way
        schemas = require("openapi_spec_validator.schemas")
        return dict(getattr(schemas, f"schema_v{version.replace('.', '')}"))
    return json.loads(path.read_bytes())


def _best_error(error: Any) -> Any:
    """The most specific error under a ``oneOf``/``anyOf`` failure: the one that went deepest."""
    context = getattr(error.kind, "context", None)
    if not context:
        return error
    best = error
    for branch in context:
        for sub in branch:
            candidate = _best_error(sub)
            if len(candidate.instance_path) > len(best.instance_path):
                best = candidate
    return best


class Spec:
    """A validated OpenAPI document.

    ``document`` is the parsed document; ``version`` is ``"3.0"`` or ``"3.1"``; ``source`` is the
    file it came from (as given) and ``sha256`` the hash of its bytes.

    Deviations other generators tolerate are read with a :class:`SpecWarning` each, kept in
    :attr:`warnings` (a dangling ``$ref`` or a ``null`` schema is any value, ``type: "null"`` in
    3.0 is nullable); with ``strict`` the first of them is raised instead.
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        source: str | None = None,
        sha256: str | None = None,
        validate: bool = True,
        strict: bool = False,
    ) -> None:
        self.document = document
        self.source = source
        self.strict = strict
        self.warnings: list[SpecWarning] = []
        """What the generator read differently from the letter of the document, in order."""
        self._warned: set[str] = set()
        self._dangling: set[int] = set()  # the $ref nodes already warned about
        self.sha256 = (
            sha256 or hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
        )
        self.version = self._detect_version()
        if validate:
            references = self._prepare()
            self._validate_schema()
            if self.version == "3.1":
                self._validate_schema_objects()
            for node, pointer in references:
                self.resolve(node, at=pointer)
            self._validate_operations()

    # -- errors ----------------------------------------------------------------------------------

    def error(self, message: str, pointer: str) -> SpecError:
        """A :class:`SpecError` about this document."""
        return SpecError(message, pointer=pointer, source=self.source)

    def warn(self, message: str, pointer: str) -> None:
        """Record a deviation read leniently (once); raise it as an error when ``strict``."""
        warning = SpecWarning(message, pointer=pointer, source=self.source)
        if self.strict:
            raise SpecError(
                f"{message} (an error under --strict)", pointer=pointer, source=self.source
            )
        if str(warning) not in self._warned:
            self._warned.add(str(warning))
            self.warnings.append(warning)

    # -- lookups ---------------------------------------------------------------------------------

    @property
    def title(self) -> str:
        """``info.title``."""
        return str(self.document.get("info", {}).get("title", ""))

    @property
    def schemas(self) -> Mapping[str, Any]:
        """``components.schemas``, in document order (empty when there are none)."""
        components = self.document.get("components") or {}
        return components.get("schemas") or {}

    def get(self, pointer: str) -> Any:
        """The node at a JSON pointer (``/components/schemas/User``)."""
        if pointer and not pointer.startswith("/"):
            raise self.error(f"{pointer!r} is not a JSON pointer", pointer)
        try:
            return node_at(self.document, pointer)
        except KeyError:
            raise self.error(f"nothing at {pointer!r}", pointer) from None

    def ref_pointer(self, ref: str, *, at: str) -> str:
        """The JSON pointer a local ``$ref`` (``#/components/...``) designates."""
        if not ref.startswith("#"):
            raise self.error(
                f"$ref {ref!r} points outside this document; only local references"
                " (starting with '#') are supported: bundle the document first",
                at,
            )
        return unquote(ref[1:])

    def resolve(self, node: Any, *, at: str = "") -> tuple[Any, str | None]:
        """Follow ``$ref`` until a node without one: ``(target, pointer of target or None)``.

        ``at`` is the pointer of ``node`` itself, used in errors. A node without ``$ref`` comes back
        as it is with ``None``.
        """
        pointer: str | None = None
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            pointer = self.ref_pointer(node["$ref"], at=at)
            if pointer in seen:
                raise self.error(f"$ref loop through {node['$ref']!r}", at)
            seen.add(pointer)
            try:
                node = self.get(pointer)
            except SpecError:
                if self.strict:
                    raise self.error(f"$ref {node['$ref']!r} points to nothing", at) from None
                if id(node) in self._dangling:
                    return DANGLING, None
                self._dangling.add(id(node))
                self.warn(
                    f"$ref {node['$ref']!r} points to nothing: read as an empty object"
                    " (a schema: any value, typed Any)",
                    at,
                )
                return DANGLING, None
            at = pointer
        return node, pointer

    def component_name(self, pointer: str | None) -> str | None:
        """``User`` for ``/components/schemas/User``; ``None`` for any other pointer."""
        prefix = "/components/schemas/"
        if pointer and pointer.startswith(prefix) and "/" not in pointer[len(prefix) :]:
            return pointer[len(prefix) :].replace("~1", "/").replace("~0", "~")
        return None

    # -- walks -----------------------------------------------------------------------------------

    def operations(self) -> Iterator[Operation]:
        """Every operation in document order, with references resolved."""
        paths = self.document.get("paths") or {}
        for path, raw_item in paths.items():
            item_pointer = _join("/paths", path)
            item = self._object(raw_item, item_pointer, "a Path Item Object")
            shared = self._parameters(
                item.get("parameters") or [], _join(item_pointer, "parameters")
            )
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                pointer = _join(item_pointer, method)
                raw = self._object(item[method], pointer, "an Operation Object")
                own = self._parameters(raw.get("parameters") or [], _join(pointer, "parameters"))
                merged = {(p.location, p.name): p for p in shared}
                merged.update({(p.location, p.name): p for p in own})
                yield Operation(
                    path=path,
                    method=method,
                    operation_id=raw.get("operationId"),
                    tags=tuple(raw.get("tags") or ()),
                    summary=raw.get("summary"),
                    description=raw.get("description"),
                    deprecated=bool(raw.get("deprecated", False)),
                    parameters=tuple(merged.values()),
                    request_body=self._request_body(raw.get("requestBody"), pointer),
                    responses=self._responses(raw.get("responses") or {}, pointer),
                    pointer=pointer,
                    raw=raw,
                )

    def _object(self, node: Any, at: str, kind: str, *, keys: Sequence[str] = ()) -> Any:
        """``node`` with its ``$ref`` followed, when that is a mapping as ``kind`` is.

        The OpenAPI schema checks what is written in place; what a ``$ref`` reaches (it may point
        anywhere in the document) is checked here, enough for the walks below never to fail.
        """
        target, pointer = self.resolve(node, at=at)
        where = pointer or at
        if not isinstance(target, Mapping):
            raise self.error(f"{kind} is expected here, not a {type(target).__name__}", where)
        for key, expected in _SHAPES.items():
            if key in target and not isinstance(target[key], expected):
                raise self.error(f"{kind}'s {key!r} is not a {expected.__name__}", where)
        for key in keys:
            if not isinstance(target.get(key), str):
                raise self.error(f"{kind} without a {key!r} string", where)
        return target

    def _content(self, content: Mapping[str, Any] | None, pointer: str) -> tuple[MediaType, ...]:
        if content is not None and not all(isinstance(e, Mapping) for e in content.values()):
            raise self.error("a media type entry is not a Media Type Object", pointer)
        return tuple(
            MediaType(
                media_type=media_type,
                schema=entry.get("schema"),
                pointer=_join(pointer, media_type),
                encoding=entry.get("encoding") or {},
            )
            for media_type, entry in (content or {}).items()
        )

    def _parameters(self, raw: Sequence[Any], pointer: str) -> list[Parameter]:
        parameters = []
        for index, entry in enumerate(raw):
            at = _join(pointer, index)
            param, target = self.resolve(entry, at=at)
            if param is DANGLING:
                self.warn("parameter left out: its $ref points to nothing", at)
                continue
            self._object(param, target or at, "a Parameter Object", keys=("name", "in"))
            if param["in"] not in ("path", "query", "header", "cookie"):
                raise self.error(f"parameter location {param['in']!r} is unknown", target or at)
            at = target or at
            parameters.append(
                Parameter(
                    name=param["name"],
                    location=param["in"],
                    required=bool(param.get("required", False)),
                    schema=param.get("schema"),
                    pointer=at,
                    description=param.get("description"),
                    deprecated=bool(param.get("deprecated", False)),
                    style=param.get("style"),
                    explode=param.get("explode"),
                    content=self._content(param.get("content"), _join(at, "content")),
                    raw=param,
                )
            )
        return parameters

    def _request_body(self, raw: Any, operation_pointer: str) -> RequestBody | None:
        if raw is None:
            return None
        at = _join(operation_pointer, "requestBody")
        body, target = self.resolve(raw, at=at)
        self._object(body, target or at, "a Request Body Object")
        at = target or at
        return RequestBody(
            required=bool(body.get("required", False)),
            content=self._content(body.get("content"), _join(at, "content")),
            description=body.get("description"),
            pointer=at,
        )

    def _responses(self, raw: Mapping[str, Any], operation_pointer: str) -> tuple[Response, ...]:
        responses = []
        for status, entry in raw.items():
            at = _join(operation_pointer, "responses", status)
            response, target = self.resolve(entry, at=at)
            self._object(response, target or at, "a Response Object")
            at = target or at
            responses.append(
                Response(
                    status=str(status),
                    description=response.get("description"),
                    content=self._content(response.get("content"), _join(at, "content")),
                    headers=response.get("headers") or {},
                    pointer=at,
                )
            )
        return tuple(responses)

    # -- validation ------------------------------------------------------------------------------

    def _detect_version(self) -> Literal["3.0", "3.1"]:
        if not isinstance(self.document, Mapping):
            raise self.error("an OpenAPI document is a mapping at the top level", "")
        declared = self.document.get("openapi")
        if declared is None:
            if "swagger" in self.document:
                raise self.error(
                    "Swagger 2.0 documents are not supported: convert to OpenAPI 3", "/swagger"
                )
            raise self.error("no 'openapi' version field: not an OpenAPI 3 document", "")
        text = str(declared)
        if re.fullmatch(r"3\.0\.\d+(-.+)?", text):
            return "3.0"
        if re.fullmatch(r"3\.1\.\d+(-.+)?", text):
            return "3.1"
        raise self.error(f"unsupported OpenAPI version {text!r} (3.0.x and 3.1.x are)", "/openapi")

    def _validate_schema(self) -> None:
        validator = _validators()[self.version]
        errors = list(validator.iter_errors(self.document))
        if not errors:
            return
        best = max((_best_error(error) for error in errors), key=lambda e: len(e.instance_path))
        pointer = _join("", *best.instance_path)
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise self.error(f"{best.message}{more}", pointer)

    def _validate_schema_objects(self) -> None:
        """3.1 only: each Schema Object against JSON Schema 2020-12's meta-schema.

        The OpenAPI 3.1 document schema leaves Schema Objects to their dialect, so without this a
        ``type: strin`` or a ``properties`` list would pass validation.
        """
        jsonschema_rs = require("jsonschema_rs")
        for pointer, schema in self._schema_objects():
            try:
                jsonschema_rs.meta.validate(schema)
            except jsonschema_rs.ValidationError as error:
                best = _best_error(error)
                raise self.error(best.message, _join(pointer, *best.instance_path)) from None

    def _schema_objects(self) -> Iterator[tuple[str, Any]]:
        """(pointer, schema) for every Schema Object that is not inside another one."""
        for name, schema in self.schemas.items():
            yield _join("/components/schemas", name), schema
        stack: list[tuple[Any, str, bool]] = [(self.document, "", False)]
        while stack:
            node, pointer, named = stack.pop()
            if isinstance(node, Mapping):
                for key, value in node.items():
                    at = _join(pointer, key)
                    if at == "/components/schemas" or (not named and key in _DATA_KEYWORDS):
                        continue
                    if not named and key == "schema" and isinstance(value, Mapping | bool):
                        yield at, value
                    elif isinstance(value, Mapping | list) and not str(key).startswith("x-"):
                        child_named = (
                            not named and key in _NAMED_MAPS and isinstance(value, Mapping)
                        )
                        stack.append((value, at, child_named))
            elif isinstance(node, list):
                stack.extend(
                    (value, _join(pointer, index), False) for index, value in enumerate(node)
                )

    def _prepare(self) -> list[tuple[Any, str]]:
        """One walk before validation: bound the depth, read deviations, list the ``$ref``s.

        A ``null`` where a schema belongs becomes ``{}`` (any value), and in 3.0 ``type: "null"``
        becomes ``nullable`` (``type: ["x", "null"]`` becomes ``type: x, nullable: true``), each
        with a warning; the document is changed in place. Returns every ``$ref`` node with its
        pointer, to resolve once the document is known to be valid.
        """
        references: list[tuple[Any, str]] = []
        # (node, pointer, depth, whether its keys are names chosen by the author, not keywords)
        stack: list[tuple[Any, str, int, bool]] = [(self.document, "", 0, False)]
        while stack:
            node, pointer, depth, named = stack.pop()
            if depth > MAX_DEPTH:
                raise self.error(f"nested deeper than {MAX_DEPTH} levels", pointer)
            if isinstance(node, list):  # children pushed last first: popped in document order
                stack.extend(
                    (value, _join(pointer, index), depth + 1, False)
                    for index, value in reversed(list(enumerate(node)))
                    if isinstance(value, Mapping | list)
                )
                continue
            if not named:
                if isinstance(node.get("$ref"), str):
                    references.append((node, pointer))
                if self.version == "3.0" and "type" in node:
                    self._null_type(node, pointer)
            for key, value in reversed(self._members(node, pointer, named)):
                child_named = not named and key in _NAMED_MAPS and isinstance(value, Mapping)
                stack.append((value, _join(pointer, key), depth + 1, child_named))
        return references

    def _members(self, node: Any, pointer: str, named: bool) -> list[tuple[str, Any]]:
        """The members of ``node`` that are structure to walk, its ``null`` schemas made ``{}``."""
        members = []
        for key, value in node.items():
            if named:
                if value is None and pointer.endswith(("/properties", "/schemas")):
                    node[key] = self._null_schema(_join(pointer, key))
            elif key in _DATA_KEYWORDS or str(key).startswith("x-"):
                continue  # examples and defaults are data; extensions are anyone's
            elif key == "examples" and isinstance(value, list):
                continue
            elif value is None and key in _SCHEMA_KEYWORDS:
                node[key] = self._null_schema(_join(pointer, key))
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                for index, member in enumerate(value):
                    if member is None:
                        value[index] = self._null_schema(_join(pointer, key, index))
            if isinstance(value, Mapping | list):
                members.append((key, value))
        return members

    def _null_schema(self, pointer: str) -> dict[str, Any]:
        self.warn("a null schema: read as any value (typed Any)", pointer)
        return {}

    def _null_type(self, node: Any, pointer: str) -> None:
        """OpenAPI 3.0 has no ``type: "null"``; others read it as 3.1 does, and so does this."""
        kind = node["type"]
        kinds = kind if isinstance(kind, list) else [kind]
        if "null" not in kinds:
            return
        rest = [k for k in kinds if k != "null"]
        if len(rest) > 1:
            return  # a list of types is invalid in 3.0: validation names it
        self.warn(
            'type "null" is OpenAPI 3.1, not 3.0: read as nullable (3.0 says nullable: true)',
            _join(pointer, "type"),
        )
        node["nullable"] = True
        if rest:
            node["type"] = rest[0]
        else:
            del node["type"]
            node["enum"] = [None]

    def _validate_operations(self) -> None:
        seen_ids: dict[str, str] = {}
        for operation in self.operations():
            if operation.operation_id is not None:
                first = seen_ids.setdefault(operation.operation_id, operation.pointer)
                if first != operation.pointer:
                    raise self.error(
                        f"operationId {operation.operation_id!r} is also used at #{first}",
                        _join(operation.pointer, "operationId"),
                    )
            declared = {p.name for p in operation.parameters if p.location == "path"}
            for name in _PATH_TEMPLATE.findall(operation.path):
                if name not in declared:
                    raise self.error(
                        f"path parameter {name!r} of {operation.path!r} is not declared",
                        operation.pointer,
                    )


@cache
def _yaml_loader() -> type[Any]:
    """Safe YAML read by YAML 1.2's core schema rather than PyYAML's YAML 1.1 one.

    YAML 1.1 reads ``no``/``yes``/``on``/``off`` as booleans, ``12:30`` as the integer 750 and
    dates as ``datetime``: an enum ``[yes, no]`` or a property called ``on`` would change meaning.
    Here only ``true``/``false`` are booleans, integers are decimal, octal ``0o``, hex ``0x``, and
    timestamps stay strings (JSON, which OpenAPI documents are, has no dates).
    """
    yaml = require("yaml")
    base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc]
        """Safe YAML with YAML 1.2 core scalars."""

    replaced = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:timestamp"}
    Loader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag not in replaced]
        for key, resolvers in base.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        list("-+0123456789"),
    )
    Loader.add_constructor("tag:yaml.org,2002:int", _yaml_int)
    return Loader


def _yaml_int(loader: Any, node: Any) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)


def _plain(document: Any, *, source: str | None) -> Any:
    """A YAML document as JSON has it: string keys (YAML reads ``200:`` as an int), a tree.

    YAML aliases let a small file stand for an enormous tree (a "billion laughs"): the copy stops
    at :data:`MAX_NODES` objects and lists, and at :data:`MAX_DEPTH` levels and more.
    """
    root: list[Any] = [None]
    # (value to copy, the container to put the copy in, at which key or index, depth)
    stack: list[tuple[Any, Any, Any, int]] = [(document, root, 0, 0)]
    count = 0
    while stack:
        node, parent, slot, depth = stack.pop()
        if isinstance(node, dict):
            copy: Any = {}
            for key, value in node.items():
                name = key if isinstance(key, str) else json.dumps(key, default=str)
                copy[name] = None
                stack.append((value, copy, name, depth + 1))
        elif isinstance(node, list):
            copy = [None] * len(node)
            stack.extend((value, copy, index, depth + 1) for index, value in enumerate(node))
        else:
            parent[slot] = node
            continue
        count += 1
        if count > MAX_NODES or depth > 2 * MAX_DEPTH:
            limit = f"{MAX_NODES} objects and lists" if count > MAX_NODES else "nesting"
            raise SpecError(
                f"the document expands beyond the generator's bound ({limit}):"
                " YAML aliases or nesting out of all proportion",
                pointer="",
                source=source,
            )
        parent[slot] = copy
    return root[0]


def _ascii_json(data: bytes) -> bytes:
    """JSON ``data`` with every non-ASCII character written as its ``\\u`` escape: the same JSON.

    Python holds a string in 4 bytes a character once one character needs it (an emoji in one
    description): a 14 MB document would be decoded into a 56 MB string. Escaped, it stays 1 byte a
    character. Only the (few) characters found are rewritten; the search for them is ``bytes.find``
    per lead byte that occurs, as fast as memory.
    """
    if data.isascii():
        return data
    leads = {byte for byte in data.translate(None, _ASCII_BYTES) if byte >= 0xC0}
    positions: list[int] = []
    for lead in leads:
        needle, start = bytes((lead,)), 0
        while (found := data.find(needle, start)) != -1:
            positions.append(found)
            start = found + 1
    pieces: list[bytes] = []
    done = 0
    for position in sorted(positions):
        end = position + _UTF8_LENGTH[data[position] >> 4]
        try:
            character = data[position:end].decode("utf-8")
        except UnicodeDecodeError:
            data.decode("utf-8")  # the same error, with the byte's place in the whole file
            raise
        pieces += [data[done:position], json.dumps(character)[1:-1].encode("ascii")]
        done = end
    pieces.append(data[done:])
    escaped = b"".join(pieces)
    if not escaped.isascii():  # a continuation byte without its lead: not UTF-8
        data.decode("utf-8")  # the UnicodeDecodeError, with the byte's place in the file
    return escaped


def _refuse_lone_surrogates(document: Any, source: str | None) -> None:
    """A :class:`SpecError` at the first string holding half a surrogate pair (``"\\ud800"``).

    JSON's escapes can spell one; it is no Unicode character and cannot be written out as UTF-8.
    """
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        node, pointer = stack.pop()
        items: Any = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            at = _join(pointer, key)
            for text in (key, value):
                if isinstance(text, str) and _LONE_SURROGATE.search(text):
                    raise SpecError(
                        "a string holds a lone surrogate (half a UTF-16 pair): not Unicode text",
                        pointer=at,
                        source=source,
                    )
            if isinstance(value, dict | list):
                stack.append((value, at))


def _parse(data: bytes, *, source: str | None) -> Any:
    """The content of a YAML or JSON file; a :class:`SpecError` (never its text) if it is none."""
    if len(data) > MAX_BYTES:
        raise SpecError(
            f"{len(data)} bytes: larger than the {MAX_BYTES}-byte bound", pointer="", source=source
        )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        if data.lstrip()[:1] == b"{":
            try:
                return json.loads(_ascii_json(data))
            except json.JSONDecodeError as exc:
                raise SpecError(
                    f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                    pointer="",
                    source=source,
                ) from None
        yaml = require("yaml")
        text = data.decode("utf-8")
        try:
            loaded = yaml.load(text, Loader=_yaml_loader())
        except yaml.YAMLError as exc:
            # Only where and what kind: the message of a YAML error quotes the file's text.
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise SpecError(f"invalid YAML{where}: {problem}", pointer="", source=source) from None
        return _plain(loaded, source=source)
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start})", pointer="", source=source) from None
    except RecursionError:
        raise SpecError(
            f"nested deeper than the generator reads ({MAX_DEPTH} levels are allowed)",
            pointer="",
            source=source,
        ) from None
    except ValueError as exc:  # integers past Python's 4300 digits, in JSON and in YAML
        raise SpecError(f"a value cannot be read: {exc}", pointer="", source=source) from None


def parse_spec(
    data: bytes | str,
    *,
    source: str | None = None,
    validate: bool = True,
    base: Path | None = None,
    root: Path | None = None,
    strict: bool = False,
) -> Spec:
    """A :class:`Spec` from the bytes of a YAML or JSON document.

    ``$ref``s to other files are read relative to ``base`` (the document's own path), else to
    ``source``'s folder, and bundled in (see ``_bundle``); the hash then covers those files too.
    No ``$ref`` reads a file outside ``root`` (default: the document's folder) or through a
    symlink. ``strict`` makes every warning an error (see :class:`Spec`).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    sha256 = hashlib.sha256(raw).hexdigest()
    document = _parse(raw, source=source)
    if _SURROGATE_ESCAPE.search(raw):
        _refuse_lone_surrogates(document, source)
    if isinstance(document, dict) and _FILE_REF.search(raw):
        from common_clients.codegen._bundle import bundle

        path = base or Path(source or "openapi.yaml")
        hashes = bundle(document, path=path, source=source, parse=_parse, root=root)
        if hashes:
            sha256 = hashlib.sha256(" ".join([sha256, *hashes]).encode()).hexdigest()
    return Spec(document, source=source, sha256=sha256, validate=validate, strict=strict)


def load_spec(
    path: str | Path, *, validate: bool = True, root: Path | None = None, strict: bool = False
) -> Spec:
    """Read, parse and validate the OpenAPI document at ``path`` (YAML or JSON).

    Raises :class:`SpecError` (with the JSON pointer of the problem) for a document that is not
    valid OpenAPI 3.0/3.1, has a looping ``$ref``, cannot be parsed, or is past the bounds
    (:data:`MAX_BYTES`, :data:`MAX_DEPTH`). ``root`` and ``strict``: see :func:`parse_spec`.
    """
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            raise SpecError(
                f"{size} bytes: larger than the {MAX_BYTES}-byte bound",
                pointer="",
                source=str(path),
            )
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", pointer="", source=str(path)) from None
    return parse_spec(
        data, source=str(path), validate=validate, base=Path(path), root=root, strict=strict
    )
