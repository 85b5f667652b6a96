"""RFC 9457 problem details read into status errors, over a real server on 127.0.0.1: members,
defaults, members of the wrong type, and bodies that are not problems."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common_clients import RetryPolicy, SyncClient
from common_clients.errors import (
    APIStatusError,
    InternalServerError,
    PermissionDeniedError,
    UnprocessableEntityError,
)

PROBLEM = {"Content-Type": "application/problem+json"}
NO_RETRIES = RetryPolicy(max_retries=0)


def call(loopback: Any, reply: Any) -> APIStatusError:
    loopback.route("GET", "/things/1/", reply)
    with (
        SyncClient(base_url=loopback.url, retry_policy=NO_RETRIES) as client,
        pytest.raises(APIStatusError) as caught,
    ):
        client.request("GET", "/things/1/", operation="things_retrieve", cast_to=dict)
    return caught.value


def test_every_member_is_read(loopback) -> None:
    document = {
        "type": "https://commons.invalid/problems/insufficient_scope",
        "title": "Forbidden",
        "status": 403,
        "detail": "the token lacks the required scope(s): things:read",
        "instance": "/things/1/",
        "scope": "things:read",
        "request_id": "req-1",
    }
    error = call(loopback, loopback.reply(403, json.dumps(document), headers=PROBLEM))
    assert type(error) is PermissionDeniedError
    assert error.is_problem
    assert error.type == document["type"]
    assert error.title == "Forbidden"
    assert error.detail == document["detail"]
    assert error.instance == "/things/1/"
    assert error.extensions == {"scope": "things:read", "request_id": "req-1"}
    assert error.body == document
    assert str(error).endswith(
        ": insufficient_scope: the token lacks the required scope(s): things:read "
        f"(operation=things_retrieve, request_id={error.request_id})"
    )


def test_a_problem_without_a_type_is_about_blank(loopback) -> None:
    headers = {"Content-Type": "application/problem+json; charset=utf-8"}
    body = json.dumps({"title": "Unprocessable", "status": 422})
    error = call(loopback, loopback.reply(422, body, headers=headers))
    assert type(error) is UnprocessableEntityError
    assert (error.type, error.title, error.detail) == ("about:blank", "Unprocessable", None)
    assert ": Unprocessable (" in str(error)


def test_members_of_the_wrong_type_are_ignored(loopback) -> None:
    body = json.dumps({"type": 7, "title": ["x"], "detail": {"a": 1}, "instance": None, "n": 1})
    error = call(loopback, loopback.reply(500, body, headers=PROBLEM))
    assert type(error) is InternalServerError
    assert (error.type, error.title, error.detail, error.instance) == (
        "about:blank",
        None,
        None,
        None,
    )
    assert error.extensions == {"n": 1}


def test_a_plain_json_error_is_not_a_problem(loopback) -> None:
    error = call(loopback, loopback.reply(403, {"detail": "no", "code": "denied"}))
    assert not error.is_problem
    assert (error.type, error.title, error.instance, error.extensions) == (None, None, None, {})
    assert error.detail == "no"
    assert str(error).startswith("403 Forbidden from GET ")


def test_a_problem_media_type_with_a_body_that_is_not_json_keeps_the_text(loopback) -> None:
    error = call(loopback, loopback.reply(502, b"<html>bad gateway</html>", headers=PROBLEM))
    assert not error.is_problem
    assert error.body == "<html>bad gateway</html>"
