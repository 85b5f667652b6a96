"""Without an OpenTelemetry SDK nothing is recorded and nothing fails: the caller's trace passes
through to logs and downstream calls, and without one no trace is made up.

A process can set its tracer provider only once, and this test run's has the SDK's (conftest), so
the requests here are served by a fresh interpreter that never sets one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

_SCRIPT = """
import io, json, logging, sys
import django
from django.conf import settings
from django.http import JsonResponse
from django.urls import path

def view(request, pk):
    from common_utils import outgoing_headers
    logging.getLogger("app").warning("in the view")
    return JsonResponse(outgoing_headers())

urlpatterns = [path("orders/<int:pk>/", view)]
settings.configure(
    ROOT_URLCONF="__main__",
    MIDDLEWARE=["common_utils.django.RequestContextMiddleware"],
    ALLOWED_HOSTS=["testserver"],
)
django.setup()
from common_utils import JsonLogFormatter
from django.test import Client
from opentelemetry import trace

stream = io.StringIO()
handler = logging.StreamHandler(stream)
handler.setFormatter(JsonLogFormatter())
logging.getLogger("app").addHandler(handler)
answers = [
    Client().get("/orders/7/", headers=headers).json()
    for headers in (
        {"X-Request-ID": "plain-1"},
        {"X-Request-ID": "caller-1", "traceparent": sys.argv[1]},
    )
]
print(json.dumps({
    "provider": type(trace.get_tracer_provider()).__name__,
    "sdk_loaded": "opentelemetry.sdk" in sys.modules,
    "answers": answers,
    "logs": [json.loads(line) for line in stream.getvalue().splitlines()],
}))
"""


def test_without_an_sdk_the_callers_trace_passes_through_and_none_is_made_up() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, CALLER],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["provider"] == "ProxyTracerProvider"
    assert result["sdk_loaded"] is False
    plain, caller = result["answers"]
    assert plain == {"X-Request-ID": "plain-1"}
    # No span is recorded here, so what is passed on is the caller's position, unchanged.
    assert caller == {"X-Request-ID": "caller-1", "traceparent": CALLER}
    plain_log, caller_log = result["logs"]
    assert (plain_log["request_id"], plain_log["trace_id"], plain_log["span_id"]) == (
        "plain-1",
        None,
        None,
    )
    assert (caller_log["request_id"], caller_log["trace_id"], caller_log["span_id"]) == (
        "caller-1",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )


def test_a_provider_named_by_the_environment_is_the_one_the_request_records_with() -> None:
    """``OTEL_PYTHON_TRACER_PROVIDER`` names a provider that only the API's
    ``get_tracer_provider()`` loads: the request's span is still recorded (its own span is the
    parent passed on), not passed through as without an SDK."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, CALLER],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "OTEL_PYTHON_TRACER_PROVIDER": "sdk_tracer_provider"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["provider"] == "TracerProvider"
    assert result["sdk_loaded"] is True
    _, caller = result["answers"]
    version, trace_id, parent, flags = caller["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert parent != "00f067aa0ba902b7"  # the request's own span, under the caller's
    _, caller_log = result["logs"]
    assert caller_log["span_id"] == parent


_RECORDS_SPANS = """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from common_utils import records_spans

before = records_spans()
if trace.get_tracer_provider().__class__.__name__ != "TracerProvider":
    trace.set_tracer_provider(TracerProvider())
print(json.dumps([before, records_spans(), records_spans()]))
"""


@pytest.mark.parametrize(
    ("environ", "answers"),
    [
        ({}, [False, True, True]),
        # The provider the environment names is the API's as soon as a tracer was asked for.
        ({"OTEL_PYTHON_TRACER_PROVIDER": "sdk_tracer_provider"}, [True, True, True]),
    ],
)
def test_records_spans_answers_whether_a_recording_provider_is_set(
    environ: dict[str, str], answers: list[bool]
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", _RECORDS_SPANS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**clean, **environ},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == answers
