"""Django REST framework glue (extra ``drf``): every API error as RFC 9457 problem details, and a
JSON parser with bounds on size and depth.

    REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "common_utils.drf.problem_exception_handler",
        "DEFAULT_PARSER_CLASSES": ["common_utils.drf.BoundedJSONParser"],
    }

The handler answers every ``APIException`` (and Django's ``Http404``, ``PermissionDenied`` and
``RequestDataTooBig``) as ``application/problem+json`` with the type ``problem_type(code)`` of the
exception's code (``not_found``, ``not_authenticated``, ``invalid_token``, ``insufficient_scope``,
``validation_error``, ``users_unavailable``...), keeping the ``WWW-Authenticate`` of a 401/403
and the ``Retry-After`` of an exception with ``wait``. A validation problem lists each field at
fault under ``errors`` as ``{"pointer": "#/quantity", "detail": "...", "code": "min_value"}``
(a JSON pointer into the request body, RFC 6901). An exception class may name its ``title`` and
extra members (``problem_extensions``).

`ProblemSerializer` documents the shape in OpenAPI (drf-spectacular), and
`problem_media_type_hook` (a ``POSTPROCESSING_HOOKS`` entry) gives the error responses it
documents their media type, ``application/problem+json``::

    @extend_schema(responses={200: OrderSerializer, 404: ProblemSerializer})
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import IO, Any, ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from common_utils._problems import Problem
from common_utils.django._problems import problem_response

__all__ = [
    "BoundedJSONParser",
    "NestingTooDeep",
    "PayloadTooLarge",
    "ProblemSerializer",
    "problem_exception_handler",
    "problem_media_type_hook",
]

# A JSON string (escapes included) or a bracket: the depth scan skips what strings hold.
_JSON_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


class PayloadTooLarge(exceptions.APIException):
    """413: the request body is larger than the parser accepts."""

    status_code = 413
    default_detail = "the request body is too large"
    default_code = "payload_too_large"


class NestingTooDeep(exceptions.ParseError):
    """400: the JSON body nests arrays and objects deeper than the parser accepts."""

    default_detail = "the JSON body is nested too deeply"
    default_code = "nesting_too_deep"


def _json_depth_exceeds(data: bytes, limit: int) -> bool:
    """Whether the JSON text nests arrays/objects deeper than ``limit`` (strings are skipped)."""
    depth = 0
    for match in _JSON_TOKENS.finditer(data):
        first = data[match.start()]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif first in _CLOSE:
            depth -= 1
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing a body over ``max_bytes`` (413, default Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``) or nested deeper than ``max_depth`` (400) before parsing it,
    so neither memory nor Python's recursion limit decides what happens."""

    max_depth: ClassVar[int] = 64
    max_bytes: ClassVar[int | None] = None

    def _limit(self) -> int | None:
        if self.max_bytes is not None:
            return self.max_bytes
        limit = getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
        return int(limit) if limit is not None else None

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = self._limit()
        request = (parser_context or {}).get("request")
        declared = getattr(request, "META", {}).get("CONTENT_LENGTH") if request else None
        if limit is not None and declared and str(declared).isdigit() and int(declared) > limit:
            raise PayloadTooLarge()
        data = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise PayloadTooLarge()
        if isinstance(data, str):
            data = data.encode()
        if _json_depth_exceeds(data, self.max_depth):
            raise NestingTooDeep(f"the JSON body nests deeper than {self.max_depth} levels")
        try:
            return json.loads(
                data, parse_constant=_reject_constant if api_settings.STRICT_JSON else None
            )
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None


def _pointer_part(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _field_errors(detail: Any, path: tuple[str, ...] = ()) -> Iterator[dict[str, str]]:
    """Each message of a validation error's detail with the JSON pointer of its field."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                yield from _field_errors(value, path)
            else:
                yield from _field_errors(value, (*path, _pointer_part(key)))
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            for item in detail:
                yield from _field_errors(item, path)
        else:
            for index, item in enumerate(detail):
                yield from _field_errors(item, (*path, str(index)))
    else:
        yield {
            "pointer": "#" + "".join(f"/{part}" for part in path),
            "detail": str(detail),
            "code": str(getattr(detail, "code", None) or "invalid"),
        }


def _problem(exc: exceptions.APIException) -> Problem:
    extensions: dict[str, Any] = dict(getattr(exc, "problem_extensions", None) or {})
    title = getattr(exc, "title", None)
    if isinstance(exc, exceptions.ValidationError) or not isinstance(exc.detail, str):
        errors = list(_field_errors(exc.detail))
        first = errors[0] if errors else None
        detail = "the request is not valid"
        if first is not None:
            where = first["pointer"].removeprefix("#/") or "the request"
            detail = f"{where}: {first['detail']}"
            if len(errors) > 1:
                detail += f" (and {len(errors) - 1} more)"
        code = "validation_error" if isinstance(exc, exceptions.ValidationError) else None
        codes = exc.get_codes()
        return Problem.of(
            code or (codes if isinstance(codes, str) else exc.default_code),
            exc.status_code,
            detail=detail,
            title=title,
            errors=errors,
            **extensions,
        )
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    return Problem.of(code, exc.status_code, detail=str(exc.detail), title=title, **extensions)


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> HttpResponse | None:
    """DRF's ``EXCEPTION_HANDLER``: the exception as problem details; ``None`` (a 500, answered by
    ``handler500``) for what is not an API error."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if not isinstance(exc, exceptions.APIException):
        return None
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = str(auth_header)
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait) if float(wait).is_integer() else wait)
    set_rollback()
    request = context.get("request")
    http_request = getattr(request, "_request", request)
    return problem_response(_problem(exc), http_request, headers=headers)


class ProblemSerializer(serializers.Serializer[Any]):
    """An RFC 9457 problem details document: the body of every error answer."""

    type = serializers.CharField(help_text="A URI naming the kind of error; branch on it.")
    title = serializers.CharField(help_text="A short summary of the kind of error.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(
        required=False, help_text="What went wrong this time, for a person."
    )
    instance = serializers.CharField(required=False, help_text="The path the error occurred on.")
    request_id = serializers.CharField(
        required=False, help_text="The request id, to find the request in the logs."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "errors" is a member of the document, but the name of a Serializer property too.
        fields = super().get_fields()
        fields["errors"] = serializers.ListField(
            child=serializers.DictField(child=serializers.CharField()),
            required=False,
            help_text="A validation error's fields at fault: pointer (RFC 6901), detail, code.",
        )
        return fields


def problem_media_type_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook: every 4xx/5xx response whose schema is
    `ProblemSerializer`'s is served as ``application/problem+json``, not the renderer's type."""
    reference = "#/components/schemas/Problem"
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content") if str(status)[:1] in "45" else None
                if not content:
                    continue
                for media_type in list(content):
                    if content[media_type].get("schema", {}).get("$ref") == reference:
                        content[Problem.MEDIA_TYPE] = content.pop(media_type)
    return result
