"""The demo's run, asserted step by step, on the embedded defaults and on PostgreSQL + RabbitMQ."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from commons_tools.demo import DEMO_USER
from commons_tools.pins import service_python
from commons_tools.workspace import SERVICES

REPO = Path(__file__).resolve().parents[2]


def test_services_run_the_released_packages_from_the_index(demo_run) -> None:
    before = demo_run.result.versions_before
    assert set(before) == set(SERVICES)
    for service in SERVICES:
        assert {"common-utils", "common-auth"} <= set(before[service]), before[service]
    # orders calls users through the users client, a distribution of its own, and its runtime.
    assert {"common-clients", "common-clients-users"} <= set(before["orders"]), before["orders"]
    assert any("on the index: common-utils" in line for line in demo_run.lines)


def test_services_run_on_the_python_and_django_their_configuration_names(demo_run) -> None:
    for service in SERVICES:
        folder = REPO / "services" / service
        wanted_python = service_python(folder)
        (wanted_django,) = (
            Requirement(line).specifier
            for line in (folder / "requirements.in").read_text().splitlines()
            if line.startswith("django>")
        )
        runtime = demo_run.result.runtimes[service]
        python, django = runtime["Python"], runtime["Django"]
        assert wanted_python == "3.13"
        assert python.startswith(f"{wanted_python}."), (service, runtime)
        assert Version(django) in wanted_django, (service, runtime, wanted_django)
        assert Version(django).release[:2] == (6, 1), (service, runtime)
        assert any(
            line.strip().startswith(f"{service} ")
            and f"runs Python {python}, Django {django}, " in line
            for line in demo_run.lines
        ), service


def test_the_user_signs_in_with_the_password_grant(demo_run) -> None:
    claims = demo_run.result.first.token_claims
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert set(audiences) == {"orders", "notifications"}
    assert set(claims["scope"].split()) == {"orders:read", "orders:write", "notifications:read"}
    assert claims["sub"]
    assert claims["iss"].startswith("http://127.0.0.1:")


def test_orders_looked_the_user_up_in_users(demo_run) -> None:
    first = demo_run.result.first
    order = first.order
    assert order["owner_id"] == first.token_claims["sub"]
    assert order["owner_email"] == DEMO_USER["email"]
    assert order["owner_name"] == DEMO_USER["display_name"]
    assert (order["product"], order["quantity"]) == ("widget", 2)
    assert [o["id"] for o in first.orders_listed] == [order["id"]]
    # orders' own service token, issued by users' token endpoint to the client "orders"
    assert first.service_token_issued


def test_the_event_reached_notifications_once(demo_run) -> None:
    first = demo_run.result.first
    notification = first.notification
    assert notification["order_id"] == first.order["id"]
    assert notification["user_id"] == first.token_claims["sub"]
    assert notification["kind"] == "order_placed"
    assert demo_run.counts["notifications_per_order"] == {
        first.order["id"]: 1,
        demo_run.result.second.order["id"]: 1,
    }


def test_one_request_id_threads_through_all_three_logs(demo_run) -> None:
    lines = demo_run.result.first.log_lines
    for service in SERVICES:
        assert lines[service], f"{service}: no log line with {demo_run.result.first.request_id}"
    assert any(r["process"] == "orders-web" for r in lines["orders"])
    assert any(r["process"] == "orders-relay" for r in lines["orders"])
    assert any(r["process"] == "users-web" for r in lines["users"])
    assert any(r["process"] == "notifications-worker" for r in lines["notifications"])


def test_the_order_is_one_trace_from_the_demo_through_orders_into_users(demo_run) -> None:
    """Every process exports to the demo's receiver: orders continues the demo's traceparent,
    and users continues orders' (its calls carry the trace), each span under its parent."""
    first = demo_run.result.first
    root, *spans = first.trace_spans
    assert (root.process, root.trace_id) == ("demo", first.trace_id)
    assert {s.trace_id for s in spans} == {first.trace_id}
    by_id = {s.span_id: s for s in first.trace_spans}
    (orders_server,) = (s for s in spans if s.process == "orders-web" and s.kind == "SERVER")
    assert orders_server.parent_span_id == root.span_id
    users_servers = [s for s in spans if s.process == "users-web" and s.kind == "SERVER"]
    assert users_servers, [(s.process, s.name) for s in spans]
    for span in users_servers:  # each under the orders call that made it
        parent = by_id[span.parent_span_id or ""]
        assert (parent.process, parent.kind) == ("orders-web", "CLIENT")
        assert orders_server.start_ns <= parent.start_ns <= span.start_ns
    picture = first.trace_picture
    assert picture is not None
    assert picture.parent.name == "logs"
    assert f"trace {first.trace_id}" in picture.read_text()
    assert any(f"the order's trace {first.trace_id}" in line for line in demo_run.lines)
    assert any(f"picture: {picture}" in line for line in demo_run.lines)


def test_the_upgrade_rolls_common_utils_forward(demo_run) -> None:
    before, after = demo_run.result.versions_before, demo_run.result.versions_after
    assert after is not None
    assert demo_run.result.second is not None
    for service in SERVICES:
        old, new = Version(before[service]["common-utils"]), Version(after[service]["common-utils"])
        assert new > old, (old, new)
        assert new.release[:2] == old.release[:2], (old, new)
        assert after[service]["common-auth"] == before[service]["common-auth"]
    second = demo_run.result.second
    assert second.notification["order_id"] == second.order["id"]
    assert all(second.log_lines[s] for s in SERVICES)


def test_no_endpoint_answers_without_the_auth_it_declares(demo_run) -> None:
    for service, statuses in demo_run.probes.items():
        assert set(statuses.values()) == {401}, (service, statuses)


def test_every_error_of_the_running_services_is_problem_details(demo_run) -> None:
    expected = {
        "no token": (401, "not_authenticated"),
        "bad token": (401, "invalid_token"),
        "malformed header": (400, "invalid_request"),
        "insufficient scope": (403, "insufficient_scope"),
        "validation": (400, "validation_error"),
        "not json": (400, "parse_error"),
        "nested too deep": (400, "nesting_too_deep"),
        "10 MB": (413, "payload_too_large"),
        "not found": (404, "not_found"),
        "no route": (404, "not_found"),
    }
    for label, (status, code) in expected.items():
        answer = demo_run.problems[label]
        assert (answer.status, answer.media_type) == (status, "application/problem+json"), (
            label,
            answer,
        )
        assert answer.body["type"] == f"https://commons.invalid/problems/{code}", (label, answer)
        assert answer.body["status"] == status
        assert answer.body["request_id"] == answer.headers["x-request-id"], label
    problems = demo_run.problems
    assert (
        problems["bad token"]
        .headers["www-authenticate"]
        .startswith('Bearer realm="api", error="invalid_token"')
    )
    assert problems["bad token"].body["reason"]
    assert problems["insufficient scope"].body["scope"] == "orders:write"
    assert problems["validation"].body["errors"] == [
        {"pointer": "#/quantity", "detail": "This field is required.", "code": "required"}
    ]
    assert problems["no route"].body["instance"] == "/nowhere/"


def test_schemathesis_finds_no_server_error_and_no_ignored_auth(demo_run) -> None:
    for service, fuzzed in demo_run.fuzzed.items():
        for label, outcome in (
            ("with a token", fuzzed.with_token),
            ("without", fuzzed.without_token),
        ):
            said = (outcome.stdout + outcome.stderr)[-3000:]
            assert outcome.returncode == 0, f"{service} {label}:\n{said}"
