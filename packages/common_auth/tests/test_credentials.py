"""ClientCredentials and ForwardUserToken against authlib's token endpoint over loopback."""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections.abc import Callable

import httpx
import pytest

from common_auth import (
    ClientCredentials,
    ConfigurationError,
    ForwardUserToken,
    TokenEndpointError,
    access_token_context,
)

SECRET = "orders-secret-value"


def credentials(issuer, **options) -> ClientCredentials:
    return ClientCredentials(
        token_url=issuer.token_url,
        client_id="orders",
        client_secret=SECRET,
        scope="users:read",
        **options,
    )


def test_sync_client_gets_a_token_and_calls_the_api(jwt_issuer) -> None:
    with httpx.Client(auth=credentials(jwt_issuer)) as client:
        response = client.get(jwt_issuer.api_url)
    assert response.status_code == 200
    assert response.json() == {"client_id": "orders", "scope": "users:read"}


def test_client_secret_post_is_accepted_by_the_issuer(jwt_issuer) -> None:
    with httpx.Client(auth=credentials(jwt_issuer, auth_method="client_secret_post")) as client:
        assert client.get(jwt_issuer.api_url).status_code == 200


def test_async_client_gets_a_token_and_calls_the_api(jwt_issuer) -> None:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(auth=credentials(jwt_issuer)) as client:
            return await client.get(jwt_issuer.api_url)

    assert asyncio.run(call()).status_code == 200


def test_token_is_cached_across_requests(jwt_issuer) -> None:
    auth = credentials(jwt_issuer)
    with httpx.Client(auth=auth) as client:
        for _ in range(5):
            assert client.get(jwt_issuer.api_url).status_code == 200
    assert jwt_issuer.requests["token"] == 1


def test_token_is_refreshed_shortly_before_it_expires(jwt_issuer) -> None:
    # The issuer grants 300 s; a margin above half the lifetime is capped at half, so a margin
    # of 300 s makes the token due at 150 s; a negative clock is simplest: force it due now.
    auth = credentials(jwt_issuer)
    first = auth.get_token()
    assert auth.get_token() == first
    assert auth._token is not None
    object.__setattr__(auth._token, "refresh_at", 0.0)
    assert auth.get_token() != first
    assert jwt_issuer.requests["token"] == 2


