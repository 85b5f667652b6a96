"""Resource classes from OpenAPI operations: the ``resources/*.py`` and ``_client.py`` of a client.

Operations are grouped by their first tag into resources (``client.pets``; untagged ones into
``client.default``), each a module holding four classes side by side: ``Pets`` and ``AsyncPets``
(the operations, sync and async, over one runtime) and ``PetsWithRawResponse`` and
``AsyncPetsWithRawResponse`` (the same calls returning :class:`~common_clients.RawResponse`).

How an operation maps (decisions a reader of generated code should know):

- the method is named from the operationId, less its tag's prefix (``pets_partial_update`` in tag
  ``pets`` is ``client.pets.partial_update``); without an operationId, from method and path;
- every parameter is keyword-only and keeps its spec name in snake_case; path, query, header and
  cookie parameters are typed from their schemas, required ones first; the body is ``body``
  (a model for JSON, form and multipart bodies; ``bytes`` or ``str`` for other media types);
- the return type is the union of the JSON models of the 2xx responses (``| None`` when one has no
  body); binary responses are ``bytes`` (a file download), text responses ``str``;
- a GET whose response has ``next`` and ``results`` and whose query has DRF's ``page``,
  ``limit``/``offset`` or ``cursor`` returns a page (``SyncPage[Item]`` / ``AsyncPager[Item]``)
  that iterates across every page;
- an operation the API deprecates is ``@deprecated`` (type checkers flag its callers, calls warn);
- every method ends with ``**options: Unpack[RequestOptions]`` (timeout, max_retries,
  extra_headers, extra_query, idempotency_key).

Nothing is dropped silently: an operation the emitter cannot express raises a
:class:`~common_clients.codegen.SpecError` naming it.
"""

from __future__ import annotations

import builtins
import json
import keyword
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common_clients.codegen._names import NameAllocator, field_name, pascal_case, snake_case
from common_clients.codegen._source import docstring, literal_source, sort_all
from common_clients.codegen._spec import MediaType, Operation, Parameter, Spec
from common_clients.codegen._types import ModelEmitter

__all__ = [
    "RUNTIME_NAMES",
    "OperationsEmitter",
    "Resource",
    "plan_resources",
]

# Names the generated modules bind besides models: no model, resource or client may take them.
RUNTIME_NAMES = frozenset(
    {
        "AsyncClient",
        "AsyncPage",
        "AsyncPager",
        "CursorPagination",
        "LimitOffsetPagination",
        "PageNumberPagination",
        "RawResponse",
        "RequestOptions",
        "SyncClient",
        "SyncPage",
        "Unpack",
        "ClassVar",
        "builtins",
        "cached_property",
        "deprecated",
        "path_param",
        "AsyncRawMethod",
        "RawMethod",
    }
)
# Attributes of the runtime clients: a resource attribute never shadows one.
_CLIENT_ATTRIBUTES = frozenset(
    {
        "aclose",
        "base_url",
        "close",
        "headers",
        "max_retries",
        "request",
        "request_page",
        "retry_policy",
        "service_name",
        "telemetry",
        "timeout",
        "url_templates",
        "with_raw_response",
    }
)
_METHOD_RESERVED = frozenset({"with_raw_response"})
# Names a method body uses besides its parameters, and the method's own fixed parameters.
_PARAMETER_RESERVED = frozenset(
    {"self", "body", "options", "builtins", "cast", "path_param", "result", *keyword.kwlist}
)
# Builtins an annotation may use; a method of the same name (``list``) would shadow them in the
# class body, so annotations there spell them ``builtins.list``.
_ANNOTATION_BUILTINS = frozenset({"bool", "bytes", "dict", "float", "int", "list", "str"})
_JSON = re.compile(r"^application/([\w.+-]*\+)?json\b|^\*/\*$", re.IGNORECASE)
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_LOCATION_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}


