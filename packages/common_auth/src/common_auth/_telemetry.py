"""Spans and counters of token verification and JWKS fetches, through the OpenTelemetry API.

- Each verification is a span ``auth.verify_token`` (INTERNAL) with ``commons.auth.verifier``
  (``jwt`` or ``introspection``), ``commons.auth.outcome`` and, when the token is refused,
  ``commons.auth.reason`` (the error's safe code), ``error.type`` and an error status. Nothing
  from the token goes on it: no token, no claim, no ``enduser.*`` attribute.
- Each JWKS fetch is a span ``auth.jwks_fetch``: CLIENT, with the HTTP attributes and its
  ``traceparent`` sent, or INTERNAL around httpx's own HTTP span when
  opentelemetry-instrumentation-httpx is on; ``commons.auth.jwks.result`` says how it went.
- ``commons.auth.verifications`` counts verifications by verifier and outcome: ``ok``, or the
  error class's reason (``expired``, ``bad_signature``, ``malformed``, ``unknown_kid``, ...),
  ``keys_unavailable``, ``introspection_failed``; ``commons.auth.jwks.fetches`` counts fetches by
  result: ``ok``, ``unreachable``, ``http_error``, ``invalid``. Both label sets are bounded.

With no SDK configured the spans do not record and the counters go nowhere.
"""

from __future__ import annotations

import contextlib
import sys
from contextvars import Token
from types import TracebackType
from typing import Any

import httpx
from opentelemetry import context, metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from common_auth.__about__ import __version__
from common_auth._errors import IntrospectionError, InvalidToken, KeySetUnavailable

__all__ = ["NO_TELEMETRY", "JWKSFetchTelemetry", "VerificationTelemetry"]

NO_TELEMETRY: contextlib.nullcontext[None] = contextlib.nullcontext()
"""What a verifier with ``telemetry = False`` records a verification with: nothing."""

_tracer = trace.get_tracer("common_auth", __version__)
_meter = metrics.get_meter("common_auth", __version__)
_verifications = _meter.create_counter(
    "commons.auth.verifications",
    unit="{token}",
    description="Access tokens verified, by verifier and outcome.",
)
_fetches = _meter.create_counter(
    "commons.auth.jwks.fetches",
    unit="{fetch}",
    description="JWKS fetches from the issuer, by result.",
)


def _httpx_instrumented() -> bool:
    """Whether opentelemetry-instrumentation-httpx makes httpx's HTTP spans (never imported
    here: nobody can have turned it on without importing it)."""
    module = sys.modules.get("opentelemetry.instrumentation.httpx")
    return module is not None and bool(
        module.HTTPXClientInstrumentor().is_instrumented_by_opentelemetry
    )


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, InvalidToken):
        return type(error).default_reason
    if isinstance(error, KeySetUnavailable):
        return "keys_unavailable"
    if isinstance(error, IntrospectionError):
        return "introspection_failed"
    return "error"


class _CurrentSpan:
    """A span made current for a ``with`` block, ended after it (only when it records)."""

    __slots__ = ("_token", "span")

    def __init__(self, name: str, kind: SpanKind) -> None:
        self.span = _tracer.start_span(name, kind=kind)
        self._token: Token[Context] | None = None

    def _enter(self) -> None:
        if self.span.is_recording():
            self._token = context.attach(trace.set_span_in_context(self.span))

    def _exit(self, attributes: dict[str, Any], failure: str | None) -> None:
        if self._token is None:
            return
        context.detach(self._token)
        self.span.set_attributes(attributes)
        if failure is not None:
            self.span.set_status(Status(StatusCode.ERROR, failure))
        self.span.end()


class VerificationTelemetry(_CurrentSpan):
    """The span and count of one verification; a context manager around it."""

    __slots__ = ("_verifier",)

    def __init__(self, verifier: str) -> None:
        super().__init__("auth.verify_token", SpanKind.INTERNAL)
        self._verifier = verifier

    def __enter__(self) -> VerificationTelemetry:
        self._enter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        outcome = _outcome(error)
        labels = {"commons.auth.verifier": self._verifier, "commons.auth.outcome": outcome}
        _verifications.add(1, labels)
        if self._token is None:
            return
        attributes: dict[str, Any] = dict(labels)
        failure = None
        if error is not None:
            failure = type(error).__name__
            attributes["error.type"] = failure
            reason = getattr(error, "reason", None)
            if isinstance(reason, str):
                attributes["commons.auth.reason"] = reason
        self._exit(attributes, failure)


class JWKSFetchTelemetry(_CurrentSpan):
    """The span and count of one JWKS fetch; a context manager around it."""

    __slots__ = ("_attributes", "_instrumented")

    def __init__(self, url: str) -> None:
        self._instrumented = _httpx_instrumented()
        super().__init__(
            "auth.jwks_fetch", SpanKind.INTERNAL if self._instrumented else SpanKind.CLIENT
        )
        parsed = httpx.URL(url)
        self._attributes: dict[str, Any] = {
            "http.request.method": "GET",
            "url.full": str(parsed.copy_with(query=None, fragment=None, username=None)),
            "server.address": parsed.host,
            "server.port": parsed.port or (443 if parsed.scheme == "https" else 80),
        }

    def __enter__(self) -> JWKSFetchTelemetry:
        self._enter()
        return self

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        """``headers`` with this fetch's ``traceparent`` (when it is the HTTP span)."""
        if self._token is not None and not self._instrumented:
            propagate.inject(headers)
        return headers

    def finished(self, outcome: httpx.Response | Exception, result: str, keys: int) -> None:
        """The fetch got ``outcome`` and came to ``result`` (with ``keys`` usable keys)."""
        _fetches.add(1, {"commons.auth.jwks.result": result})
        attributes = self._attributes
        attributes["commons.auth.jwks.result"] = result
        if isinstance(outcome, httpx.Response):
            attributes["http.response.status_code"] = outcome.status_code
        if result == "ok":
            attributes["commons.auth.jwks.keys"] = keys
        else:
            attributes["error.type"] = (
                type(outcome).__name__ if isinstance(outcome, Exception) else result
            )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is not None:
            self._attributes.setdefault("error.type", type(error).__name__)
        self._exit(self._attributes, self._attributes.get("error.type"))