def test_concurrent_threads_fetch_one_token(jwt_issuer) -> None:
    auth = credentials(jwt_issuer)
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def worker() -> None:
        barrier.wait()
        seen.append(auth.get_token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1
    assert jwt_issuer.requests["token"] == 1


def test_concurrent_tasks_fetch_one_token(jwt_issuer) -> None:
    auth = credentials(jwt_issuer)

    async def many() -> list[str]:
        return list(await asyncio.gather(*(auth.aget_token() for _ in range(20))))

    assert len(set(asyncio.run(many()))) == 1
    assert jwt_issuer.requests["token"] == 1


def test_a_401_is_retried_once_with_a_fresh_token(jwt_issuer) -> None:
    auth = credentials(jwt_issuer)
    with httpx.Client(auth=auth) as client:
        assert client.get(jwt_issuer.api_url).status_code == 200
        jwt_issuer.revoke_all()
        response = client.get(jwt_issuer.api_url)
    assert response.status_code == 200
    assert len(response.history) == 1
    assert response.history[0].status_code == 401
    assert jwt_issuer.requests["token"] == 2


def test_async_401_is_retried_once_with_a_fresh_token(jwt_issuer) -> None:
    auth = credentials(jwt_issuer)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(auth=auth) as client:
            await client.get(jwt_issuer.api_url)
            jwt_issuer.revoke_all()
            return await client.get(jwt_issuer.api_url)

    assert asyncio.run(call()).status_code == 200
    assert jwt_issuer.requests["token"] == 2


def test_a_second_401_is_returned_not_retried_again(jwt_issuer) -> None:
    # An API that rejects every token must not make the client loop on the token endpoint.
    with httpx.Client(auth=credentials(jwt_issuer)) as client:
        response = client.get(f"{jwt_issuer.url}/api/always-401")
    assert response.status_code == 401
    assert len(response.history) == 1
    assert jwt_issuer.requests["token"] == 2


def test_wrong_secret_is_a_typed_error_without_the_secret(jwt_issuer, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-right-secret-123"
    auth = ClientCredentials(
        token_url=jwt_issuer.token_url, client_id="orders", client_secret=wrong
    )
    with httpx.Client(auth=auth) as client, pytest.raises(TokenEndpointError) as caught:
        client.get(jwt_issuer.api_url)
    assert caught.value.status == 401
    assert caught.value.error == "invalid_client"
    assert wrong not in str(caught.value)
    assert wrong not in repr(auth)
    assert wrong not in caplog.text
    assert caught.value.__cause__ is None


def test_unreachable_token_endpoint_is_a_typed_error_without_the_secret(unused_url) -> None:
    auth = ClientCredentials(token_url=unused_url, client_id="orders", client_secret=SECRET)
    with pytest.raises(TokenEndpointError) as caught:
        auth.get_token()
    assert caught.value.status is None
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_secret_never_in_repr_or_logs(jwt_issuer, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    auth = credentials(jwt_issuer)
    with httpx.Client(auth=auth) as client:
        client.get(jwt_issuer.api_url)
    assert SECRET not in repr(auth)
    assert SECRET not in str(vars(auth))
    assert SECRET not in caplog.text
    basic = base64.b64encode(f"orders:{SECRET}".encode()).decode()
    assert basic not in caplog.text


def test_from_env_reads_the_documented_names(jwt_issuer) -> None:
    env = {
        "ORDERS_TOKEN_URL": jwt_issuer.token_url,
        "ORDERS_CLIENT_ID": "orders",
        "ORDERS_CLIENT_SECRET": SECRET,
        "ORDERS_SCOPE": "users:read users:write",
        "ORDERS_AUDIENCE": "https://api.commons.test",
    }
    auth = ClientCredentials.from_env("ORDERS", environ=env)
    assert auth.client_id == "orders"
    assert auth.scope == "users:read users:write"
    assert auth.audience == "https://api.commons.test"
    with httpx.Client(auth=auth) as client:
        assert client.get(jwt_issuer.api_url).json()["scope"] == "users:read users:write"


def test_from_env_reads_os_environ(monkeypatch) -> None:
    monkeypatch.setenv("BILLING_TOKEN_URL", "http://127.0.0.1:9/token")
    monkeypatch.setenv("BILLING_CLIENT_ID", "billing")
    monkeypatch.setenv("BILLING_CLIENT_SECRET", "s3")
    assert ClientCredentials.from_env("BILLING").client_id == "billing"


def test_from_env_names_every_missing_variable() -> None:
    with pytest.raises(ConfigurationError, match="ORDERS_TOKEN_URL, ORDERS_CLIENT_SECRET"):
        ClientCredentials.from_env("ORDERS", environ={"ORDERS_CLIENT_ID": "orders"})


@pytest.mark.parametrize("prefix", ["", "orders", "1X", "A-B"])
def test_from_env_rejects_a_bad_prefix(prefix) -> None:
    with pytest.raises(ConfigurationError, match="prefix"):
        ClientCredentials.from_env(prefix, environ={})


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"token_url": "not a url"}, "token_url"),
        ({"token_url": "ftp://x/token"}, "token_url"),
        ({"token_url": "http://[::1/token"}, "token_url"),
        ({"token_url": "/token"}, "token_url"),
        ({"client_id": ""}, "client_id"),
        ({"client_secret": ""}, "client_secret"),
        ({"auth_method": "private_key_jwt"}, "auth_method"),
    ],
)
def test_bad_configuration_is_a_typed_error(options, match) -> None:
    arguments = {"token_url": "http://127.0.0.1/token", "client_id": "a", "client_secret": "b"}
    with pytest.raises(ConfigurationError, match=match):
        ClientCredentials(**(arguments | options))


def test_forward_user_token_passes_the_given_token(jwt_issuer) -> None:
    token = credentials(jwt_issuer).get_token()
    with httpx.Client(auth=ForwardUserToken(token)) as client:
        assert client.get(jwt_issuer.api_url).status_code == 200


def test_forward_user_token_passes_the_current_request_token(jwt_issuer) -> None:
    token = credentials(jwt_issuer).get_token()
    with httpx.Client(auth=ForwardUserToken()) as client:
        with access_token_context(token):
            assert client.get(jwt_issuer.api_url).status_code == 200
        outside = client.get(jwt_issuer.api_url)
    assert outside.status_code == 401
    assert "Authorization" not in outside.request.headers


