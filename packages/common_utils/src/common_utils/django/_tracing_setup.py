"""Tracing of a service's processes: OpenTelemetry's SDK set up from the environment, when it asks.

Off unless an OTLP endpoint is given (``OTEL_EXPORTER_OTLP_ENDPOINT``, or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` for traces alone); ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` keeps it off even then. Off, nothing of the SDK is imported: the
common-* packages' spans go to OpenTelemetry's no-op provider and cost next to nothing.

On, each process that calls `configure_tracing` (``wsgi.py`` for gunicorn's workers, the Celery
app's module for a worker or the outbox relay) installs one global tracer provider: its resource
names the service (``OTEL_SERVICE_NAME``, else the name the service passes; more from
``OTEL_RESOURCE_ATTRIBUTES``), and a batch span processor (``OTEL_BSP_*``) sends the spans to the
OTLP/HTTP exporter (``OTEL_EXPORTER_OTLP_*``: endpoint, headers, timeout, compression).
OpenTelemetry's httpx instrumentation makes a span of every call the process makes, and in the
web process its Django instrumentation one of every request it serves; the common-* packages add
their own spans and attributes to the same traces, and W3C ``traceparent`` headers carry them from
one service to the next. The SDK, its exporter and the instrumentations are the ``tracing`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from common_utils._errors import TracingConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["configure_tracing", "tracing_requested"]

# The traces' own variable first: the SDK's exporter prefers it too.
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
_DISABLED_INSTRUMENTATIONS = "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"


def tracing_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``environ`` (default ``os.environ``) asks for tracing.

    Raises `TracingConfigError` when it asks for what `configure_tracing` cannot do: another
    exporter than ``otlp`` or another protocol than OTLP over HTTP with protobuf.
    """
    return _requested_by(os.environ if environ is None else environ) is not None


def _requested_by(environ: Mapping[str, str]) -> str | None:
    """``VARIABLE='value'`` of the endpoint that asks for tracing, or ``None`` when it is off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return None
    if exporter not in ("", "otlp"):
        raise TracingConfigError(
            f"OTEL_TRACES_EXPORTER={exporter!r}: traces are exported with 'otlp' (OTLP over HTTP) "
            "or not at all ('none')"
        )
    for variable in _PROTOCOL_VARIABLES:
        protocol = environ.get(variable, "").strip()
        if protocol not in ("", "http/protobuf"):
            raise TracingConfigError(
                f"{variable}={protocol!r}: traces are sent with OTLP over HTTP ('http/protobuf')"
            )
    for variable in _ENDPOINT_VARIABLES:
        endpoint = environ.get(variable, "").strip()
        if endpoint:
            return f"{variable}={endpoint!r}"
    return None


@contextmanager
def _from_the_extra(requested_by: str) -> Iterator[None]:
    """Turn an import that fails inside into `TracingConfigError` naming what asked for tracing."""
    try:
        yield
    except ImportError as exc:
        raise TracingConfigError(
            f"{requested_by} asks for tracing, but {exc.name or 'a module of it'} cannot be "
            f"imported ({exc}): install common-utils[tracing]"
        ) from exc


def configure_tracing(
    service_name: str,
    *,
    instrument_django: bool = False,
    environ: Mapping[str, str] | None = None,
) -> TracerProvider | None:
    """Set this process's tracing up as the environment asks; its tracer provider, or ``None``
    when tracing is off. A second call keeps the provider the first one installed.

    ``service_name`` is the resource's ``service.name`` unless ``OTEL_SERVICE_NAME`` or
    ``OTEL_RESOURCE_ATTRIBUTES`` give one. ``instrument_django`` adds OpenTelemetry's Django
    middleware (the web process): call it before the WSGI application is made, since Django reads
    ``MIDDLEWARE`` then. ``environ`` (default ``os.environ``) decides whether tracing is on and
    which instrumentations ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` turns off; once on, the SDK
    reads the rest of its settings from ``os.environ``, as it always does.

    Raises `TracingConfigError` for an empty ``service_name``, an environment asking for another
    exporter or protocol than OTLP over HTTP, and tracing asked for without the ``tracing`` extra.
    """
    if not isinstance(service_name, str) or not service_name.strip():
        raise TracingConfigError(
            f"configure_tracing: service_name={service_name!r}: expected the service's name"
        )
    environ = os.environ if environ is None else environ
    requested_by = _requested_by(environ)
    if requested_by is None:
        return None
    # As opentelemetry-instrument reads it: "django,httpx" leaves the spans to the common-*
    # packages alone (their request, client and auth spans), the cheaper choice.
    disabled = {name.strip() for name in environ.get(_DISABLED_INSTRUMENTATIONS, "").split(",")}
    with _from_the_extra(requested_by):
        provider = _tracer_provider(service_name)
    if "httpx" not in disabled:
        with _from_the_extra(requested_by):
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        if not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry:
            HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    if instrument_django and "django" not in disabled:
        with _from_the_extra(requested_by):
            from opentelemetry.instrumentation.django import DjangoInstrumentor
        if not DjangoInstrumentor().is_instrumented_by_opentelemetry:
            DjangoInstrumentor().instrument(tracer_provider=provider)
    return provider


def _tracer_provider(service_name: str) -> TracerProvider:
    """The process's SDK tracer provider: the one installed already, else a new one exporting
    over OTLP/HTTP, installed as the global provider."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        return provider
    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    # Without either, the SDK names the service "unknown_service:<executable>".
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    provider = TracerProvider(resource=resource)  # flushed and shut down at exit
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider
