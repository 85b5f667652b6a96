"""Orders' calls to users, answered by users' OpenAPI document (common_clients.testing).

The caller's token is still verified by the real users service (``tokens``); the owner lookup
goes to a ``DocumentTransport`` over ``specs/users.yaml``, which answers as the document says (or
as a test sets) and fails a test whose request the document does not allow. Each answer a
test sets is one users can give (checked against the document) unless it says otherwise.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from common_clients import HTTPCache
from common_clients.testing import DocumentTransport
from common_clients_users import UsersClient
from django.test import Client

from orders.owners import close_users_client, install_users_client
from tests.conftest import SERVICES, bearer

pytestmark = pytest.mark.django_db

USERS_DOCUMENT = SERVICES.parent / "packages" / "common_clients" / "specs" / "users.yaml"


@pytest.fixture(scope="module")
def document() -> DocumentTransport:
    return DocumentTransport(USERS_DOCUMENT)


@pytest.fixture
def users(document: DocumentTransport) -> Iterator[DocumentTransport]:
    """The users API as its document describes it, behind orders' lookups (no cache)."""
    document.reset()
    install_users_client(UsersClient(base_url="http://users.test", transport=document))
    yield document
    close_users_client()
    assert document.mismatches == []


def _sub(token: str) -> str:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def _user(token: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": int(_sub(token)),
        "username": "alice",
        "email": "alice@users.example",
        "display_name": "Alice from the document",
        "is_active": True,
        "date_joined": "2026-01-02T03:04:05Z",
        **fields,
    }


def place(client: Client, token: str) -> Any:
    return client.post(
        "/api/orders/",
        {"product": "saw", "quantity": 1},
        content_type="application/json",
        **bearer(token),
    )


def problem_code(response: Any) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return str(response.json()["type"]).rsplit("/", 1)[-1]


def test_the_owner_is_what_users_retrieve_answers(
    client: Client, tokens: dict[str, str], users: DocumentTransport
) -> None:
    users.answer("users_retrieve", body=_user(tokens["alice"]))
    response = place(client, tokens["alice"])
    assert response.status_code == 201, response.content
    assert response.json()["owner_name"] == "Alice from the document"
    assert response.json()["owner_email"] == "alice@users.example"
    (call,) = users.calls_to("users_retrieve")
    assert call.path_params == {"id": _sub(tokens["alice"])}
    assert call.request.headers["X-Request-ID"] == response["X-Request-ID"]


def test_without_an_answer_set_the_documents_example_is_the_owner(
    client: Client, tokens: dict[str, str], users: DocumentTransport
) -> None:
    response = place(client, tokens["alice"])
    assert response.status_code == 201, response.content
    assert response.json()["owner_email"] == users.example("users_retrieve")["email"]


def test_a_user_unknown_to_users_is_a_403(
    client: Client, tokens: dict[str, str], users: DocumentTransport
) -> None:
    users.answer("users_retrieve", status=404)
    response = place(client, tokens["alice"])
    assert response.status_code == 403
    assert problem_code(response) == "user_not_allowed"


def test_an_inactive_user_is_a_403(
    client: Client, tokens: dict[str, str], users: DocumentTransport
) -> None:
    users.answer("users_retrieve", body=_user(tokens["alice"], is_active=False))
    response = place(client, tokens["alice"])
    assert response.status_code == 403
    assert response.json()["detail"].endswith("is inactive")


@pytest.mark.parametrize(
    ("status", "code"), [(401, "users_unavailable"), (403, "users_unavailable")]
)
def test_users_refusing_the_service_token_is_a_503(
    client: Client, tokens: dict[str, str], users: DocumentTransport, status: int, code: str
) -> None:
    users.answer("users_retrieve", status=status)
    response = place(client, tokens["alice"])
    assert response.status_code == 503
    assert problem_code(response) == code


def test_users_failing_is_a_502_and_users_overloaded_a_503(
    client: Client, tokens: dict[str, str], users: DocumentTransport
) -> None:
    users.answer("users_retrieve", status=500, body={"detail": "boom"}, check=False)
    failing = place(client, tokens["alice"])
    assert failing.status_code == 502
    assert problem_code(failing) == "users_bad_gateway"
    # 503 is retried by the client (GET is idempotent): orders answers only once it gives up.
    users.answer("users_retrieve", status=503, body={}, headers={"Retry-After": "0"}, check=False)
    overloaded = place(client, tokens["alice"])
    assert overloaded.status_code == 503
    assert problem_code(overloaded) == "users_unavailable"
    assert len(users.calls_to("users_retrieve")) > 2


def test_an_answer_outside_the_document_is_a_502(
    client: Client, tokens: dict[str, str], users: DocumentTransport
) -> None:
    users.answer("users_retrieve", body={"id": "not a number"}, check=False)
    response = place(client, tokens["alice"])
    assert response.status_code == 502
    assert problem_code(response) == "users_bad_gateway"


def test_a_cacheable_user_is_asked_for_once(
    client: Client, tokens: dict[str, str], document: DocumentTransport
) -> None:
    document.reset()
    install_users_client(
        UsersClient(base_url="http://users.test", transport=document, cache=HTTPCache())
    )
    document.answer(
        "users_retrieve",
        body=_user(tokens["alice"]),
        headers={"Cache-Control": "private, max-age=60", "ETag": '"v1"'},
    )
    try:
        assert place(client, tokens["alice"]).status_code == 201
        assert place(client, tokens["alice"]).status_code == 201
    finally:
        close_users_client()
    assert len(document.calls_to("users_retrieve")) == 1
    assert document.mismatches == []