def test_token_requests_carry_the_current_request_id(jwt_issuer) -> None:
    from common_utils import request_context

    with request_context(request_id="req-auth-1"):
        credentials(jwt_issuer).get_token()
    credentials(jwt_issuer).get_token()
    assert jwt_issuer.request_ids == ["req-auth-1", None]


def test_concurrent_401s_fetch_one_fresh_token(jwt_issuer) -> None:
    auth = credentials(jwt_issuer)
    with httpx.Client(auth=auth) as client:
        assert client.get(jwt_issuer.api_url).status_code == 200
        jwt_issuer.revoke_all()
        barrier = threading.Barrier(6)
        statuses: list[int] = []

        def call() -> None:
            barrier.wait()
            statuses.append(client.get(jwt_issuer.api_url).status_code)

        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * 6
    assert jwt_issuer.requests["token"] == 2  # the first token, and one fresh one for all


def test_threads_and_event_loops_together_fetch_one_token(jwt_issuer) -> None:
    auth = credentials(jwt_issuer)
    jwt_issuer.token_gate.clear()  # the issuer holds its answer until everyone waits
    seen: list[str] = []

    def thread_caller() -> None:
        seen.append(auth.get_token())

    def loop_caller() -> None:
        async def many() -> list[str]:
            return list(await asyncio.gather(*(auth.aget_token() for _ in range(5))))

        seen.extend(asyncio.run(many()))

    callers = [threading.Thread(target=thread_caller) for _ in range(3)]
    callers += [threading.Thread(target=loop_caller) for _ in range(2)]
    for caller in callers:
        caller.start()
    # While the first token request is held, every other caller finds no token and must wait
    # for that one, whichever thread or loop it runs on.
    assert jwt_issuer.token_requested.wait(timeout=10)
    jwt_issuer.token_gate.set()
    for caller in callers:
        caller.join()
    assert len(seen) == 13
    assert len(set(seen)) == 1
    assert jwt_issuer.requests["token"] == 1


def test_a_string_expires_in_is_accepted(jwt_issuer) -> None:
    auth = ClientCredentials(
        token_url=f"{jwt_issuer.url}/odd-token/string-expiry", client_id="a", client_secret="b"
    )
    assert auth.get_token() == "t"
    assert auth.get_token() == "t"


@pytest.mark.parametrize(
    ("kind", "status", "match"),
    [
        ("no-token", 200, "no access_token"),
        ("mac", 200, "not Bearer"),
        ("negative", 200, "expires_in"),
        ("html", 200, "no access_token"),
        ("server-error", 500, "HTTP 500"),
    ],
)
def test_a_wrong_answer_is_a_typed_error(jwt_issuer, kind, status, match) -> None:
    auth = ClientCredentials(
        token_url=f"{jwt_issuer.url}/odd-token/{kind}", client_id="a", client_secret="b"
    )
    with pytest.raises(TokenEndpointError, match=match) as caught:
        auth.get_token()
    assert caught.value.status == status


def test_credentials_in_an_endpoint_url_are_refused_without_quoting_them() -> None:
    # httpx logs request URLs in full, so a password in one would reach the logs: refused, and
    # the error shows the URL without it.
    from common_auth import IntrospectionVerifier, JWKSCache

    url = "https://orders:hunter2-secret@auth.commons.test/token"
    makers: list[Callable[[], object]] = [
        lambda: ClientCredentials(token_url=url, client_id="a", client_secret="b"),
        lambda: JWKSCache(url),
        lambda: IntrospectionVerifier(introspection_url=url, client_id="a", client_secret="b"),
        lambda: ClientCredentials.from_env(
            "ORDERS",
            environ={
                "ORDERS_TOKEN_URL": url,
                "ORDERS_CLIENT_ID": "orders",
                "ORDERS_CLIENT_SECRET": "s",
            },
        ),
    ]
    for make in makers:
        with pytest.raises(ConfigurationError, match="must not carry credentials") as caught:
            make()
        assert "hunter2" not in str(caught.value)
        assert "https://auth.commons.test/token" in str(caught.value)
