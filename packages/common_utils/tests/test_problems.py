"""RFC 9457 problem details: the core, Django's own refusals, and every DRF error through the
exception handler and the bounded JSON parser."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from common_utils import Problem, problem_type, request_context, status_title
from common_utils.drf import BoundedJSONParser

BASE = "https://commons.invalid/problems/"
URLS = "cu_testproject.problem_urls"


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response.content)
    assert body["status"] == response.status_code
    assert body["title"] == status_title(response.status_code)
    return body


@pytest.fixture
def api(settings: Any) -> Client:
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "common_utils.drf.problem_exception_handler",
        "DEFAULT_PARSER_CLASSES": ["common_utils.drf.BoundedJSONParser"],
        "UNAUTHENTICATED_USER": None,
    }
    settings.ROOT_URLCONF = URLS
    return Client(raise_request_exception=False)


# -- the core ------------------------------------------------------------------------------


def test_a_problem_is_its_json_document() -> None:
    found = Problem.of(
        "not_found", 404, detail="no order 7", instance="/orders/7/", request_id="r1"
    )
    assert found.type == problem_type("not_found") == BASE + "not_found"
    assert found.code == "not_found"
    assert found.to_dict() == {
        "type": BASE + "not_found",
        "title": "Not Found",
        "status": 404,
        "detail": "no order 7",
        "instance": "/orders/7/",
        "request_id": "r1",
    }
    assert json.loads(found.to_json()) == found.to_dict()
    assert Problem.of("x", 599).title == "Error"  # a status without a reason phrase


def test_a_problem_refuses_a_success_status_and_clashing_members() -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        Problem.of("ok", 200)
    with pytest.raises(ValueError, match="may not redefine status"):
        Problem(type="t", title="T", status=400, extensions={"status": 1})


def test_members_are_added_only_where_unset() -> None:
    base = Problem.of("not_found", 404, instance="/a/", request_id="mine")
    merged = base.with_members(instance="/b/", request_id="other", extra=None, more=1)
    assert merged.instance == "/a/"
    assert merged.extensions == {"request_id": "mine", "more": 1}


# -- Django's own refusals -------------------------------------------------------------------


def test_no_route_is_a_not_found_problem(api: Client) -> None:
    response = api.get("/nowhere/", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    body = problem(response)
    assert body["type"] == BASE + "not_found"
    assert body["instance"] == "/nowhere/"


def test_a_crash_is_an_internal_error_problem_without_its_details(api: Client) -> None:
    response = api.get("/crash/")
    assert response.status_code == 500
    body = problem(response)
    assert body["type"] == BASE + "internal_error"
    assert "a bug" not in response.content.decode()


def test_a_form_over_django_s_limit_is_a_413_problem(api: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(
        "/form/", "a=" + "x" * 5000, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert problem(response)["type"] == BASE + "payload_too_large"


# -- DRF: the exception handler --------------------------------------------------------------


def test_validation_errors_name_each_field_by_json_pointer(api: Client) -> None:
    response = api.post(
        "/items/",
        {"quantity": 0, "lines": [{"sku": "ok"}, {"sku": "much-too-long"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = problem(response)
    assert body["type"] == BASE + "validation_error"
    assert body["instance"] == "/items/"
    assert sorted(body["errors"], key=lambda e: e["pointer"]) == [
        {"pointer": "#/lines/1/sku", "detail": body["errors"][2]["detail"], "code": "max_length"},
        {"pointer": "#/name", "detail": "This field is required.", "code": "required"},
        {
            "pointer": "#/quantity",
            "detail": "Ensure this value is greater than or equal to 1.",
            "code": "min_value",
        },
    ]
    assert body["detail"].endswith("(and 2 more)")


def test_a_valid_body_still_passes(api: Client) -> None:
    response = api.post(
        "/items/", {"name": "widget", "quantity": 2}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json() == {"name": "widget", "quantity": 2}


def test_http404_and_permission_denied_in_a_view_are_problems(api: Client) -> None:
    response = api.get("/items/7/")
    assert response.status_code == 404
    assert problem(response) | {"request_id": None} == {
        "type": BASE + "not_found",
        "title": "Not Found",
        "status": 404,
        "detail": "no item 7",
        "instance": "/items/7/",
        "request_id": None,
    }
    response = api.get("/items/1/")
    assert response.status_code == 403
    assert problem(response)["type"] == BASE + "permission_denied"
    assert problem(response)["detail"] == "item 1 is private"


def test_the_request_id_is_a_member(api: Client) -> None:
    response = api.get("/items/7/", headers={"X-Request-ID": "req-123"})
    assert problem(response)["request_id"] == "req-123"


def test_an_unavailable_upstream_keeps_retry_after(api: Client) -> None:
    response = api.get("/upstream/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = problem(response)
    assert body["type"] == BASE + "upstream_unavailable"
    assert body["detail"] == "the upstream service is unavailable; try again later"


def test_a_wrong_method_and_media_type_are_problems(api: Client) -> None:
    response = api.delete("/items/")
    assert response.status_code == 405
    assert problem(response)["type"] == BASE + "method_not_allowed"
    response = api.post("/items/", "<x/>", content_type="application/xml")
    assert response.status_code == 415
    assert problem(response)["type"] == BASE + "unsupported_media_type"


# -- DRF: the bounded JSON parser ------------------------------------------------------------


def test_malformed_json_is_a_parse_error_problem(api: Client) -> None:
    response = api.post("/items/", "{nope", content_type="application/json")
    assert response.status_code == 400
    body = problem(response)
    assert body["type"] == BASE + "parse_error"
    assert body["detail"].startswith("JSON parse error")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_constants_are_refused(api: Client, constant: str) -> None:
    response = api.post("/items/", f'{{"quantity": {constant}}}', content_type="application/json")
    assert response.status_code == 400
    assert problem(response)["type"] == BASE + "parse_error"


def test_a_thousand_nested_arrays_are_a_400_not_a_recursion_error(api: Client) -> None:
    response = api.post("/items/", "[" * 1000 + "]" * 1000, content_type="application/json")
    assert response.status_code == 400
    body = problem(response)
    assert body["type"] == BASE + "nesting_too_deep"
    assert "64" in body["detail"]


def test_a_million_open_brackets_are_refused_before_parsing(api: Client) -> None:
    response = api.post("/items/", "[" * 1_000_000, content_type="application/json")
    assert response.status_code == 400
    assert problem(response)["type"] == BASE + "nesting_too_deep"


def test_brackets_inside_strings_do_not_count(api: Client) -> None:
    name = '[[[[{{{{ \\" ' * 100 + "."  # brackets and escaped quotes, 400 levels if counted
    body = json.dumps({"name": name, "quantity": 1})
    response = api.post("/items/", body, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["name"] == name


def test_the_depth_limit_is_exact() -> None:
    parser = BoundedJSONParser()
    limit = BoundedJSONParser.max_depth
    inside = "[" * limit + "]" * limit
    from io import BytesIO

    assert parser.parse(BytesIO(inside.encode())) is not None
    from common_utils.drf import NestingTooDeep

    with pytest.raises(NestingTooDeep):
        parser.parse(BytesIO(("[" + inside + "]").encode()))


def test_a_body_over_the_limit_is_a_413(api: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = json.dumps({"name": "x" * 20_000, "quantity": 1})
    response = api.post("/items/", big, content_type="application/json")
    assert response.status_code == 413
    assert problem(response)["type"] == BASE + "payload_too_large"


def test_a_body_longer_than_its_content_length_claims_is_cut_at_the_limit() -> None:
    from io import BytesIO

    from common_utils.drf import PayloadTooLarge

    class Small(BoundedJSONParser):
        max_bytes = 100

    with pytest.raises(PayloadTooLarge):
        Small().parse(BytesIO(b"[" + b"1," * 200 + b"1]"), parser_context={})


def test_the_request_context_does_not_leak_between_problems(api: Client) -> None:
    with request_context(request_id="outer"):
        response = api.get("/items/7/", headers={"X-Request-ID": "inner"})
    assert problem(response)["request_id"] == "inner"


def test_the_openapi_hook_serves_documented_problems_as_problem_json() -> None:
    from common_utils.drf import problem_media_type_hook

    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    other = {"schema": {"$ref": "#/components/schemas/Order"}}
    document = {
        "paths": {
            "/orders/": {
                "parameters": [],
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": dict(other)}},
                        "404": {"content": {"application/json": dict(problem)}},
                        "503": {"description": "no body"},
                    }
                },
            }
        }
    }
    responses = problem_media_type_hook(document)["paths"]["/orders/"]["get"]["responses"]
    assert responses["200"]["content"] == {"application/json": other}
    assert responses["404"]["content"] == {"application/problem+json": problem}
    assert responses["503"] == {"description": "no body"}
