"""Tracing of the users service: the OpenTelemetry SDK, set up when the environment asks.

Off unless an OTLP endpoint is given (``OTEL_EXPORTER_OTLP_ENDPOINT``, or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` for traces alone); ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` keeps it off even then. Off, nothing here is imported but this
module: the common-* packages' spans go to OpenTelemetry's no-op provider and cost next to nothing.

On, each process that calls `configure_tracing` (``wsgi.py`` for gunicorn's workers, ``celery.py``
for the Celery worker and the outbox relay) installs one global tracer provider: its resource
names the service (``OTEL_SERVICE_NAME``, else ``users``; more from
``OTEL_RESOURCE_ATTRIBUTES``), and a batch span processor (``OTEL_BSP_*``) sends the spans to the
OTLP/HTTP exporter (``OTEL_EXPORTER_OTLP_*``: endpoint, headers, timeout, compression).
OpenTelemetry's httpx instrumentation makes a span of every call the process makes, and in the
web process its Django instrumentation one of every request it serves; the common-* packages add
their own spans and attributes to the same traces, and W3C ``traceparent`` headers carry them from
one service to the next.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

SERVICE_NAME = "users"
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """Whether ``environ`` asks for tracing; ImproperlyConfigured when it asks for what this
    service cannot do (another exporter or protocol than OTLP over HTTP with protobuf)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    if exporter not in ("", "otlp"):
        raise ImproperlyConfigured(
            f"OTEL_TRACES_EXPORTER={exporter!r}: this service exports traces with 'otlp' "
            "(OTLP over HTTP) or not at all ('none')"
        )
    for variable in PROTOCOL_VARIABLES:
        protocol = environ.get(variable, "").strip()
        if protocol not in ("", "http/protobuf"):
            raise ImproperlyConfigured(
                f"{variable}={protocol!r}: this service sends OTLP over HTTP ('http/protobuf')"
            )
    return any(environ.get(variable, "").strip() for variable in ENDPOINT_VARIABLES)


def configure_tracing(
    *, instrument_django: bool = False, environ: Mapping[str, str] | None = None
) -> TracerProvider | None:
    """Set this process's tracing up as the environment asks; its tracer provider, or ``None``
    when tracing is off. A second call keeps the provider the first one installed.

    ``instrument_django`` adds OpenTelemetry's Django middleware (the web process): call it
    before the WSGI application is made, since Django reads ``MIDDLEWARE`` then.
    """
    environ = os.environ if environ is None else environ
    if not tracing_requested(environ):
        return None
    # As opentelemetry-instrument reads it: "django,httpx" leaves the spans to the common-*
    # packages alone (their request, client and auth spans), the cheaper choice.
    disabled = {
        name.strip() for name in environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")
    }
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME as SERVICE_NAME_KEY
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
        if str(resource.attributes.get(SERVICE_NAME_KEY, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME_KEY: SERVICE_NAME}))
        provider = TracerProvider(resource=resource)  # flushed and shut down at exit
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    if "httpx" not in disabled and not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry:
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    if instrument_django and "django" not in disabled:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        if not DjangoInstrumentor().is_instrumented_by_opentelemetry:
            DjangoInstrumentor().instrument(tracer_provider=provider)
    return provider
