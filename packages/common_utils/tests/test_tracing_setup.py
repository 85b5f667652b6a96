"""``configure_tracing``: off unless the environment asks; asked, a fresh process of a service
exports its spans over OTLP/HTTP to the endpoint given, here common_utils.testing's receiver on
127.0.0.1, which decodes what it gets with OpenTelemetry's protobuf messages.

A process sets its tracer provider and turns an instrumentation on once, so everything that turns
tracing on runs in a fresh interpreter (traced_process.py), never in this test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from common_utils import CommonUtilsError, TracingConfigError
from common_utils.django import configure_tracing, tracing_requested
from common_utils.testing import OtlpReceiver, ReceivedSpan

PROCESS = Path(__file__).with_name("traced_process.py")
ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
AN_ENDPOINT = "http://127.0.0.1:4318"


@pytest.mark.parametrize(
    ("environ", "requested"),
    [
        ({}, False),
        ({ENDPOINT: AN_ENDPOINT}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{AN_ENDPOINT}/v1/traces"}, True),
        ({ENDPOINT: "  "}, False),
        ({ENDPOINT: AN_ENDPOINT, "OTEL_SDK_DISABLED": "true"}, False),
        ({ENDPOINT: AN_ENDPOINT, "OTEL_SDK_DISABLED": "TRUE"}, False),
        ({ENDPOINT: AN_ENDPOINT, "OTEL_SDK_DISABLED": "false"}, True),
        ({ENDPOINT: AN_ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}, False),
        ({ENDPOINT: AN_ENDPOINT, "OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({ENDPOINT: AN_ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, False),  # no endpoint: nothing to send to
    ],
)
def test_tracing_is_on_only_when_an_endpoint_is_given(
    environ: dict[str, str], requested: bool
) -> None:
    assert tracing_requested(environ) is requested


def test_tracing_requested_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in [v for v in os.environ if v.startswith("OTEL_")]:
        monkeypatch.delenv(variable)
    assert tracing_requested() is False
    monkeypatch.setenv(ENDPOINT, AN_ENDPOINT)
    assert tracing_requested() is True


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
    ],
)
def test_what_cannot_be_exported_is_refused_naming_the_variable_and_its_value(
    variable: str, value: str
) -> None:
    environ = {ENDPOINT: AN_ENDPOINT, variable: value}
    with pytest.raises(TracingConfigError, match=f"^{variable}='{value}': ") as raised:
        tracing_requested(environ)
    assert isinstance(raised.value, CommonUtilsError)
    assert isinstance(raised.value, ValueError)
    # configure_tracing refuses it before it sets anything up.
    before = trace.get_tracer_provider()
    with pytest.raises(TracingConfigError, match=f"^{variable}='{value}': "):
        configure_tracing("svc", environ=environ)
    assert trace.get_tracer_provider() is before


def test_off_configure_tracing_does_nothing() -> None:
    before = trace.get_tracer_provider()
    assert configure_tracing("svc", environ={}) is None
    disabled = {ENDPOINT: AN_ENDPOINT, "OTEL_SDK_DISABLED": "true"}
    assert configure_tracing("svc", environ=disabled) is None
    assert trace.get_tracer_provider() is before


@pytest.mark.parametrize("name", ["", "   "])
def test_the_service_name_is_required(name: str) -> None:
    with pytest.raises(TracingConfigError, match=f"service_name={name!r}"):
        configure_tracing(name, environ={})


# --- a fresh process with an OTLP/HTTP receiver ---------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def _run(options: dict[str, Any], **environ: str) -> dict[str, Any]:
    """traced_process.py with ``options``, in an environment with no OTEL_* but ``environ``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, str(PROCESS), json.dumps(options)],
        env={**clean, **environ},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _server_spans(receiver: OtlpReceiver) -> list[ReceivedSpan]:
    return [found for found in receiver.spans if found.span.kind == Span.SPAN_KIND_SERVER]


