"""OpenTelemetry glue: common_utils' tracer, trace context in and out of carriers, and whether
OpenTelemetry's own instrumentation of a library is on.

Everything here goes through ``opentelemetry-api``: the global propagator (W3C TraceContext unless
the service configured another) and the global tracer provider. With no SDK configured the tracer
records nothing and exports nothing. This module is loaded on first use, not by ``import
common_utils``: importing OpenTelemetry's API costs tens of milliseconds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Literal

from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import Getter, TextMapPropagator
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from common_utils.__about__ import __version__

__all__ = [
    "Context",
    "attach",
    "detach",
    "extract",
    "inject",
    "is_instrumented",
    "records_spans",
    "span_ids",
    "trace_context_of",
    "tracer",
]

# A ProxyTracer: it follows the provider a service sets later, so taking it at import is safe.
tracer = trace.get_tracer("common_utils", __version__)

_W3C = TraceContextTextMapPropagator()

# Library -> (module, class) of OpenTelemetry's instrumentor for it.
_INSTRUMENTORS = {
    "django": ("opentelemetry.instrumentation.django", "DjangoInstrumentor"),
    "celery": ("opentelemetry.instrumentation.celery", "CeleryInstrumentor"),
    "httpx": ("opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor"),
}

attach = otel_context.attach
detach = otel_context.detach


def is_instrumented(library: Literal["django", "celery", "httpx"]) -> bool:
    """Whether OpenTelemetry's instrumentation of ``library`` is turned on in this process.

    An instrumentor that was never imported cannot have been turned on, so this imports nothing
    (and costs a dictionary lookup when the instrumentation is not installed or not used).
    """
    module_name, class_name = _INSTRUMENTORS[library]
    module = sys.modules.get(module_name)
    if module is None:
        return False
    instrumentor = getattr(module, class_name, None)
    # The instrumentors are singletons: calling the class returns the one that was turned on.
    return instrumentor is not None and bool(instrumentor().is_instrumented_by_opentelemetry)


_provider_set: list[bool] = []


def _provider_of_the_api() -> trace.TracerProvider | None:
    return trace._TRACER_PROVIDER


# The provider ``trace.set_tracer_provider`` set, or ``None`` while none is: read from the API
# module's global, as its own ``ProxyTracer`` does, since ``get_tracer_provider()`` looks into
# ``os.environ`` on every call while no provider is set (a missing key is a KeyError raised and
# caught: that was most of what the middleware cost a request beyond its cost before
# OpenTelemetry). A provider named by ``OTEL_PYTHON_TRACER_PROVIDER`` is in that global too: the
# ``get_tracer()`` above loaded it. Where the global is missing, the public function answers.
_global_provider: Callable[[], trace.TracerProvider | None] = (
    _provider_of_the_api if hasattr(trace, "_TRACER_PROVIDER") else trace.get_tracer_provider
)


def records_spans() -> bool:
    """Whether a tracer provider that records spans (an SDK's, typically) is set in this process.

    Without one every span is a no-op, so a library can skip its spans altogether: the request
    path then opens none, a client call makes none, and the caller's trace context passes
    through as it came. Cheaper than asking ``trace.get_tracer_provider()``, which looks into
    ``os.environ`` on every call while no provider is set; a provider named by
    ``OTEL_PYTHON_TRACER_PROVIDER`` counts once any tracer was asked for. A process sets its
    provider once, so a yes is kept.
    """
    if _provider_set:
        return True
    provider = _global_provider()
    if provider is None or isinstance(provider, (ProxyTracerProvider, NoOpTracerProvider)):
        return False
    _provider_set.append(True)
    return True


class _MappingGetter(Getter[Mapping[str, str]]):
    """Reads headers from a mapping of single values (Django's ``request.headers``, task headers):
    the API's default getter also accepts lists, at the cost of an ABC check per header."""

    def get(self, carrier: Mapping[str, str], key: str) -> list[str] | None:
        value = carrier.get(key)
        return None if value is None else [value]

    def keys(self, carrier: Mapping[str, str]) -> list[str]:
        return list(carrier)


# The WSGI names of the headers the W3C propagators read, made once.
_META_NAMES = {name: "HTTP_" + name.upper() for name in ("traceparent", "tracestate", "baggage")}


class _MetaGetter(Getter[Mapping[str, Any]]):
    """Reads headers from a WSGI/ASGI environment as Django keeps it (``request.META``:
    ``HTTP_TRACEPARENT``), without building ``request.headers`` (a dict of every header)."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        name = _META_NAMES.get(key) or "HTTP_" + key.upper().replace("-", "_")
        value = carrier.get(name)
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [k[5:].lower().replace("_", "-") for k in carrier if k.startswith("HTTP_")]


_GETTER = _MappingGetter()
_META_GETTER = _MetaGetter()

# The global propagator last looked at, and whether it is the default one.
_last_textmap: list[tuple[TextMapPropagator, bool]] = []


def _is_default(textmap: TextMapPropagator) -> bool:
    """Whether ``textmap`` is OpenTelemetry's default propagator: W3C TraceContext, then W3C
    Baggage (``OTEL_PROPAGATORS`` unset or ``tracecontext,baggage``).

    Then a carrier without a ``baggage`` header, or a context without baggage, needs only the
    TraceContext propagator, which is what every request and call of a service without baggage
    does: the composite and the baggage propagator cost more than the rest of the trace context's
    way through a request. Checked once per propagator object: a service that sets another
    propagator sets a new object.
    """
    if _last_textmap and _last_textmap[0][0] is textmap:
        return _last_textmap[0][1]
    # The composite keeps its propagators private; anything unexpected counts as "not the
    # default", which only takes the general path.
    parts = getattr(textmap, "_propagators", None)
    known = (
        type(textmap) is CompositePropagator
        and isinstance(parts, (list, tuple))
        and [type(part) for part in parts] == [TraceContextTextMapPropagator, W3CBaggagePropagator]
    )
    _last_textmap[:] = [(textmap, known)]
    return known


def extract(carrier: Mapping[str, str]) -> Context | None:
    """The trace context in ``carrier`` (headers) on top of the current context, or ``None``
    when it holds none or one the propagator ignores (malformed, all-zero ids)."""
    ctx = propagate.extract(carrier, context=otel_context.get_current(), getter=_GETTER)
    if not trace.get_current_span(ctx).get_span_context().is_valid:
        return None
    return ctx


def extract_from_meta(meta: Mapping[str, Any]) -> Context | None:
    """``extract()`` of the headers in a Django request's ``META`` (``HTTP_*`` keys)."""
    textmap = propagate.get_global_textmap()
    if _is_default(textmap) and "HTTP_BAGGAGE" not in meta:
        if "HTTP_TRACEPARENT" not in meta:
            return None  # the TraceContext propagator would find nothing to extract
        textmap = _W3C
    ctx = textmap.extract(meta, context=otel_context.get_current(), getter=_META_GETTER)
    if not trace.get_current_span(ctx).get_span_context().is_valid:
        return None
    return ctx


def inject(carrier: MutableMapping[str, str], ctx: Context | None = None) -> None:
    """Write the trace context of ``ctx`` (default: the current one) into ``carrier``."""
    textmap = propagate.get_global_textmap()
    if _is_default(textmap) and not baggage.get_all(ctx):
        textmap = _W3C
    textmap.inject(carrier, context=ctx)


def trace_context_of(traceparent: str) -> Context | None:
    """A context holding the caller's span of a W3C ``traceparent`` value, or ``None`` when the
    value is one W3C trace context says to ignore (the propagator decides, not our code)."""
    ctx = _W3C.extract({"traceparent": traceparent}, context=Context())
    if not trace.get_current_span(ctx).get_span_context().is_valid:
        return None
    return ctx


def span_ids(ctx: Context | None = None) -> tuple[str, str, int] | None:
    """``(trace_id, span_id, trace_flags)`` of the span current in ``ctx`` (default: the current
    context) as lowercase hex, or ``None`` when there is no valid span."""
    span_context = trace.get_current_span(ctx).get_span_context()
    if not span_context.is_valid:
        return None
    return (
        trace.format_trace_id(span_context.trace_id),
        trace.format_span_id(span_context.span_id),
        int(span_context.trace_flags),
    )
