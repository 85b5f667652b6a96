"""A transport that plays a service as its OpenAPI document describes it, for consumers' tests.

:class:`DocumentTransport` reads a document (a path to its JSON or YAML, or the document as a
dict) and answers every request of a client built over it (``transport=``), sync or async:

- The request is checked against the document first: its path and method must be an operation,
  its path and query parameters declared and of their schema's type, required ones present, and
  its body present when required and of the request body's media type and schema. A request that
  does not match raises :class:`RequestMismatch` out of the client call, and is kept in
  :attr:`DocumentTransport.mismatches` for a test whose code under test swallows errors.
- The answer is the operation's first 2xx response: its example (``example``, the first of
  ``examples``, or the schema's ``example``), else a value built from its schema.
  :meth:`DocumentTransport.answer` sets another for an operation (by operationId): a status, a
  body (checked against the document's schema for that status unless ``check=False``), headers.
- Every matched call is recorded (:attr:`DocumentTransport.calls`).

Only references inside the document (``#/...``) are followed; a document is at most
``MAX_DOCUMENT_BYTES`` and schemas are followed at most ``MAX_DEPTH`` deep.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "Answer",
    "DocumentError",
    "DocumentTransport",
    "RecordedCall",
    "RequestMismatch",
]

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
"""The largest document file the transport reads."""
MAX_DEPTH = 64
"""How deep schemas (and references) are followed when building a value."""

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_JSON_MEDIA = re.compile(r"^application/([\w.+-]+\+)?json$")


class DocumentError(ValueError):
    """The document cannot be read or used, or the transport was asked for something it does not
    hold (an unknown operationId, a status the operation does not document); says what and
    where."""


class RequestMismatch(AssertionError):
    """A request that the document does not allow: a test failure, naming the request and what
    of it the document does not describe.

    An :class:`AssertionError` on purpose, not a :class:`~common_clients.errors.ClientError`: code
    under test that handles the client's errors does not handle this one, so the test fails.
    """


@dataclass(frozen=True)
class Answer:
    """What the transport answers for an operation: ``status``, ``body`` (JSON-able data, or
    bytes sent as they are), extra ``headers``."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedCall:
    """One request the transport answered: its operation, parameters and body as decoded."""

    operation_id: str
    request: httpx.Request
    path_params: dict[str, str]
    query: dict[str, list[str]]
    body: Any


