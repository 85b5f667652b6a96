"""The example services as a running system: the demo's whole run, once per backend.

Each backend's run is one `run_demo` (release to a local index, venvs from the services' locks,
migrations, the processes, the scenario, the upgrade). While the services are up, schemathesis
fuzzes each one from its OpenAPI document, with a valid token and without one. The tests then
assert on what the run recorded, step by step.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from commons_tools.demo import DemoResult, run_demo, sign_in
from commons_tools.stack import RealBackends, Stack
from commons_tools.workspace import SERVICES

REPO = Path(__file__).resolve().parents[2]
ALL_USER_SCOPES = "orders:read orders:write notifications:read users:read"
ALL_AUDIENCES = "orders notifications users"


@dataclass
class Fuzzed:
    """What schemathesis said about one service, with and without a token."""

    with_token: subprocess.CompletedProcess[str]
    without_token: subprocess.CompletedProcess[str]


@dataclass
class Answer:
    """One error answer of a running service: status, media type, body and headers."""

    status: int
    media_type: str
    body: dict[str, object]
    headers: dict[str, str]


@dataclass
class Run:
    backend: str
    result: DemoResult
    lines: list[str]
    fuzzed: dict[str, Fuzzed] = field(default_factory=dict)
    probes: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: dict[str, Answer] = field(default_factory=dict)
    counts: dict[str, dict[int, int]] = field(default_factory=dict)


def _backends() -> RealBackends | None:
    postgres = os.environ.get("COMMONS_TEST_POSTGRES_URL")
    amqp = os.environ.get("COMMONS_TEST_AMQP_URL")
    if not postgres or not amqp:
        missing = [n for n, v in (("POSTGRES", postgres), ("AMQP", amqp)) if not v]
        pytest.skip(f"set COMMONS_TEST_{'_URL and COMMONS_TEST_'.join(missing)}_URL")
    return RealBackends(postgres_url=postgres, amqp_url=amqp)


def user_token(stack: Stack) -> str:
    token: str = sign_in(stack, scopes=ALL_USER_SCOPES, audiences=ALL_AUDIENCES)["access_token"]
    return token


def schemathesis(stack: Stack, service: str, *headers: str) -> subprocess.CompletedProcess[str]:
    spec = stack.checkout / "packages" / "common_clients" / "specs" / f"{service}.yaml"
    checks = "not_a_server_error,ignored_auth" if headers else "not_a_server_error"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(spec),
        "--url",
        stack.url(service),
        "--checks",
        checks,
        "--max-examples",
        "15",
        "--phases",
        "examples,coverage,fuzzing",
        # One worker: hypothesis describing filters from two threads at once trips CPython
        # 3.11's AST recursion check ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--suppress-health-check",
        "all",
        "--generation-deterministic",
        *[arg for header in headers for arg in ("--header", header)],
    ]
    return subprocess.run(
        command, cwd=stack.workdir, capture_output=True, text=True, check=False, timeout=600
    )


def probe_unauthenticated(stack: Stack) -> dict[str, dict[str, int]]:
    """The status of each service's authenticated endpoints asked without a token."""
    paths = {
        "users": ["/api/users/", "/api/users/me/", "/api/users/1/"],
        "orders": ["/api/orders/", "/api/orders/1/"],
        "notifications": ["/api/notifications/", "/api/notifications/1/"],
    }
    return {
        service: {
            path: httpx.get(f"{stack.url(service)}{path}").status_code for path in paths[service]
        }
        for service in SERVICES
    }


def probe_errors(stack: Stack, token: str) -> dict[str, Answer]:
    """Each kind of error, asked of the running services (gunicorn, from their locks)."""
    read_only = sign_in(stack, scopes="orders:read", audiences="orders")["access_token"]
    orders, users = stack.url("orders"), stack.url("users")
    bearer = {"Authorization": f"Bearer {token}"}
    json_body = {**bearer, "Content-Type": "application/json"}
    asks: dict[str, tuple[str, str, dict[str, str], bytes | None]] = {
        "no token": ("GET", f"{orders}/api/orders/", {}, None),
        "bad token": ("GET", f"{users}/api/users/", {"Authorization": "Bearer abc.def.ghi"}, None),
        "malformed header": ("GET", f"{orders}/api/orders/", {"Authorization": "Bearer a b"}, None),
        "insufficient scope": (
            "POST",
            f"{orders}/api/orders/",
            {"Authorization": f"Bearer {read_only}", "Content-Type": "application/json"},
            b'{"product": "saw", "quantity": 1}',
        ),
        "validation": ("POST", f"{orders}/api/orders/", json_body, b'{"product": "saw"}'),
        "not json": ("POST", f"{orders}/api/orders/", json_body, b"{nope"),
        "nested too deep": ("POST", f"{orders}/api/orders/", json_body, b"[" * 1000 + b"]" * 1000),
        "10 MB": ("POST", f"{orders}/api/orders/", json_body, b'["' + b"x" * 10_000_000 + b'"]'),
        "not found": ("GET", f"{orders}/api/orders/999999/", bearer, None),
        "no route": ("GET", f"{stack.url('notifications')}/nowhere/", bearer, None),
    }
    answers: dict[str, Answer] = {}
    with httpx.Client(timeout=30) as http:
        for label, (method, url, headers, content) in asks.items():
            response = http.request(method, url, headers=headers, content=content)
            media_type = response.headers.get("content-type", "").partition(";")[0]
            body = response.json() if "json" in media_type else {"text": response.text[:200]}
            answers[label] = Answer(response.status_code, media_type, body, dict(response.headers))
    return answers


def notifications_per_order(stack: Stack, token: str) -> dict[int, int]:
    """How many notifications the signed-in user has for each order (every page)."""
    counts: dict[int, int] = {}
    url: str | None = f"{stack.url('notifications')}/api/notifications/"
    while url:
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        page = response.json()
        for item in page["results"]:
            counts[item["order_id"]] = counts.get(item["order_id"], 0) + 1
        url = page["next"]
    return counts


@pytest.fixture(scope="session", params=["embedded", "real"])
def demo_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    backend: str = request.param
    real = _backends() if backend == "real" else None
    workdir = tmp_path_factory.mktemp(f"demo-{backend}")
    lines: list[str] = []
    fuzzed: dict[str, Fuzzed] = {}
    probes: dict[str, dict[str, int]] = {}
    problems: dict[str, Answer] = {}
    counts: dict[str, dict[int, int]] = {}

    def while_up(stack: Stack) -> None:
        probes.update(probe_unauthenticated(stack))
        token = user_token(stack)
        problems.update(probe_errors(stack, token))
        counts["notifications_per_order"] = notifications_per_order(stack, token)
        for service in SERVICES:
            fuzzed[service] = Fuzzed(
                with_token=schemathesis(stack, service, f"Authorization: Bearer {token}"),
                without_token=schemathesis(stack, service),
            )

    result = run_demo(REPO, workdir, real=real, say=lines.append, keep_running=while_up)
    return Run(
        backend, result, lines, fuzzed=fuzzed, probes=probes, problems=problems, counts=counts
    )
