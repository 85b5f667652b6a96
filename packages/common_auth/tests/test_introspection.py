"""IntrospectionVerifier against authlib's RFC 7662 endpoint, with opaque tokens, over loopback."""

from __future__ import annotations

import asyncio
import threading

import pytest

from common_auth import (
    ClientCredentials,
    ConfigurationError,
    IntrospectionError,
    IntrospectionVerifier,
    InvalidClaims,
    InvalidToken,
    MalformedToken,
)

AUDIENCE = "https://api.commons.test"
SECRET = "orders-secret-value"


def opaque_token(issuer, scope: str = "users:read") -> str:
    return ClientCredentials(
        token_url=issuer.token_url, client_id="orders", client_secret=SECRET, scope=scope
    ).get_token()


def make_verifier(issuer, clock, **options) -> IntrospectionVerifier:
    return IntrospectionVerifier(
        introspection_url=issuer.introspection_url,
        client_id="orders",
        client_secret=SECRET,
        issuer=issuer.url,
        audience=AUDIENCE,
        clock=clock,
        **options,
    )


def test_an_active_opaque_token_gives_claims(opaque_issuer, clock) -> None:
    token = opaque_token(opaque_issuer, "users:read users:write")
    assert "." not in token  # really opaque
    claims = make_verifier(opaque_issuer, clock).verify(token)
    assert claims.client_id == "orders"
    assert claims.sub == "orders"
    assert claims.scopes == {"users:read", "users:write"}


def test_answers_are_cached_for_the_ttl(opaque_issuer, clock) -> None:
    token = opaque_token(opaque_issuer)
    verifier = make_verifier(opaque_issuer, clock, cache_ttl=30)
    for _ in range(10):
        verifier.verify(token)
    assert opaque_issuer.requests["introspect"] == 1
    clock.advance(31)
    verifier.verify(token)
    assert opaque_issuer.requests["introspect"] == 2


def test_a_revoked_token_is_inactive_after_the_cache_ttl(opaque_issuer, clock) -> None:
    token = opaque_token(opaque_issuer)
    verifier = make_verifier(opaque_issuer, clock, cache_ttl=30)
    verifier.verify(token)
    opaque_issuer.revoke_all()
    clock.advance(31)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason == "inactive"


def test_unknown_tokens_are_inactive_and_negatively_cached(opaque_issuer, clock) -> None:
    verifier = make_verifier(opaque_issuer, clock, negative_ttl=5)
    for _ in range(20):
        with pytest.raises(InvalidToken, match="not active"):
            verifier.verify("made-up-token")
    assert opaque_issuer.requests["introspect"] == 1


def test_async_verify(opaque_issuer, clock) -> None:
    token = opaque_token(opaque_issuer)
    verifier = make_verifier(opaque_issuer, clock)
    assert asyncio.run(verifier.averify(token)).client_id == "orders"


def test_a_token_for_another_audience_is_refused(opaque_issuer, clock) -> None:
    token = opaque_token(opaque_issuer)
    verifier = IntrospectionVerifier(
        introspection_url=opaque_issuer.introspection_url,
        client_id="orders",
        client_secret=SECRET,
        audience="https://elsewhere.test",
        clock=clock,
    )
    with pytest.raises(InvalidClaims, match="audience"):
        verifier.verify(token)


def test_junk_is_refused_without_asking_the_issuer(opaque_issuer, clock) -> None:
    verifier = make_verifier(opaque_issuer, clock)
    for junk in ("", "a b", "x" * 10_000, "\u00e9t\u00e9", "a\nb"):
        with pytest.raises(MalformedToken):
            verifier.verify(junk)
    assert opaque_issuer.requests.get("introspect", 0) == 0


def test_wrong_resource_server_credentials_are_an_introspection_error(opaque_issuer, clock):
    verifier = IntrospectionVerifier(
        introspection_url=opaque_issuer.introspection_url,
        client_id="orders",
        client_secret="wrong-secret-value",
        clock=clock,
    )
    with pytest.raises(IntrospectionError, match="HTTP 401") as caught:
        verifier.verify("anything")
    assert "wrong-secret-value" not in str(caught.value)


def test_unreachable_endpoint_is_an_introspection_error(unused_url, clock) -> None:
    verifier = IntrospectionVerifier(
        introspection_url=unused_url, client_id="a", client_secret="b", clock=clock
    )
    with pytest.raises(IntrospectionError, match="unreachable"):
        verifier.verify("anything")


def test_configuration_errors_are_typed() -> None:
    with pytest.raises(ConfigurationError):
        IntrospectionVerifier(introspection_url="nope", client_id="a", client_secret="b")
    with pytest.raises(ConfigurationError):
        IntrospectionVerifier(introspection_url="http://x/i", client_id="a", client_secret="")


def test_concurrent_threads_with_one_new_token_ask_once(opaque_issuer, clock) -> None:
    token = opaque_token(opaque_issuer)
    verifier = make_verifier(opaque_issuer, clock)
    opaque_issuer.introspect_gate.clear()
    clients: list[str | None] = []

    def caller() -> None:
        clients.append(verifier.verify(token).client_id)

    threads = [threading.Thread(target=caller) for _ in range(6)]
    for thread in threads:
        thread.start()
    assert opaque_issuer.introspect_requested.wait(timeout=10)
    opaque_issuer.introspect_gate.set()
    for thread in threads:
        thread.join()
    assert clients == ["orders"] * 6
    assert opaque_issuer.requests["introspect"] == 1


def test_concurrent_tasks_with_one_new_token_ask_once(opaque_issuer, clock) -> None:
    token = opaque_token(opaque_issuer)
    verifier = make_verifier(opaque_issuer, clock)

    async def many() -> list[str | None]:
        claims = await asyncio.gather(*(verifier.averify(token) for _ in range(10)))
        return [c.client_id for c in claims]

    assert asyncio.run(many()) == ["orders"] * 10
    assert opaque_issuer.requests["introspect"] == 1
