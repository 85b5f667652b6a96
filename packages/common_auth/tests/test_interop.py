"""Interoperation with a third-party issuer: authlib's RFC 9068 JWT access tokens over HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from common_auth import (
    ClientCredentials,
    JWKSCache,
    TokenVerifier,
    UnknownSigningKey,
)

AUDIENCE = "https://api.commons.test"


def fetch_token(issuer, scope: str = "users:read") -> str:
    auth = ClientCredentials(
        token_url=issuer.token_url,
        client_id="orders",
        client_secret="orders-secret-value",
        scope=scope,
    )
    return auth.get_token()


def test_authlib_jwt_access_tokens_verify(jwt_issuer) -> None:
    token = fetch_token(jwt_issuer, "users:read users:write")
    verifier = TokenVerifier(issuer=jwt_issuer.url, audience=AUDIENCE, jwks_url=jwt_issuer.jwks_url)
    claims = verifier.verify(token)
    assert claims.client_id == "orders"
    assert claims.sub == "orders"
    assert claims.scopes == {"users:read", "users:write"}
    assert claims.jti
    assert jwt_issuer.requests["jwks"] == 1


def test_authlib_tokens_verify_async(jwt_issuer) -> None:
    token = fetch_token(jwt_issuer)
    verifier = TokenVerifier(issuer=jwt_issuer.url, audience=AUDIENCE, jwks_url=jwt_issuer.jwks_url)
    assert asyncio.run(verifier.averify(token)).client_id == "orders"


def test_authlib_tokens_for_another_issuer_url_are_refused(jwt_issuer) -> None:
    from common_auth import InvalidClaims

    token = fetch_token(jwt_issuer)
    verifier = TokenVerifier(
        issuer="https://elsewhere.test", audience=AUDIENCE, jwks_url=jwt_issuer.jwks_url
    )
    with pytest.raises(InvalidClaims):
        verifier.verify(token)


def test_a_key_the_issuer_does_not_publish_is_unknown(jwt_issuer, forge) -> None:
    verifier = TokenVerifier(
        issuer=jwt_issuer.url, audience=AUDIENCE, keys=JWKSCache(jwt_issuer.jwks_url)
    )
    forged = forge.token(forge.claims(iss=jwt_issuer.url), header={"kid": "authlib-2"})
    with pytest.raises(UnknownSigningKey):
        verifier.verify(forged)


def test_client_credentials_token_calls_a_protected_api(jwt_issuer) -> None:
    auth = ClientCredentials(
        token_url=jwt_issuer.token_url, client_id="orders", client_secret="orders-secret-value"
    )
    with httpx.Client(auth=auth) as client:
        assert client.get(jwt_issuer.api_url).json()["client_id"] == "orders"


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
@pytest.mark.filterwarnings("ignore:EdDSA is deprecated:joserfc.errors.SecurityWarning")
def test_our_tokens_verify_with_joserfc_and_our_published_jwks(alg) -> None:
    # The other direction: what issue_access_token signs and jwks() publishes is standard.
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import KeySet

    from common_auth import SigningKey, SigningKeySet, issue_access_token

    keys = SigningKeySet(SigningKey.generate(alg))
    token = issue_access_token(
        keys, issuer="https://us.test", subject="u1", audience=AUDIENCE, scopes=["a"]
    )
    published = KeySet.import_key_set(keys.jwks())  # type: ignore[arg-type]
    decoded = jose_jwt.decode(token, published, algorithms=[alg])
    assert decoded.header["kid"] == keys.active.kid
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["sub"] == "u1"
    assert decoded.claims["scope"] == "a"


def test_our_jwks_view_serves_pyjwks_client(settings, live_server) -> None:
    import jwt

    from common_auth import SigningKey, issue_access_token
    from common_auth.django import get_signing_keys

    settings.COMMON_AUTH = {
        "ISSUER": "https://us.test",
        "AUDIENCE": AUDIENCE,
        "SIGNING_KEYS": [SigningKey.generate("ES256").private_pem()],
    }
    token = issue_access_token(
        get_signing_keys(), issuer="https://us.test", subject="u2", audience=AUDIENCE
    )
    client = jwt.PyJWKClient(f"{live_server.url}/.well-known/jwks.json")
    key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=AUDIENCE)
    assert claims["sub"] == "u2"


def test_a_django_service_trusts_authlib_tokens_end_to_end(settings, jwt_issuer) -> None:
    # A consuming service configured only with the third-party issuer's URL and its own
    # audience: ClientCredentials gets a token at authlib's token endpoint, the middleware
    # verifies it against authlib's JWKS over HTTP, fetched once for many requests.
    from django.test import Client

    settings.COMMON_AUTH = {
        "ISSUER": jwt_issuer.url,
        "AUDIENCE": AUDIENCE,
        "JWKS_URL": jwt_issuer.jwks_url,
    }
    token = fetch_token(jwt_issuer, "users:read")
    client = Client()
    for _ in range(5):
        body = client.get("/whoami/", headers={"Authorization": f"Bearer {token}"}).json()
        assert body["authenticated"] is True
        assert body["id"] == "orders"
        assert body["scopes"] == ["users:read"]
    assert jwt_issuer.requests["jwks"] == 1
    forged = fetch_token(jwt_issuer)[:-4] + "AAAA"
    response = client.get("/whoami/", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.json()["reason"] == "bad_signature"