@dataclass
class Resource:
    """The operations of one tag: ``client.<attribute>`` is a ``<class_name>``."""

    tag: str
    attribute: str
    class_name: str
    operations: list[Operation] = field(default_factory=list)

    @property
    def class_names(self) -> tuple[str, str, str, str]:
        """The four classes of the resource module."""
        name = self.class_name
        return name, f"Async{name}", f"{name}WithRawResponse", f"Async{name}WithRawResponse"


def client_names(service: str) -> tuple[str, str, str, str]:
    """The four classes of a service's client module: ``<Service>Client``,
    ``Async<Service>Client`` and their ``...WithRawResponse`` views. A service whose names would
    be the runtime's that the module imports (``sync``: ``SyncClient``; ``Async``:
    ``AsyncClient``) gets ``<Service>ServiceClient`` and so on instead."""
    base = pascal_case(service) or "Service"
    for client in (base, f"{base}Service"):
        names = (
            f"{client}Client",
            f"Async{client}Client",
            f"{client}ClientWithRawResponse",
            f"Async{client}ClientWithRawResponse",
        )
        if not RUNTIME_NAMES & set(names):
            break
    return names


def plan_resources(spec: Spec, reserved: Iterable[str] = ()) -> list[Resource]:
    """The resources of ``spec``, in order of first appearance, each with its operations; no
    resource class takes a runtime name or one of ``reserved`` (the client's classes)."""
    by_tag: dict[str, Resource] = {}
    attributes = NameAllocator(style="snake", reserved=_CLIENT_ATTRIBUTES)
    classes = NameAllocator(style="pascal")
    taken: set[str] = set(RUNTIME_NAMES) | set(reserved)
    for operation in spec.operations():
        tag = operation.tags[0] if operation.tags else "default"
        resource = by_tag.get(tag)
        if resource is None:
            attribute = attributes.allocate(snake_case(tag) or "default")
            # The four class names of a resource come as a set (``Pets``, ``AsyncPets``...): the
            # first numbered base whose four names are all free (tags ``pets``, ``async pets``).
            base = classes.make(tag)
            class_name, number = base, 1
            while taken & set(Resource(tag, attribute, class_name).class_names):
                number += 1
                class_name = f"{base}{number}"
            resource = Resource(tag=tag, attribute=attribute, class_name=class_name)
            taken.update(resource.class_names)
            by_tag[tag] = resource
        resource.operations.append(operation)
    return list(by_tag.values())


@dataclass
class _Param:
    name: str
    wire: str
    location: str
    annotation: str
    required: bool
    description: str | None


@dataclass
class _Method:
    name: str
    operation: Operation
    doc: str
    params: list[_Param]
    body_annotation: str | None
    body_required: bool
    body_kind: str
    body_media_type: str
    return_annotation: str
    cast_to: str
    expect: str
    page_model: str | None = None
    item_annotation: str | None = None
    pagination: str | None = None

    @property
    def operation_label(self) -> str:
        return _operation_label(self.operation)


def _operation_label(operation: Operation) -> str:
    """What a call names its operation by: its operationId, else its method and path."""
    return operation.operation_id or f"{operation.method.upper()} {operation.path}"


def _is_json(media_type: str) -> bool:
    return bool(_JSON.match(media_type.strip()))


def _method_name(operation: Operation, tag: str) -> str:
    if operation.operation_id:
        name = snake_case(operation.operation_id)
        prefix = snake_case(tag)
        if prefix and name.startswith(prefix + "_") and len(name) > len(prefix) + 1:
            name = name[len(prefix) + 1 :]
    else:
        name = snake_case(f"{operation.method} {operation.path}")
    name = name or operation.method
    if name[0].isdigit():
        name = f"op_{name}"
    if keyword.iskeyword(name) or name in _METHOD_RESERVED:
        name = f"{name}_"
    return name


