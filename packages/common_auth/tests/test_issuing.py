"""Signing keys, issue_access_token and key rotation end to end over a real JWKS endpoint."""

from __future__ import annotations

import json
import time

import pytest

from common_auth import (
    ConfigurationError,
    JWKSCache,
    SigningKey,
    SigningKeyError,
    SigningKeySet,
    TokenVerifier,
    UnknownSigningKey,
    issue_access_token,
)

ISSUER = "https://issuer.commons.test"
AUDIENCE = "https://api.commons.test"


def issue(keys: SigningKeySet, **options) -> str:
    return issue_access_token(
        keys, issuer=ISSUER, subject="user-1", audience=AUDIENCE, scopes=["a", "b"], **options
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "PS256", "ES384"])
def test_issued_tokens_verify_with_the_published_keys(alg) -> None:
    keys = SigningKeySet(SigningKey.generate(alg))
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=keys, algorithms=[alg])
    claims = verifier.verify(issue(keys, roles=["admin"], client_id="web", claims={"tenant": "x"}))
    assert claims.scopes == {"a", "b"}
    assert claims.roles == ("admin",)
    assert claims.client_id == "web"
    assert claims.model_extra == {"tenant": "x"}
    assert claims.jti


def test_the_default_kid_is_the_rfc7638_thumbprint() -> None:
    # The example key of RFC 7638 section 3.1 and its thumbprint.
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
            "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65"
            "YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyr"
            "dkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzK"
            "nqDKgw"
        ),
        "e": "AQAB",
    }
    from common_auth._issuing import _thumbprint

    assert _thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_keys_load_from_pem_and_jwk_and_hide_the_private_half() -> None:
    key = SigningKey.generate("ES256", kid="k1")
    pem = key.private_pem()
    assert SigningKey.from_pem(pem, kid="k1").public_jwk() == key.public_jwk()
    private_jwk = json.loads(__import__("jwt").algorithms.ECAlgorithm.to_jwk(key.private_key)) | {
        "kid": "k1"
    }
    assert SigningKey.from_jwk(private_jwk).public_jwk() == key.public_jwk()
    assert SigningKey.load(json.dumps(private_jwk)).kid == "k1"
    assert SigningKey.load(pem).algorithm == "ES256"
    assert "PRIVATE" not in repr(key)
    assert private_jwk["d"] not in repr(key)
    assert "d" not in key.public_jwk()


@pytest.mark.parametrize(
    "value",
    [
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
        "{not json",
        '{"kty": "oct", "k": "c2VjcmV0"}',
        '{"kty": "RSA", "n": "AQAB", "e": "AQAB"}',
        "[1]",
    ],
)
def test_unusable_keys_are_a_typed_error_that_does_not_quote_them(value) -> None:
    with pytest.raises(SigningKeyError) as caught:
        SigningKey.load(value)
    assert "not a key" not in str(caught.value)


def test_an_algorithm_that_does_not_fit_the_key_is_refused() -> None:
    key = SigningKey.generate("ES256")
    with pytest.raises(SigningKeyError, match="does not fit"):
        SigningKey.of(key.private_key, algorithm="RS256")
    with pytest.raises(SigningKeyError, match="cannot generate"):
        SigningKey.generate("HS256")


def test_key_set_from_settings_and_env() -> None:
    new, old = SigningKey.generate("ES256"), SigningKey.generate("EdDSA")
    keys = SigningKeySet.from_settings([new.private_pem(), old.private_pem()])
    assert keys.active.kid == new.kid
    assert [k["kid"] for k in keys.jwks()["keys"]] == [new.kid, old.kid]
    env = {
        "AUTH_SIGNING_KEY": new.private_pem(),
        "AUTH_PREVIOUS_SIGNING_KEYS": json.dumps([old.private_pem()]),
    }
    assert SigningKeySet.from_env("AUTH", environ=env).jwks() == keys.jwks()
    with pytest.raises(ConfigurationError, match="AUTH_SIGNING_KEY"):
        SigningKeySet.from_env("AUTH", environ={})
    with pytest.raises(ConfigurationError, match=r"SIGNING_KEYS\[1\]"):
        SigningKeySet.from_settings([new.private_pem(), "garbage"])
    with pytest.raises(ConfigurationError, match="non-empty list"):
        SigningKeySet.from_settings([])
    with pytest.raises(ConfigurationError, match="twice"):
        SigningKeySet.from_settings([new.private_pem(), new.private_pem()])


def test_lifetime_is_bounded_by_the_rotation_window() -> None:
    keys = SigningKeySet(SigningKey.generate(), max_token_lifetime=600)
    with pytest.raises(ConfigurationError, match="lifetime"):
        issue(keys, lifetime=601)
    with pytest.raises(ConfigurationError, match="override"):
        issue(keys, claims={"iss": "someone else"})


def test_rotation_end_to_end(jwks_server, clock) -> None:
    """Tokens from before and after a rotation verify; after retirement old ones fail; the
    verifier fetches the JWKS only when the policy allows (TTL, unknown kid interval)."""
    keys = SigningKeySet(SigningKey.generate("ES256", kid="2026-01"), max_token_lifetime=900)
    jwks_server.provider = keys.jwks
    jwks_server.cache_control = "max-age=300"
    verifier = TokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=JWKSCache(jwks_server.url, refetch_interval=60, clock=clock),
    )
    before = issue(keys)
    assert verifier.verify(before).sub == "user-1"
    assert jwks_server.fetches == 1

    keys.rotate(SigningKey.generate("EdDSA", kid="2026-02"))
    after = issue(keys)
    clock.advance(61)  # an unknown kid may trigger a refetch once the interval has passed
    assert verifier.verify(after).sub == "user-1"
    assert verifier.verify(before).sub == "user-1"
    assert jwks_server.fetches == 2
    for _ in range(20):
        verifier.verify(before)
        verifier.verify(after)
    assert jwks_server.fetches == 2

    keys.retire("2026-01")
    clock.advance(301)  # the cached JWKS expires: the next use refetches once
    assert verifier.verify(after).sub == "user-1"
    with pytest.raises(UnknownSigningKey):
        verifier.verify(before)
    assert jwks_server.fetches == 3


def test_a_replaced_key_is_withdrawn_after_the_token_lifetime() -> None:
    keys = SigningKeySet(SigningKey.generate(kid="old"), max_token_lifetime=600)
    now = time.time()
    keys.rotate(SigningKey.generate(kid="new"), now=now)
    assert {k["kid"] for k in keys.jwks(now=now + 599)["keys"]} == {"old", "new"}
    assert {k["kid"] for k in keys.jwks(now=now + 600)["keys"]} == {"new"}
    with pytest.raises(ConfigurationError, match="in use"):
        keys.rotate(SigningKey.generate(kid="new"))
    with pytest.raises(ConfigurationError, match="no replaced key"):
        keys.retire("old")
