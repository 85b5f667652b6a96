"""The httpx hooks put the current request id and traceparent on real outgoing requests."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
from opentelemetry import trace

from common_utils import async_httpx_request_hook, httpx_request_hook, request_context


def test_sync_hook_sends_the_current_context(echo_server_url: str) -> None:
    with (
        httpx.Client(event_hooks={"request": [httpx_request_hook]}) as client,
        trace.get_tracer("test").start_as_current_span("call"),
        request_context(request_id="edge-1") as ctx,
    ):
        seen = client.get(echo_server_url).json()
        traceparent = ctx.traceparent  # the current span's, read while it is current
    assert seen["X-Request-ID"] == "edge-1"
    assert traceparent is not None
    assert seen["traceparent"] == traceparent


def test_async_hook_sends_the_current_context(echo_server_url: str) -> None:
    async def call() -> dict[str, str]:
        async with httpx.AsyncClient(event_hooks={"request": [async_httpx_request_hook]}) as client:
            with request_context(request_id="edge-2"):
                response = await client.get(echo_server_url)
        return dict(response.json())

    assert asyncio.run(call())["X-Request-ID"] == "edge-2"


def test_hook_sends_nothing_outside_a_context_and_keeps_explicit_headers(
    echo_server_url: str,
) -> None:
    with httpx.Client(event_hooks={"request": [httpx_request_hook]}) as client:
        bare = client.get(echo_server_url).json()
        with request_context(request_id="ambient"):
            explicit = client.get(echo_server_url, headers={"X-Request-ID": "chosen"}).json()
    assert "X-Request-ID" not in bare
    assert "traceparent" not in bare
    assert explicit["X-Request-ID"] == "chosen"


def test_importing_common_utils_does_not_import_httpx() -> None:
    code = "import sys, common_utils; sys.exit('httpx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