class OperationsEmitter:
    """Writes the resource modules and the client module of one service.

    ``package`` is the dotted name of the service package (``common_clients_users``); ``service``
    names the service in the user agent; ``models`` is the model emitter whose names the
    operations use (call :meth:`resource_module` for every resource before rendering models, so
    that the models of inline schemas exist).
    """

    def __init__(self, spec: Spec, models: ModelEmitter, *, package: str, service: str) -> None:
        self._spec = spec
        self._models = models
        self._package = package
        self._service = service
        self.client_names = client_names(service)
        self.resources = plan_resources(spec, reserved=self.client_names)

    @staticmethod
    def reserved_names(spec: Spec, service: str) -> set[str]:
        """Names models must not take: resource, client and runtime names of the modules."""
        clients = client_names(service)
        names = set(RUNTIME_NAMES) | set(clients)
        for resource in plan_resources(spec, reserved=clients):
            names.update(resource.class_names)
        return names

    # -- methods ---------------------------------------------------------------------------------

    def _methods(self, resource: Resource) -> list[_Method]:
        # Method names may be builtins' (``list``), which the field-style allocator would avoid.
        taken: set[str] = set(_METHOD_RESERVED)
        methods = []
        for operation in resource.operations:
            wanted = name = _method_name(operation, resource.tag)
            number = 1
            while name in taken:
                number += 1
                name = f"{wanted}_{number}"
            taken.add(name)
            methods.append(self._method(name, operation))
        return methods

    def _method(self, name: str, operation: Operation) -> _Method:
        hint = pascal_case(operation.operation_id or f"{operation.method} {operation.path}")
        params = self._params(operation, hint)
        body_annotation, body_required, body_kind, body_media = self._body(operation, hint)
        returned, cast_to, expect, json_schema = self._response(operation, hint)
        method = _Method(
            name=name,
            operation=operation,
            doc=self._doc(operation, params),
            params=params,
            body_annotation=body_annotation,
            body_required=body_required,
            body_kind=body_kind,
            body_media_type=body_media,
            return_annotation=returned,
            cast_to=cast_to,
            expect=expect,
        )
        self._paginate(method, json_schema, hint)
        return method

    def _params(self, operation: Operation, hint: str) -> list[_Param]:
        names = NameAllocator(style="snake", reserved=_PARAMETER_RESERVED)
        params = []
        ordered = sorted(
            operation.parameters,
            key=lambda p: (not p.required, _LOCATION_ORDER.get(p.location, 9)),
        )
        for parameter in ordered:
            schema = self._parameter_schema(parameter)
            annotation = self._models.type_for(
                schema,
                name_hint=f"{hint} {parameter.name}",
                direction="request",
                pointer=parameter.pointer,
            )
            params.append(
                _Param(
                    name=names.allocate(field_name(parameter.name)),
                    wire=parameter.name,
                    location=parameter.location,
                    annotation=annotation,
                    required=parameter.required or parameter.location == "path",
                    description=parameter.description,
                )
            )
        return params

    def _parameter_schema(self, parameter: Parameter) -> Any:
        if parameter.schema is not None:
            return parameter.schema
        for media in parameter.content:
            return media.schema
        return None

    def _body(self, operation: Operation, hint: str) -> tuple[str | None, bool, str, str]:
        body = operation.request_body
        if body is None or not body.content:
            return None, False, "json", ""
        media = _pick_request_media(body.content)
        kind = media.media_type.lower()
        if _is_json(kind):
            body_kind = "json"
        elif kind.startswith(_FORM):
            body_kind = "form"
        elif kind.startswith(_MULTIPART):
            body_kind = "multipart"
        else:
            annotation = "str" if kind.startswith("text/") else "bytes"
            return annotation, body.required, "content", media.media_type
        annotation = self._models.type_for(
            media.schema, name_hint=f"{hint} body", direction="request", pointer=media.pointer
        )
        return annotation, body.required, body_kind, media.media_type

    def _response(self, operation: Operation, hint: str) -> tuple[str, str, str, Any]:
        """Return annotation, ``cast_to`` source, ``expect`` and the JSON schema (if one)."""
        success = [r for r in operation.responses if r.status[:1] == "2"]
        if not success:
            success = [r for r in operation.responses if r.status == "default"]
        empty = any(not response.content for response in success)
        medias = [_pick_response_media(r.content) for r in success if r.content]
        if not medias:
            return "None", "None", "none", None
        json_medias = [media for media in medias if _is_json(media.media_type)]
        label = operation.operation_id or f"{operation.method.upper()} {operation.path}"
        if not json_medias:
            kinds = {
                "text"
                if m.media_type.lower().startswith("text/") and not _binary(m.schema)
                else "bytes"
                for m in medias
            }
            if len(kinds) > 1:
                raise self._spec.error(
                    f"operation {label!r} answers text and binary success bodies;"
                    " one client method cannot type both",
                    operation.pointer,
                )
            expect = kinds.pop()
            annotation = "str" if expect == "text" else "bytes"
            returned = f"{annotation} | None" if empty else annotation
            return returned, returned, expect, None
        if len(json_medias) != len(medias):
            raise self._spec.error(
                f"operation {label!r} answers both JSON and non-JSON success bodies;"
                " one client method cannot type both",
                operation.pointer,
            )
        annotations: list[str] = []
        for media in json_medias:
            annotation = self._models.type_for(
                media.schema,
                name_hint=f"{hint} response",
                direction="response",
                pointer=media.pointer,
            )
            if annotation not in annotations:
                annotations.append(annotation)
        if "Any" in annotations:
            annotations = ["Any"]
        union = " | ".join(annotations)
        returned = f"{union} | None" if empty and union != "Any" else union
        single = len(annotations) == 1 and not empty
        return returned, returned, "json", json_medias[0].schema if single else None

    def _paginate(self, method: _Method, schema: Any, hint: str) -> None:
        if method.operation.method != "get" or schema is None or method.expect != "json":
            return
        properties = self._models.properties_of(schema)
        if not {"next", "results"} <= properties.keys():
            return
        results, _ = self._spec.resolve(properties["results"])
        if not isinstance(results, Mapping) or "items" not in results:
            return
        query = {p.wire for p in method.params if p.location == "query"}
        if "cursor" in query:
            pagination = "CursorPagination()"
        elif {"limit", "offset"} <= query:
            pagination = "LimitOffsetPagination()"
        elif "page" in query:
            pagination = "PageNumberPagination()"
        else:
            return
        method.pagination = pagination
        method.page_model = method.return_annotation
        method.item_annotation = self._models.type_for(
            results["items"], name_hint=f"{hint} item", direction="response"
        )

    def _doc(self, operation: Operation, params: Sequence[_Param]) -> str:
        parts = [operation.summary or "", operation.description or ""]
        text = "\n\n".join(part.strip() for part in parts if part and part.strip())
        if not text:
            text = f"``{operation.method.upper()} {operation.path}``."
        else:
            text += f"\n\n``{operation.method.upper()} {operation.path}``."
        if operation.deprecated:
            text += "\n\nDeprecated: the API marks this operation as deprecated."
        described = [p for p in params if p.description and p.description.strip()]
        if described:
            lines = ["", "Parameters:"]
            for param in described:
                first = " ".join((param.description or "").split())
                lines.append(f"    {param.name}: {first}")
            text += "\n" + "\n".join(lines)
        return text

    # -- rendering -------------------------------------------------------------------------------

    def resource_module(self, resource: Resource, *, header: str) -> str:
        """The source of ``resources/<attribute>.py`` (not yet formatted)."""
        methods = self._methods(resource)
        annotations: list[str] = []
        for method in methods:
            annotations += [p.annotation for p in method.params]
            annotations += [method.body_annotation or "", method.return_annotation]
            annotations.append(method.item_annotation or "")
        code = re.sub(r"'[^']*'|\"[^\"]*\"", "", " ".join(annotations))  # names, not literals
        used = set(re.findall(r"[A-Za-z_]\w*", code))
        shadowing = {m.name for m in methods} & _ANNOTATION_BUILTINS & used
        runtime = {"AsyncClient", "AsyncRawMethod", "RawMethod", "RequestOptions", "SyncClient"}
        if any(m.operation.path.find("{") >= 0 for m in methods):
            runtime.add("path_param")
        for method in methods:
            if method.pagination:
                runtime.update({"AsyncPager", "SyncPage", method.pagination.split("(")[0]})
        sync_name, async_name, raw_name, async_raw_name = resource.class_names
        body = [
            self._resource_class(sync_name, raw_name, methods, shadowing, asynchronous=False),
            self._raw_class(raw_name, sync_name, methods, asynchronous=False),
            self._resource_class(async_name, async_raw_name, methods, shadowing, asynchronous=True),
            self._raw_class(async_raw_name, async_name, methods, asynchronous=True),
        ]
        source = [docstring(header, "").rstrip("\n"), ""]
        if any(_shadows_builtin(p.name) for m in methods for p in m.params):
            source += ["# Parameters keep the API's names, some of which are Python builtins' too."]
            source += ["# ruff: noqa: A002", ""]
        # Import order is left to ruff's isort (run over every generated file).
        source += ["from __future__ import annotations", ""]
        if shadowing:
            source.append("import builtins")
        source += ["from functools import cached_property", "from typing import Unpack"]
        if any(m.operation.deprecated for m in methods):
            source.append("from typing_extensions import deprecated")
        if "return cast(" in "".join(body):
            source.append("from typing import cast")
        source += self._models.imports_for(annotations, models_module=f"{self._package}.models")
        public = runtime - _GENERATED_RUNTIME
        source.append(f"from common_clients import {', '.join(sort_all(public))}")
        generated = sort_all(runtime & _GENERATED_RUNTIME)
        source.append(f"from common_clients.runtime import {', '.join(generated)}")
        exported = [sync_name, async_name, raw_name, async_raw_name]
        source += ["", f"__all__ = {sort_all(exported)!r}", "", ""]
        return "\n".join(source) + "\n" + "\n\n".join(body)

    def _resource_class(
        self,
        name: str,
        raw_name: str,
        methods: Sequence[_Method],
        shadowing: set[str],
        *,
        asynchronous: bool,
    ) -> str:
        client_type = "AsyncClient" if asynchronous else "SyncClient"
        tag = self._tag_doc(methods)
        lines = [f"class {name}:\n", docstring(tag, "    "), "\n"]
        lines.append(f"    def __init__(self, client: {client_type}) -> None:\n")
        lines.append("        self._client = client\n\n")
        lines.append("    @cached_property\n")
        lines.append(f"    def with_raw_response(self) -> {raw_name}:\n")
        lines.append(
            '        """The same calls, returning the HTTP response beside the result."""\n'
        )
        lines.append(f"        return {raw_name}(self)\n")
        for method in methods:
            lines.append("\n")
            lines.append(self._render_method(method, shadowing, asynchronous=asynchronous))
        return "".join(lines)

    def _tag_doc(self, methods: Sequence[_Method]) -> str:
        tag = methods[0].operation.tags[0] if methods[0].operation.tags else "default"
        for entry in self._spec.document.get("tags") or []:
            if isinstance(entry, Mapping) and entry.get("name") == tag and entry.get("description"):
                return f"Operations tagged ``{tag}``: {entry['description']}"
        return f"Operations tagged ``{tag}``."

    def _raw_class(
        self, name: str, resource_name: str, methods: Sequence[_Method], *, asynchronous: bool
    ) -> str:
        wrap = "AsyncRawMethod" if asynchronous else "RawMethod"
        lines = [f"class {name}:\n"]
        lines.append(docstring(f"``{resource_name}``'s calls returning a ``RawResponse``.", "    "))
        lines.append("\n")
        lines.append(f"    def __init__(self, resource: {resource_name}) -> None:\n")
        lines.append("        self._resource = resource\n\n")
        lines += [f"    {m.name} = {wrap}({resource_name}.{m.name})\n" for m in methods]
        return "".join(lines)

    def _render_method(self, method: _Method, shadowing: set[str], *, asynchronous: bool) -> str:
        def annotate(annotation: str) -> str:
            if not shadowing:
                return annotation
            names = "|".join(sorted(shadowing))
            return re.sub(rf"(?<![\w.'\"])({names})\b(?!['\"])", r"builtins.\1", annotation)

        paginated = method.pagination is not None
        if paginated:
            item = method.item_annotation or "Any"
            returned = f"AsyncPager[{item}]" if asynchronous else f"SyncPage[{item}]"
        else:
            returned = method.return_annotation
        is_async = asynchronous and not paginated
        define = "async def" if is_async else "def"
        signature = ", ".join(self._signature(method, annotate))
        lines = [
            *(
                [f"    @deprecated({literal_source(_deprecation(method))})\n"]
                if method.operation.deprecated
                else []
            ),
            f"    {define} {method.name}({signature}) -> {annotate(returned)}:\n",
            docstring(method.doc, "        "),
        ]
        arguments = self._arguments(method)
        if paginated:
            arguments += [f"page_model={method.page_model}", f"pagination={method.pagination}"]
            arguments.append("**options")
            lines.append(f"        return self._client.request_page({', '.join(arguments)})\n")
            return "".join(lines)
        if method.expect == "json":
            arguments.append(f"cast_to={method.cast_to}")
        else:
            arguments.append(f"expect={literal_source(method.expect)}")
        arguments.append("**options")
        call = f"{'await ' if is_async else ''}self._client.request({', '.join(arguments)})"
        if method.return_annotation == "None":
            lines.append(f"        {call}\n")
        elif len(f"        result: {annotate(returned)} = await self._client.request(") <= 100:
            lines.append(f"        result: {annotate(returned)} = {call}\n")
            lines.append("        return result\n")
        else:  # a name too long to annotate a variable with inside the line length
            target = literal_source(annotate(returned))
            if len(target) > 84:  # ruff can split an expression, never a string
                target = annotate(returned)
            lines.append(f"        return cast({target}, {call})\n")
        return "".join(lines)

    def _signature(self, method: _Method, annotate: Callable[[str], str]) -> list[str]:
        signature = ["self", "*"]
        for param in method.params:
            if param.required:
                signature.append(f"{param.name}: {annotate(param.annotation)}")
            else:
                signature.append(f"{param.name}: {annotate(_optional(param.annotation))} = None")
        if method.body_annotation is not None:
            annotation = annotate(method.body_annotation)
            if method.body_required:
                signature.append(f"body: {annotation}")
            else:
                signature.append(f"body: {_optional(annotation)} = None")
        if len(signature) == 2:  # a bare * cannot precede **options
            signature.pop()
        signature.append("**options: Unpack[RequestOptions]")
        return signature

    def _arguments(self, method: _Method) -> list[str]:
        """The runtime call's arguments up to the response handling."""
        # The path goes inline: a local variable could shadow a parameter of the same name.
        arguments = [literal_source(method.operation.method.upper()), self._path_source(method)]
        arguments.append(f"operation={literal_source(method.operation_label)}")
        content_type = (
            [f'"Content-Type": {literal_source(method.body_media_type)}']
            if method.body_kind == "content" and method.body_annotation
            else []
        )
        for location, argument, extra in (
            ("query", "params", []),
            ("header", "headers", content_type),
            ("cookie", "cookies", []),
        ):
            entries = [
                f"{literal_source(p.wire)}: {p.name}"
                for p in method.params
                if p.location == location
            ]
            entries += extra
            if entries:
                arguments.append(f"{argument}={{{', '.join(entries)}}}")
        if method.body_annotation is not None:
            arguments.append("body=body")
            if method.body_kind != "json":
                arguments.append(f"body_kind={literal_source(method.body_kind)}")
        return arguments

    def _path_source(self, method: _Method) -> str:
        by_wire = {p.wire: p.name for p in method.params if p.location == "path"}
        template = method.operation.path
        pieces: list[str] = []
        position = 0
        for match in re.finditer(r"\{([^{}]+)\}", template):
            pieces.append(_fstring_text(template[position : match.start()]))
            wire = match.group(1)
            if wire not in by_wire:
                raise self._spec.error(
                    f"path parameter {wire!r} of {method.operation_label!r} is not declared",
                    method.operation.pointer,
                )
            pieces.append(f"{{path_param({by_wire[wire]})}}")
            position = match.end()
        pieces.append(_fstring_text(template[position:]))
        text = "".join(pieces)
        if "{path_param(" not in text:
            return literal_source(template)
        if len(text) <= 80:
            return f'f"{text}"'
        # Too long for one line: implicitly concatenated pieces, cut after a "/", so that ruff
        # keeps them apart and no line but an unbreakable one passes the line length.
        chunks: list[str] = []
        for segment in re.split(r"(?<=/)", text):
            if chunks and len(chunks[-1]) + len(segment) <= 80:
                chunks[-1] += segment
            else:
                chunks.append(segment)
        quoted = [
            f'f"{c}"' if "{path_param(" in c else f'"{c}"'.replace("{{", "{").replace("}}", "}")
            for c in chunks
            if c
        ]
        return "(\n" + "\n".join(quoted) + "\n)"

    def client_module(self, *, header: str) -> str:
        """The source of ``_client.py``: the service client, sync and async, with raw access."""
        sync_client, async_client, sync_raw, async_raw = self.client_names
        imports: dict[str, list[str]] = {}
        for resource in self.resources:
            imports[f"{self._package}.resources.{resource.attribute}"] = sort_all(
                resource.class_names[:2]
            )
        source = [docstring(header, "").rstrip("\n"), "", "from __future__ import annotations", ""]
        source += ["from functools import cached_property", "from typing import ClassVar", ""]
        source.append("from common_clients import AsyncClient, SyncClient")
        for module in sorted(imports):
            source.append(f"from {module} import {', '.join(imports[module])}")
        source += ["", f"__all__ = {sort_all(list(self.client_names))!r}", ""]
        templates = {
            _operation_label(operation): operation.path
            for resource in self.resources
            for operation in resource.operations
        }
        if templates:
            source += [
                "# Each operation's path template: its calls' spans are named"
                " ``{method} {template}``.",
                "_URL_TEMPLATES = {",
                *(f"    {_dict_entry(k, v)}" for k, v in templates.items()),
                "}",
                "",
            ]
        source.append("")
        title = self._spec.title or self._service
        classes = []
        for name, base, raw, asynchronous in (
            (sync_client, "SyncClient", sync_raw, False),
            (async_client, "AsyncClient", async_raw, True),
        ):
            usage = "async with" if asynchronous else "with"
            doc = (
                f"{'Async client' if asynchronous else 'Client'} of {title}.\n\n"
                f"``{usage} {name}(base_url=..., auth=...) as client:`` then"
                f" ``client.<resource>.<operation>(...)``."
            )
            lines = [f"class {name}({base}):\n", docstring(doc, "    "), "\n"]
            lines.append(f"    service_name: ClassVar[str] = {literal_source(self._service)}\n")
            if templates:
                lines.append("    url_templates: ClassVar[dict[str, str]] = _URL_TEMPLATES\n")
            lines.append("\n    @cached_property\n")
            lines.append(f"    def with_raw_response(self) -> {raw}:\n")
            lines.append(
                '        """Every call, returning the HTTP response beside the result."""\n'
            )
            lines.append(f"        return {raw}(self)\n")
            for resource in self.resources:
                cls = resource.class_names[1 if asynchronous else 0]
                lines.append("\n    @cached_property\n")
                lines.append(f"    def {resource.attribute}(self) -> {cls}:\n")
                lines.append(docstring(f"Operations tagged ``{resource.tag}``.", "        "))
                lines.append(f"        return {cls}(self)\n")
            classes.append("".join(lines))
            raw_lines = [f"class {raw}:\n"]
            raw_lines.append(
                docstring(
                    f"``{name}``'s resources, their calls returning a ``RawResponse``.", "    "
                )
            )
            raw_lines.append("\n")
            raw_lines.append(f"    def __init__(self, client: {name}) -> None:\n")
            if not self.resources:
                raw_lines.append("        self._client = client\n")
            raw_lines += [
                f"        self.{r.attribute} = client.{r.attribute}.with_raw_response\n"
                for r in self.resources
            ]
            classes.append("".join(raw_lines))
        return "\n".join(source) + "\n" + "\n\n".join(classes)

    def resources_init(self, *, header: str) -> str:
        """The source of ``resources/__init__.py``, re-exporting every resource class."""
        source = [docstring(header, "").rstrip("\n"), ""]
        names: list[str] = []
        for resource in sorted(self.resources, key=lambda r: r.attribute):
            classes = sort_all(resource.class_names)
            names += classes
            source.append(
                f"from {self._package}.resources.{resource.attribute} import {', '.join(classes)}"
            )
        source += ["", f"__all__ = {sort_all(names)!r}", ""]
        return "\n".join(source)

    def package_init(self, *, header: str) -> str:
        """The source of the service package's ``__init__.py``."""
        exported = sort_all(list(self.client_names))
        doc = (
            f"{header}\n\n``from {self._package} import {self.client_names[0]}``; the models are"
            f" in ``{self._package}.models``."
        )
        return (
            docstring(doc, "")
            + f"\nfrom {self._package}._client import {', '.join(exported)}\n\n"
            + f"__all__ = {exported!r}\n"
        )