@dataclass
class _Operation:
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    pointer: str  # JSON pointer of the operation object
    parameters: dict[tuple[str, str], dict[str, Any]]  # (in, name) -> parameter object
    body: dict[str, Any] | None  # the resolved requestBody object
    responses: dict[str, dict[str, Any]]  # status -> the resolved response object


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _load(document: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    if isinstance(document, Mapping):
        return _copied(document, "<document>"), "<document>"
    path = Path(document)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read the document: {exc.strerror}") from None
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{path}: {size} bytes, more than the {MAX_DOCUMENT_BYTES} allowed")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise DocumentError(f"{path}: not JSON: {exc}") from None
        except RecursionError:
            raise DocumentError(f"{path}: nested too deep to read") from None
    else:
        try:
            import yaml
        except ImportError:
            raise DocumentError(
                f"{path}: reading YAML needs the testing extra:"
                " pip install 'common-clients[testing]'"
            ) from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise DocumentError(f"{path}: not YAML: {exc}") from None
        except RecursionError:
            raise DocumentError(f"{path}: nested too deep to read") from None
    if not isinstance(loaded, dict):
        raise DocumentError(f"{path}: expected a mapping at the top, got {type(loaded).__name__}")
    return loaded, str(path)


def _copied(node: Any, source: str) -> dict[str, Any]:
    """A copy of the document's mappings and lists, refused past ``4 * MAX_DEPTH`` levels."""

    def copy_of(value: Any, depth: int) -> Any:
        if depth > 4 * MAX_DEPTH:
            raise DocumentError(f"{source}: nested more than {4 * MAX_DEPTH} deep")
        if isinstance(value, Mapping):
            return {key: copy_of(item, depth + 1) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [copy_of(item, depth + 1) for item in value]
        return value

    copied: dict[str, Any] = copy_of(node, 0)
    return copied


class _Document:
    """The document with its references followed and its schemas as JSON Schema validators."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source
        version = str(data.get("openapi", ""))
        if not version.startswith("3."):
            raise DocumentError(f"{source}: not an OpenAPI 3 document (openapi: {version!r})")
        self.v30 = version.startswith("3.0")
        try:
            import jsonschema_rs
        except ImportError:
            raise DocumentError(
                "common_clients.testing needs the testing extra: "
                "pip install 'common-clients[testing]'"
            ) from None
        self._jsonschema = jsonschema_rs
        # One converted copy per direction: a readOnly property is never required of a request,
        # a writeOnly one never of an answer.
        self._roots = {
            "request": self._json_schema_tree(data, "readOnly"),
            "response": self._json_schema_tree(data, "writeOnly"),
        }
        self._validators: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def resolve(self, node: Any, where: str) -> tuple[Any, str]:
        """``node`` with its ``$ref`` chain followed; the pointer of what it resolved to."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#"):
                raise DocumentError(
                    f"{self.source}: {where}: $ref {ref!r} leaves the document"
                    " (only #/... references are followed)"
                )
            if ref in seen or len(seen) > MAX_DEPTH:
                raise DocumentError(f"{self.source}: {where}: $ref {ref!r} refers to itself")
            seen.add(ref)
            node = self.pointer(ref, where)
            where = ref[1:]
        return node, where

    def pointer(self, ref: str, where: str) -> Any:
        node: Any = self.data
        for token in ref[1:].split("/")[1:]:
            key = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise DocumentError(f"{self.source}: {where}: $ref {ref!r} points to nothing")
        return node

    def _json_schema_tree(self, data: dict[str, Any], hidden: str) -> dict[str, Any]:
        """The document with each schema as JSON Schema 2020-12 says it (OpenAPI 3.0's
        ``nullable`` and boolean ``exclusiveMinimum``), ``hidden`` properties not required."""

        def convert(node: Any, depth: int) -> Any:
            if depth > 4 * MAX_DEPTH:
                raise DocumentError(f"{self.source}: nested more than {4 * MAX_DEPTH} deep")
            if isinstance(node, list):
                return [convert(item, depth + 1) for item in node]
            if not isinstance(node, dict):
                return node
            out = {key: convert(value, depth + 1) for key, value in node.items()}
            if self.v30 and out.get("nullable") is True:
                del out["nullable"]
                kind = out.get("type")
                if isinstance(kind, str):
                    out["type"] = [kind, "null"]
                    if "enum" in out:
                        out["enum"] = [*out["enum"], None]
                elif "type" not in out:
                    out = {"anyOf": [out, {"type": "null"}]}
            if self.v30:
                for bound, limit in (
                    ("exclusiveMinimum", "minimum"),
                    ("exclusiveMaximum", "maximum"),
                ):
                    if out.get(bound) is True and limit in out:
                        out[bound] = out.pop(limit)
                    elif out.get(bound) is False:
                        del out[bound]
            properties = out.get("properties")
            required = out.get("required")
            if isinstance(properties, dict) and isinstance(required, list):
                out["required"] = [
                    name
                    for name in required
                    if not (isinstance(properties.get(name), dict) and properties[name].get(hidden))
                ]
            return out

        converted: dict[str, Any] = convert(data, 0)
        return converted

    def errors(self, pointer: str, direction: str, instance: Any) -> list[str]:
        """What of ``instance`` does not match the schema at ``pointer`` (empty: it matches)."""
        key = (pointer, direction)
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                root = {**self._roots[direction], "$ref": "#" + quote(pointer, safe="/~-._")}
                root.pop("$schema", None)
                root.pop("$id", None)
                try:
                    validator = self._jsonschema.Draft202012Validator(root)
                except (ValueError, self._jsonschema.ValidationError) as exc:
                    message = str(exc).splitlines()[0]
                    raise DocumentError(
                        f"{self.source}: {pointer}: not a usable schema: {message}"
                    ) from None
                self._validators[key] = validator
        found = []
        for error in validator.iter_errors(instance):
            path = "/" + "/".join(str(part) for part in error.instance_path)
            found.append(f"at {path}: {error.message}")
            if len(found) >= 10:
                break
        return found


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^{}/]+\})", template)
    regex = "".join(
        f"(?P<p{i}>[^/]+)" if part.startswith("{") else re.escape(part)
        for i, part in enumerate(parts)
    )
    # Any prefix: the client's base URL may carry a path of its own (a gateway's /users).
    return re.compile(f"^(?:/.*?)?{regex}$")


class DocumentTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport (sync and async) that answers as ``document`` says; see the module.

    ``document`` is a path to the OpenAPI document (JSON, or YAML with the ``testing`` extra) or
    the document itself as a dict.
    """

    def __init__(self, document: str | Path | Mapping[str, Any]) -> None:
        data, source = _load(document)
        self._document = _Document(data, source)
        self.title = str((data.get("info") or {}).get("title") or source)
        self._operations = self._read_operations()
        self._by_id = {operation.operation_id: operation for operation in self._operations}
        self._answers: dict[str, Answer | Callable[[RecordedCall], Answer]] = {}
        self._lock = threading.Lock()
        self.calls: list[RecordedCall] = []
        """Every request answered, in order."""
        self.mismatches: list[RequestMismatch] = []
        """Every request refused, in order (each was also raised)."""

    # -- what a test does ---------------------------------------------------------------------

    @property
    def operation_ids(self) -> list[str]:
        """The document's operations, in its order."""
        return [operation.operation_id for operation in self._operations]

    def answer(
        self,
        operation_id: str,
        *,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        check: bool = True,
        respond: Callable[[RecordedCall], Answer] | None = None,
    ) -> None:
        """Answer ``operation_id`` with ``status`` (its first 2xx when left out) and ``body``
        (the document's example or a built value when left out) from now on.

        With ``check`` (the default) the status must be one the operation documents and the
        body must match its schema, so a test cannot rely on an answer the service never gives;
        ``check=False`` allows one (a misbehaving service). ``respond`` computes the answer from
        each call instead.
        """
        operation = self._operation(operation_id)
        if respond is not None:
            with self._lock:
                self._answers[operation_id] = respond
            return
        chosen = status if status is not None else self._default_status(operation)
        response = self._response_for(operation, chosen)
        if response is None and check:
            documented = ", ".join(operation.responses) or "none"
            raise DocumentError(
                f"{operation_id}: status {chosen} is not documented (documented: {documented});"
                " pass check=False to answer it anyway"
            )
        if body is None and response is not None:
            body = self._example(operation, chosen, response)
        elif check and response is not None and not isinstance(body, bytes):
            pointer = self._media_pointer(operation, chosen, response)
            if pointer is not None:
                errors = self._document.errors(pointer, "response", body)
                if errors:
                    raise DocumentError(
                        f"{operation_id}: the {chosen} body does not match the document's schema"
                        f" ({pointer}): {'; '.join(errors)}; pass check=False to answer it anyway"
                    )
        with self._lock:
            self._answers[operation_id] = Answer(status=chosen, body=body, headers=headers or {})

    def reset(self) -> None:
        """Forget the answers set, the calls and the mismatches."""
        with self._lock:
            self._answers.clear()
            self.calls.clear()
            self.mismatches.clear()

    def calls_to(self, operation_id: str) -> list[RecordedCall]:
        """The calls of one operation, in order."""
        self._operation(operation_id)
        return [call for call in self.calls if call.operation_id == operation_id]

    def example(self, operation_id: str, status: int | None = None) -> Any:
        """The body the transport answers ``operation_id`` with by default (for assertions)."""
        operation = self._operation(operation_id)
        chosen = status if status is not None else self._default_status(operation)
        response = self._response_for(operation, chosen)
        if response is None:
            raise DocumentError(f"{operation_id}: status {chosen} is not documented")
        return self._example(operation, chosen, response)

    # -- httpx ----------------------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._handle(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._handle(request)

    # -- the work -------------------------------------------------------------------------------

    def _handle(self, request: httpx.Request) -> httpx.Response:
        try:
            call = self._match(request)
        except RequestMismatch as mismatch:
            with self._lock:
                self.mismatches.append(mismatch)
            raise
        operation = self._by_id[call.operation_id]
        with self._lock:
            self.calls.append(call)
            chosen = self._answers.get(call.operation_id)
        if callable(chosen):
            answer = chosen(call)
        elif chosen is not None:
            answer = chosen
        else:
            status = self._default_status(operation)
            response = self._response_for(operation, status)
            body = None if response is None else self._example(operation, status, response)
            answer = Answer(status=status, body=body)
        return self._response(operation, answer, request)

    def _response(
        self, operation: _Operation, answer: Answer, request: httpx.Request
    ) -> httpx.Response:
        headers = dict(answer.headers)
        if answer.body is None:
            return httpx.Response(answer.status, headers=headers, request=request)
        if isinstance(answer.body, bytes):
            return httpx.Response(
                answer.status, headers=headers, content=answer.body, request=request
            )
        if not any(name.lower() == "content-type" for name in headers):
            response = self._response_for(operation, answer.status)
            media = next(
                (m for m in (response or {}).get("content") or {} if _JSON_MEDIA.match(m)),
                "application/json",
            )
            headers["Content-Type"] = media
        content = json.dumps(answer.body, separators=(",", ":")).encode()
        return httpx.Response(answer.status, headers=headers, content=content, request=request)

    def _mismatch(self, request: httpx.Request, what: str) -> RequestMismatch:
        return RequestMismatch(
            f"{request.method} {request.url.path}: {what} ({self.title}, {self._document.source})"
        )

    def _match(self, request: httpx.Request) -> RecordedCall:
        operation, path_params = self._find_operation(request)
        query: dict[str, list[str]] = {}
        for name, value in request.url.params.multi_items():
            query.setdefault(name, []).append(value)
        self._check_parameters(request, operation, query)
        body = self._check_body(request, operation)
        return RecordedCall(
            operation_id=operation.operation_id,
            request=request,
            path_params=path_params,
            query=query,
            body=body,
        )

    def _find_operation(self, request: httpx.Request) -> tuple[_Operation, dict[str, str]]:
        """The operation of the request's path and method, and its path parameters."""
        path = request.url.path
        method = request.method.lower()
        methods: set[str] = set()
        for operation in self._operations:
            matched = operation.pattern.match(path)
            if matched is None:
                continue
            names = re.findall(r"\{([^{}/]+)\}", operation.template)
            values = dict(zip(names, matched.groups(), strict=True))
            if any(not self._param_fits(operation, "path", n, [v]) for n, v in values.items()):
                continue
            if operation.method == method:
                return operation, values
            methods.add(operation.method.upper())
        if methods:
            allowed = ", ".join(sorted(methods))
            raise self._mismatch(request, f"the document has no {request.method} here ({allowed})")
        raise self._mismatch(request, "no operation of the document has this path")

    def _check_parameters(
        self, request: httpx.Request, operation: _Operation, query: dict[str, list[str]]
    ) -> None:
        """Every query parameter declared, required query and header ones present, each of its
        schema's type."""
        declared = {name for where, name in operation.parameters if where == "query"}
        unknown = sorted(set(query) - declared)
        if unknown:
            raise self._mismatch(
                request,
                f"{operation.operation_id}: unknown query parameter(s) {', '.join(unknown)}"
                f" (declared: {', '.join(sorted(declared)) or 'none'})",
            )
        for (where, name), parameter in operation.parameters.items():
            if where not in ("query", "header"):
                continue
            values = query.get(name) if where == "query" else request.headers.get_list(name)
            if not values:
                if parameter.get("required"):
                    raise self._mismatch(
                        request,
                        f"{operation.operation_id}: the {where} parameter {name} is required",
                    )
                continue
            if not self._param_fits(operation, where, name, values):
                raise self._mismatch(
                    request,
                    f"{operation.operation_id}: the {where} parameter {name}={values!r} does not"
                    " match its schema",
                )

    def _check_body(self, request: httpx.Request, operation: _Operation) -> Any:
        content = request.content
        name = operation.operation_id
        if operation.body is None:
            if content:
                raise self._mismatch(request, f"{name}: the operation takes no body")
            return None
        if not content:
            if operation.body.get("required"):
                raise self._mismatch(request, f"{name}: the request body is required")
            return None
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        media = operation.body.get("content") or {}
        if media_type not in media:
            raise self._mismatch(
                request,
                f"{name}: body of type {media_type or 'unknown'!r}; the document takes"
                f" {', '.join(media) or 'none'}",
            )
        if not _JSON_MEDIA.match(media_type):
            return content
        try:
            body = json.loads(content)
        except ValueError:
            raise self._mismatch(request, f"{name}: the body is not JSON") from None
        if "schema" in media[media_type]:
            pointer = f"{operation.pointer}/requestBody/content/{_escape(media_type)}/schema"
            _, resolved = self._document.resolve(operation.body, f"{operation.pointer}/requestBody")
            if resolved != f"{operation.pointer}/requestBody":
                pointer = f"{resolved}/content/{_escape(media_type)}/schema"
            errors = self._document.errors(pointer, "request", body)
            if errors:
                raise self._mismatch(
                    request, f"{name}: the body does not match the document: {'; '.join(errors)}"
                )
        return body

    def _param_fits(self, operation: _Operation, where: str, name: str, values: list[str]) -> bool:
        parameter = operation.parameters.get((where, name))
        if parameter is None:
            return where != "path"
        schema, _ = self._document.resolve(parameter.get("schema") or {}, operation.pointer)
        kind = schema.get("type") if isinstance(schema, dict) else None
        if kind == "array":
            items, _ = self._document.resolve(schema.get("items") or {}, operation.pointer)
            item_kind = items.get("type") if isinstance(items, dict) else None
            return all(_text_fits(item_kind, items, value) for value in values)
        if len(values) > 1:
            return False
        return _text_fits(kind, schema if isinstance(schema, dict) else {}, values[0])

    # -- reading the document -------------------------------------------------------------------

    def _read_operations(self) -> list[_Operation]:
        document = self._document
        paths = document.data.get("paths") or {}
        if not isinstance(paths, dict):
            raise DocumentError(f"{document.source}: /paths is not a mapping")
        operations: list[_Operation] = []
        for template, raw_item in paths.items():
            where = f"/paths/{_escape(template)}"
            item, _ = document.resolve(raw_item, where)
            if not isinstance(item, dict):
                raise DocumentError(f"{document.source}: {where} is not a mapping")
            shared = item.get("parameters") or []
            for method in _METHODS:
                raw = item.get(method)
                if raw is None:
                    continue
                pointer = f"{where}/{method}"
                if not isinstance(raw, dict):
                    raise DocumentError(f"{document.source}: {pointer} is not a mapping")
                operation_id = raw.get("operationId") or f"{method} {template}"
                parameters: dict[tuple[str, str], dict[str, Any]] = {}
                for index, parameter in enumerate([*shared, *(raw.get("parameters") or [])]):
                    resolved, _ = document.resolve(parameter, f"{pointer}/parameters/{index}")
                    if isinstance(resolved, dict) and "name" in resolved and "in" in resolved:
                        location = str(resolved["in"])
                        name = str(resolved["name"])
                        parameters[(location, name.lower() if location == "header" else name)] = (
                            resolved
                        )
                body = None
                if raw.get("requestBody") is not None:
                    body, _ = document.resolve(raw["requestBody"], f"{pointer}/requestBody")
                responses = {}
                for status, response in (raw.get("responses") or {}).items():
                    resolved, _ = document.resolve(response, f"{pointer}/responses/{status}")
                    responses[str(status)] = resolved
                operations.append(
                    _Operation(
                        operation_id=str(operation_id),
                        method=method,
                        template=str(template),
                        pattern=_template_pattern(str(template)),
                        pointer=pointer,
                        parameters=parameters,
                        body=body,
                        responses=responses,
                    )
                )
        # Literal paths before templated ones: /users/me/ is not /users/{id}/.
        operations.sort(key=lambda operation: operation.template.count("{"))
        seen: set[str] = set()
        for operation in operations:
            if operation.operation_id in seen:
                raise DocumentError(
                    f"{document.source}: operationId {operation.operation_id!r} is used twice"
                )
            seen.add(operation.operation_id)
        return operations

    def _operation(self, operation_id: str) -> _Operation:
        try:
            return self._by_id[operation_id]
        except KeyError:
            known = ", ".join(sorted(self._by_id))
            raise DocumentError(
                f"{self._document.source}: no operation {operation_id!r} (known: {known})"
            ) from None

    @staticmethod
    def _default_status(operation: _Operation) -> int:
        for status in sorted(operation.responses):
            if status.isdigit() and status.startswith("2"):
                return int(status)
        return 200

    @staticmethod
    def _response_for(operation: _Operation, status: int) -> dict[str, Any] | None:
        responses = operation.responses
        return (
            responses.get(str(status))
            or responses.get(f"{str(status)[0]}XX")
            or responses.get("default")
        )

    def _media_pointer(
        self, operation: _Operation, status: int, response: dict[str, Any]
    ) -> str | None:
        content = response.get("content") or {}
        media = next((m for m in content if _JSON_MEDIA.match(m)), None)
        if media is None or "schema" not in content[media]:
            return None
        key = next(
            k for k in (str(status), f"{str(status)[0]}XX", "default") if k in operation.responses
        )
        raw = self._document.pointer(f"#{operation.pointer}/responses/{_escape(key)}", "")
        _, base = self._document.resolve(raw, f"{operation.pointer}/responses/{_escape(key)}")
        return f"{base}/content/{_escape(media)}/schema"

    def _example(self, operation: _Operation, status: int, response: dict[str, Any]) -> Any:
        content = response.get("content") or {}
        media = next((m for m in content if _JSON_MEDIA.match(m)), None)
        if media is None:
            return None
        entry = content[media] or {}
        if "example" in entry:
            return copy.deepcopy(entry["example"])
        examples = entry.get("examples") or {}
        for example in examples.values():
            resolved, _ = self._document.resolve(example, operation.pointer)
            if isinstance(resolved, dict) and "value" in resolved:
                return copy.deepcopy(resolved["value"])
        if "schema" not in entry:
            return None
        pointer = self._media_pointer(operation, status, response)
        return _Builder(self._document).build(entry["schema"], pointer or operation.pointer, 0)


