"""Tracing: given an OTLP endpoint, each fresh process of the service (web, relay) exports its
spans to it, here common-utils' OTLP receiver on 127.0.0.1, under the service's name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from common_utils.testing import OtlpReceiver
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SERVICE_DIR = Path(__file__).resolve().parents[1]


def _run(script: str) -> list[tuple[str, Span]]:
    """``script`` in a fresh Python process of the service; what it exported, with the service
    named in each span's resource."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with OtlpReceiver() as receiver:
        environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        done = subprocess.run(
            [sys.executable, "-c", script + "trace.get_tracer_provider().force_flush()\n"],
            cwd=SERVICE_DIR,
            env=environ,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    return [(received.service_name, received.span) for received in receiver.spans]


def test_the_web_process_exports_each_request() -> None:
    spans = _run(
        "from orders_service.wsgi import application\n"
        "from django.test import Client\n"
        "from opentelemetry import trace\n"
        "assert Client().get('/healthz/live/', HTTP_HOST='127.0.0.1').status_code == 200\n"
    )
    [(service, span)] = [(n, s) for n, s in spans if s.kind == Span.SPAN_KIND_SERVER]
    assert service == "orders"
    assert "healthz/live" in span.name


def test_the_celery_app_sets_tracing_up_for_the_relay() -> None:
    spans = _run(
        "import orders_service.celery\n"
        "from opentelemetry import trace\n"
        "with trace.get_tracer('test').start_as_current_span('publish a batch'):\n"
        "    pass\n"
    )
    names = [(service, span.name) for service, span in spans]
    assert names == [("orders", "publish a batch")]