def test_the_web_process_exports_each_request_and_each_call_it_makes(
    receiver: OtlpReceiver, echo_server_url: str
) -> None:
    result = _run(
        {"service": "svc", "instrument_django": True, "echo": echo_server_url},
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_RESOURCE_ATTRIBUTES="commons.process=web",
    )
    assert result["error"] is None
    assert result["answer"]["status"] == 200
    assert result["provider"] == result["global_provider"] == "TracerProvider"
    assert result["same_provider_twice"] is True
    assert result["instrumented"] == {"django": True, "httpx": True}

    # One span for the request served: OpenTelemetry's Django instrumentation's, which the
    # request-context middleware adds to instead of opening a second one.
    [(_, server, resource, scope)] = _server_spans(receiver)
    assert resource["service.name"] == "svc"
    assert resource["commons.process"] == "web"
    assert scope == "opentelemetry.instrumentation.django"
    assert "echo" in server.name
    assert any(a.key == "commons.request_id" for a in server.attributes)
    # The call it made is a client span under it, and the callee got it as its traceparent.
    [(_, client, _, scope)] = [f for f in receiver.spans if f.span.kind == Span.SPAN_KIND_CLIENT]
    assert scope == "opentelemetry.instrumentation.httpx"
    assert (client.trace_id, client.parent_span_id) == (server.trace_id, server.span_id)
    echoed = {k.lower(): v for k, v in result["answer"]["echoed"].items()}
    _, trace_id, span_id, _flags = echoed["traceparent"].split("-")
    assert (trace_id, span_id) == (client.trace_id.hex(), client.span_id.hex())


def test_the_service_name_from_the_environment_wins_and_django_is_left_alone(
    receiver: OtlpReceiver,
) -> None:
    """A worker or relay process (no ``instrument_django``), renamed by OTEL_SERVICE_NAME."""
    result = _run(
        {"service": "svc", "span": "publish a batch"},
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME="svc-relay",
    )
    assert result["error"] is None
    assert result["instrumented"] == {"django": False, "httpx": True}
    assert [(found.service_name, found.span.name) for found in receiver.spans] == [
        ("svc-relay", "publish a batch")
    ]


def test_the_resource_attributes_may_name_the_service(
    receiver: OtlpReceiver, echo_server_url: str
) -> None:
    _run(
        {"service": "svc", "instrument_django": True, "echo": echo_server_url},
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_RESOURCE_ATTRIBUTES="service.name=svc-canary,deployment.environment.name=test",
    )
    [(service_name, _, resource, _)] = _server_spans(receiver)
    assert service_name == "svc-canary"
    assert resource["deployment.environment.name"] == "test"


def test_disabled_instrumentations_leave_the_spans_to_common_utils(
    receiver: OtlpReceiver, echo_server_url: str
) -> None:
    result = _run(
        {"service": "svc", "instrument_django": True, "echo": echo_server_url},
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{receiver.endpoint}/v1/traces",
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="django, httpx",
    )
    assert result["instrumented"] == {"django": False, "httpx": False}
    # The request is still one span, the middleware's own, and no call is a span of its own.
    [(service_name, _, _, scope)] = _server_spans(receiver)
    assert (service_name, scope) == ("svc", "common_utils")
    assert [f for f in receiver.spans if f.span.kind == Span.SPAN_KIND_CLIENT] == []


def test_a_provider_the_service_installed_itself_is_kept(receiver: OtlpReceiver) -> None:
    result = _run(
        {"service": "svc", "instrument_django": True, "own_provider": True},
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
    )
    assert result["own_provider_kept"] is True
    assert result["instrumented"] == {"django": True, "httpx": True}


def test_without_an_endpoint_no_sdk_is_loaded(receiver: OtlpReceiver, echo_server_url: str) -> None:
    result = _run({"service": "svc", "instrument_django": True, "echo": echo_server_url})
    assert result["error"] is None
    assert result["answer"]["status"] == 200
    assert result["provider"] == "NoneType"
    assert result["global_provider"] == "ProxyTracerProvider"
    assert result["sdk_loaded"] is False
    assert result["instrumented"] == {"django": False, "httpx": False}
    assert receiver.spans == []


@pytest.mark.parametrize(
    "missing",
    [
        "opentelemetry.sdk",
        "opentelemetry.exporter.otlp.proto.http",
        "opentelemetry.instrumentation.httpx",
        "opentelemetry.instrumentation.django",
    ],
)
def test_tracing_asked_for_without_the_extra_says_what_to_install(missing: str) -> None:
    result = _run(
        {"service": "svc", "instrument_django": True, "block": [missing]},
        OTEL_EXPORTER_OTLP_ENDPOINT=AN_ENDPOINT,
    )
    kind, message = result["error"]
    assert kind == "TracingConfigError"
    assert message.startswith(f"OTEL_EXPORTER_OTLP_ENDPOINT='{AN_ENDPOINT}' asks for tracing, ")
    assert missing in message
    assert message.endswith(": install common-utils[tracing]")


def test_without_the_extra_tracing_off_is_no_error() -> None:
    blocked = ["opentelemetry.sdk", "opentelemetry.exporter", "opentelemetry.instrumentation"]
    result = _run({"service": "svc", "instrument_django": True, "block": blocked})
    assert result["error"] is None
    assert result["provider"] == "NoneType"