# Names generated code takes from common_clients.runtime (the rest come from common_clients).
_GENERATED_RUNTIME = frozenset({"AsyncRawMethod", "RawMethod", "path_param"})


def _deprecation(method: _Method) -> str:
    label = method.operation_label
    return f"{label} is deprecated by the API." if len(label) <= 60 else "Deprecated by the API."


def _dict_entry(key: str, value: str) -> str:
    """``key: value,`` as an entry of a dict literal at one indent: a value too long for the line
    in parentheses, cut after a "/" into pieces ruff keeps apart where they would not fit."""
    key_source, value_source = literal_source(key), literal_source(value)
    if len(key_source) + len(value_source) <= 90:
        return f"{key_source}: {value_source},"
    pieces: list[str] = []
    for segment in re.split(r"(?<=/)", value):
        if pieces and len(pieces[-1]) + len(segment) <= 72:
            pieces[-1] += segment
        else:
            pieces.append(segment)
    joined = "\n".join(literal_source(piece) for piece in pieces if piece)
    return f"{key_source}: (\n{joined}\n),"


def _optional(annotation: str) -> str:
    if annotation == "Any" or annotation.endswith("| None"):
        return annotation
    return f"{annotation} | None"


def _shadows_builtin(name: str) -> bool:
    return hasattr(builtins, name)


def _binary(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("format") in ("binary", "byte")


def _fstring_text(text: str) -> str:
    """``text`` as the body of a double-quoted f-string: every character escaped that needs it."""
    return json.dumps(text)[1:-1].replace("{", "{{").replace("}", "}}")


def _pick_request_media(content: Sequence[MediaType]) -> MediaType:
    for accept in (_is_json, lambda m: m.startswith(_FORM), lambda m: m.startswith(_MULTIPART)):
        for media in content:
            if accept(media.media_type.lower()):
                return media
    return content[0]


def _pick_response_media(content: Sequence[MediaType]) -> MediaType:
    for media in content:
        if _is_json(media.media_type.lower()):
            return media
    return content[0]
