"""A fresh process of a small Django service that sets its tracing up as a service does
(``configure_tracing`` before the WSGI application is made), for test_tracing_setup.py.

``python traced_process.py '<json>'``: the JSON names the ``service``, whether to
``instrument_django``, the modules to ``block`` (made unimportable, as if the ``tracing`` extra
were not installed), the ``echo`` URL the served request calls with httpx (none: no request) and
the name of a ``span`` to record outside any request (none: no such span); ``own_provider``
installs an SDK tracer provider of the process's own first, as a service that sets it by hand.
``configure_tracing`` is called twice, as a process that loads two of its entry points does. It
prints one JSON object: what was set up, what the request answered, or the error raised.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import django
import httpx
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path


def echo(request: HttpRequest) -> JsonResponse:
    """Call the test's echo server; answer with the headers it received."""
    with httpx.Client() as client:  # no common-utils hooks: only an instrumentation adds headers
        received = client.get(request.GET["url"]).json()
    return JsonResponse(received)


urlpatterns = [path("echo/", echo)]


def main(options: dict[str, Any]) -> dict[str, Any]:
    for name in options.get("block", []):
        sys.modules[name] = None  # type: ignore[assignment]  # "import name" raises ImportError
    settings.configure(
        ROOT_URLCONF="__main__",
        MIDDLEWARE=["common_utils.django.RequestContextMiddleware"],
        ALLOWED_HOSTS=["testserver"],
    )
    from opentelemetry import trace

    from common_utils import CommonUtilsError
    from common_utils.django import configure_tracing

    own = None
    if options.get("own_provider"):
        from opentelemetry.sdk.trace import TracerProvider

        own = TracerProvider()
        trace.set_tracer_provider(own)
    instrument_django = bool(options.get("instrument_django"))
    try:
        provider = configure_tracing(options["service"], instrument_django=instrument_django)
        again = configure_tracing(options["service"], instrument_django=instrument_django)
    except CommonUtilsError as exc:
        return {"error": [type(exc).__name__, str(exc)]}
    django.setup()

    from django.test import Client

    if options.get("span"):
        with trace.get_tracer("traced_process").start_as_current_span(options["span"]):
            pass
    answer = None
    if options.get("echo"):
        response = Client().get("/echo/", {"url": options["echo"]})
        answer = {"status": response.status_code, "echoed": response.json()}
    global_provider = trace.get_tracer_provider()
    force_flush = getattr(global_provider, "force_flush", None)
    if force_flush is not None:
        force_flush()
    return {
        "error": None,
        "provider": type(provider).__name__,
        "global_provider": type(global_provider).__name__,
        "same_provider_twice": again is provider,
        "own_provider_kept": own is not None and provider is own,
        "sdk_loaded": "opentelemetry.sdk" in sys.modules,
        "instrumented": {
            library: _instrumented(module, name)
            for library, module, name in (
                ("django", "opentelemetry.instrumentation.django", "DjangoInstrumentor"),
                ("httpx", "opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor"),
            )
        },
        "answer": answer,
    }


def _instrumented(module_name: str, class_name: str) -> bool:
    module = sys.modules.get(module_name)
    if module is None:
        return False
    return bool(getattr(module, class_name)().is_instrumented_by_opentelemetry)


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
