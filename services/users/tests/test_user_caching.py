"""A user's answer is cacheable: ETag, Cache-Control: max-age, Vary: Authorization, and 304 to a
matching If-None-Match; the generated client with a cache serves it from memory and revalidates
it, against this service running on a real port (pytest-django's live server)."""

from __future__ import annotations

from typing import Any

import pytest
from common_clients import HTTPCache
from common_clients_users import UsersClient
from django.test import override_settings

from tests.test_users_api import bearer

CACHE_STATUS = "common_clients.cache"


def test_retrieve_sends_an_etag_and_max_age_and_answers_304_when_unchanged(
    client: Any, alice: Any, orders_token: str
) -> None:
    first = client.get(f"/api/users/{alice.pk}/", **bearer(orders_token))
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert first["Cache-Control"] == "private, max-age=30"
    assert "Authorization" in first["Vary"]

    again = client.get(
        f"/api/users/{alice.pk}/", HTTP_IF_NONE_MATCH=f'"other", {etag}', **bearer(orders_token)
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag

    alice.profile.display_name = "Alice B"
    alice.profile.save()
    changed = client.get(f"/api/users/{alice.pk}/", HTTP_IF_NONE_MATCH=etag, **bearer(orders_token))
    assert changed.status_code == 200
    assert changed.json()["display_name"] == "Alice B"
    assert changed["ETag"] != etag


def test_a_304_still_needs_the_scope(client: Any, alice: Any, orders_token: str) -> None:
    etag = client.get(f"/api/users/{alice.pk}/", **bearer(orders_token))["ETag"]
    response = client.get(f"/api/users/{alice.pk}/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_cached_client_is_served_from_memory_within_max_age(
    live_server: Any, alice: Any, orders_token: str
) -> None:
    with UsersClient(
        base_url=live_server.url, headers=bearer_header(orders_token), cache=HTTPCache()
    ) as users:
        first = users.with_raw_response.users.retrieve(id=alice.pk)
        second = users.with_raw_response.users.retrieve(id=alice.pk)
    assert first.http_response.extensions[CACHE_STATUS] == "miss"
    assert second.http_response.extensions[CACHE_STATUS] == "hit"
    assert second.parsed == first.parsed
    assert int(second.http_response.headers["Age"]) <= 30


@pytest.mark.django_db(transaction=True)
def test_after_max_age_the_client_revalidates_and_a_304_keeps_the_cached_user(
    live_server: Any, alice: Any, orders_token: str
) -> None:
    with (
        override_settings(USERS_CACHE_MAX_AGE=0),
        UsersClient(
            base_url=live_server.url, headers=bearer_header(orders_token), cache=HTTPCache()
        ) as users,
    ):
        first = users.with_raw_response.users.retrieve(id=alice.pk)
        second = users.with_raw_response.users.retrieve(id=alice.pk)
        alice.profile.display_name = "Alice C"
        alice.profile.save()
        third = users.with_raw_response.users.retrieve(id=alice.pk)
    assert first.http_response.extensions[CACHE_STATUS] == "miss"
    assert second.http_response.extensions[CACHE_STATUS] == "revalidated"
    assert second.http_response.status_code == 200
    assert second.parsed == first.parsed
    assert third.http_response.extensions[CACHE_STATUS] == "miss"
    assert third.parsed.display_name == "Alice C"


def bearer_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