def _text_fits(kind: Any, schema: dict[str, Any], text: str) -> bool:
    """Whether a parameter's text is of its schema's type (and among its enum, if any)."""
    value: Any = text
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            return False
        value = int(text)
    elif kind == "number":
        try:
            value = float(text)
        except ValueError:
            return False
    elif kind == "boolean":
        if text not in ("true", "false"):
            return False
        value = text == "true"
    enum = schema.get("enum")
    return not enum or value in enum or text in [str(item) for item in enum]


_FORMATS: dict[str, Any] = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
}


def _stated(schema: dict[str, Any]) -> tuple[Any] | tuple[()]:
    """The value a schema states itself (example, default, const, first enum value), if any."""
    for key in ("example", "default", "const"):
        if key in schema:
            return (schema[key],)
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return (examples[0],)
    if schema.get("enum"):
        return (next((v for v in schema["enum"] if v is not None), None),)
    return ()


class _Builder:
    """A value that matches a schema: its example, default or enum, else the simplest one."""

    def __init__(self, document: _Document) -> None:
        self.document = document
        self.active: list[str] = []

    def build(self, schema: Any, where: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise DocumentError(
                f"{self.document.source}: {where}: schemas nest deeper than {MAX_DEPTH}"
            )
        if not isinstance(schema, dict):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in self.active:  # a cycle: the optional parts stop here
                return None
            self.active.append(ref)
            try:
                resolved, pointer = self.document.resolve(schema, where)
                return self.build(resolved, pointer, depth + 1)
            finally:
                self.active.pop()
        stated = _stated(schema)
        if stated:
            return copy.deepcopy(stated[0])
        if any(isinstance(schema.get(key), list) for key in ("oneOf", "anyOf", "allOf")):
            return self._composed(schema, where, depth)
        return self._typed(schema, where, depth)

    def _composed(self, schema: dict[str, Any], where: str, depth: int) -> Any:
        """The first non-null choice of ``oneOf``/``anyOf``; ``allOf``'s parts merged."""
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                choices = [
                    c for c in schema[key] if not (isinstance(c, dict) and c.get("type") == "null")
                ]
                return self.build((choices or schema[key])[0], f"{where}/{key}/0", depth + 1)
        merged: dict[str, Any] = {}
        for index, part in enumerate(schema.get("allOf") or []):
            value = self.build(part, f"{where}/allOf/{index}", depth + 1)
            if isinstance(value, dict):
                merged.update(value)
            elif value is not None:
                return value
        rest = {k: v for k, v in schema.items() if k not in ("allOf", "oneOf", "anyOf")}
        if rest.get("properties"):
            merged.update(self._object(rest, where, depth))
        return merged

    def _typed(self, schema: dict[str, Any], where: str, depth: int) -> Any:
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if kind == "object" or (kind is None and "properties" in schema):
            return self._object(schema, where, depth)
        if kind == "array":
            count = int(schema.get("minItems") or 1)
            item = self.build(schema.get("items") or {}, f"{where}/items", depth + 1)
            if item is None and not schema.get("minItems"):
                return []
            return [copy.deepcopy(item) for _ in range(count)]
        simple: dict[str, Callable[[], Any]] = {
            "string": lambda: self._string(schema),
            "integer": lambda: self._number(schema, "integer"),
            "number": lambda: self._number(schema, "number"),
            "boolean": lambda: True,
        }
        if kind in simple:
            return simple[kind]()
        return {} if kind is None else None

    def _object(self, schema: dict[str, Any], where: str, depth: int) -> dict[str, Any]:
        value: dict[str, Any] = {}
        required = set(schema.get("required") or [])
        for name, child in (schema.get("properties") or {}).items():
            if isinstance(child, dict) and child.get("writeOnly"):
                continue
            if name not in required and self._nullable(child, where):
                # null, not an example: a link to a next page would otherwise never end.
                value[name] = None
                continue
            built = self.build(child, f"{where}/properties/{_escape(name)}", depth + 1)
            if built is None and name not in required:
                continue  # a cycle cut here, or a schema that admits only null
            value[name] = built
        return value

    def _nullable(self, schema: Any, where: str) -> bool:
        resolved, _ = self.document.resolve(schema, where)
        if not isinstance(resolved, dict):
            return False
        kind = resolved.get("type")
        choices = [*(resolved.get("anyOf") or []), *(resolved.get("oneOf") or [])]
        return (
            resolved.get("nullable") is True
            or (isinstance(kind, list) and "null" in kind)
            or any(isinstance(c, dict) and c.get("type") == "null" for c in choices)
        )

    @staticmethod
    def _string(schema: dict[str, Any]) -> str:
        text = str(_FORMATS.get(str(schema.get("format")), "string"))
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            # The simplest texts that common patterns (numbers, codes, slugs) admit.
            for candidate in (text, "1", "1.00", "a", "A", "a-1", "A1", "x" * 8):
                try:
                    if re.search(pattern, candidate):
                        return candidate
                except re.error:
                    break
        minimum = int(schema.get("minLength") or 0)
        maximum = schema.get("maxLength")
        if len(text) < minimum:
            text = text + "x" * (minimum - len(text))
        if isinstance(maximum, int) and len(text) > maximum:
            text = text[:maximum]
        return text

    @staticmethod
    def _number(schema: dict[str, Any], kind: str) -> int | float:
        low = schema.get("minimum")
        high = schema.get("maximum")
        exclusive_low = schema.get("exclusiveMinimum")
        value: float = 1
        if isinstance(low, int | float):
            value = low + (1 if exclusive_low is True else 0)
        elif isinstance(exclusive_low, int | float) and not isinstance(exclusive_low, bool):
            value = exclusive_low + 1
        if isinstance(high, int | float) and value > high:
            value = high
        return int(value) if kind == "integer" else float(value)
