"""TokenVerifier: valid tokens of each algorithm; every known JWT attack refused with a reason."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from hashlib import sha256

import pytest
from cryptography.hazmat.primitives import serialization

from common_auth import (
    AccessTokenClaims,
    ConfigurationError,
    InvalidClaims,
    InvalidSignature,
    InvalidToken,
    MalformedToken,
    SigningKey,
    StaticKeySet,
    TokenExpired,
    TokenNotYetValid,
    TokenVerifier,
    UnknownSigningKey,
    UnsupportedAlgorithm,
)

ISSUER = "https://issuer.commons.test"
AUDIENCE = "https://api.commons.test"


@pytest.fixture
def verifier(forge) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=forge.keys)


def b64url(data: bytes | str) -> str:
    import base64

    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- what must pass ------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_a_valid_token_of_each_algorithm_verifies(forge, verifier, alg) -> None:
    claims = verifier.verify(forge.token(alg=alg))
    assert isinstance(claims, AccessTokenClaims)
    assert claims.sub == "user-42"
    assert claims.scopes == {"orders:read", "orders:write"}
    assert claims.roles == ("clerk",)
    assert claims.client_id == "web"
    assert claims.has_scopes("orders:read")
    assert not claims.has_scopes("orders:delete")


def test_async_verify_gives_the_same_claims(forge, verifier) -> None:
    token = forge.token()
    assert asyncio.run(verifier.averify(token)) == verifier.verify(token)


def test_audience_list_needs_one_match(forge, verifier) -> None:
    claims = verifier.verify(forge.token(forge.claims(aud=["other", AUDIENCE])))
    assert claims.audiences == ("other", AUDIENCE)


def test_leeway_tolerates_small_clock_skew(forge, verifier) -> None:
    now = int(time.time())
    verifier.verify(forge.token(forge.claims(exp=now - 10, iat=now + 10, nbf=now + 10)))


def test_a_custom_claims_model_receives_extra_claims(forge) -> None:
    class OrdersClaims(AccessTokenClaims):
        tenant: str

    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=forge.keys, claims_model=OrdersClaims
    )
    claims = verifier.verify(forge.token(forge.claims(tenant="acme")))
    assert claims.tenant == "acme"
    with pytest.raises(InvalidClaims, match="tenant") as caught:
        verifier.verify(forge.token())
    assert caught.value.reason == "bad_claim_type"


def test_scp_list_counts_as_scopes(forge, verifier) -> None:
    claims = verifier.verify(forge.token(forge.claims(scope=None, scp=["a", "b"])))
    assert claims.scopes == {"a", "b"}


def test_a_single_key_set_accepts_a_token_without_kid(forge) -> None:
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=StaticKeySet([forge.ec.verification_key()])
    )
    verifier.verify(forge.token(alg="ES256", header={"kid": None}))


# -- the security suite --------------------------------------------------------------------


def rejects(verifier: TokenVerifier, token: object, error: type[InvalidToken], reason: str) -> None:
    with pytest.raises(error) as caught:
        verifier.verify(token)  # type: ignore[arg-type]
    assert caught.value.reason == reason, caught.value
    assert isinstance(caught.value, InvalidToken)


def test_every_attack_of_the_catalogue_is_a_typed_rejection(verifier, attacks) -> None:
    # The same catalogue goes through the Django middleware, the decorator and DRF in
    # test_django.py; here each must be an InvalidToken with its reason, sync and async.
    for name, (token, reason) in attacks.items():
        with pytest.raises(InvalidToken) as caught:
            verifier.verify(token)
        assert caught.value.reason == reason, name
        with pytest.raises(InvalidToken) as caught:
            asyncio.run(verifier.averify(token))
        assert caught.value.reason == reason, name


def test_alg_none_is_refused(forge, verifier) -> None:
    token = forge.unsigned({"alg": "none", "typ": "JWT"}, json.dumps(forge.claims()))
    rejects(verifier, token, UnsupportedAlgorithm, "unsupported_algorithm")
    rejects(verifier, token.rstrip("."), MalformedToken, "malformed")
    for spelling in ("None", "NONE", "nOnE"):
        forged = forge.unsigned({"alg": spelling}, json.dumps(forge.claims()))
        rejects(verifier, forged, UnsupportedAlgorithm, "unsupported_algorithm")


def test_none_and_hmac_can_never_be_allow_listed(forge) -> None:
    for algorithms in (["none"], ["HS256"], ["RS256", "HS512"], []):
        with pytest.raises(ConfigurationError, match="asymmetric"):
            TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=forge.keys, algorithms=algorithms)


def test_rs256_to_hs256_key_confusion_is_refused(forge, verifier) -> None:
    public_pem = forge.rsa.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": forge.rsa.kid, "typ": "JWT"}
    signing_input = f"{b64url(json.dumps(header))}.{b64url(json.dumps(forge.claims()))}"
    mac = hmac.new(public_pem, signing_input.encode(), sha256).digest()
    rejects(
        verifier, f"{signing_input}.{b64url(mac)}", UnsupportedAlgorithm, "unsupported_algorithm"
    )


def test_a_forged_kid_is_unknown(forge, verifier) -> None:
    attacker = SigningKey.generate("RS256", kid="attacker")
    rejects(verifier, forge.token(key=attacker), UnknownSigningKey, "unknown_kid")


def test_a_known_kid_with_the_attackers_signature_fails(forge, verifier) -> None:
    attacker = SigningKey.generate("RS256", kid=forge.rsa.kid)
    rejects(verifier, forge.token(key=attacker), InvalidSignature, "bad_signature")


@pytest.mark.parametrize("name", ["jku", "x5u"])
def test_key_urls_in_the_header_are_refused(forge, verifier, name) -> None:
    token = forge.token(header={name: "http://attacker.invalid/jwks.json"})
    rejects(verifier, token, MalformedToken, "embedded_key")


def test_an_embedded_jwk_is_refused(forge, verifier) -> None:
    attacker = SigningKey.generate("RS256", kid="attacker")
    token = forge.token(key=attacker, header={"jwk": attacker.public_jwk()})
    rejects(verifier, token, MalformedToken, "embedded_key")


def test_an_embedded_certificate_chain_is_refused(forge, verifier) -> None:
    rejects(verifier, forge.token(header={"x5c": ["MIIB"]}), MalformedToken, "embedded_key")


def test_expired_token_is_refused(forge, verifier) -> None:
    token = forge.token(forge.claims(exp=int(time.time()) - 120))
    rejects(verifier, token, TokenExpired, "expired")


def test_not_yet_valid_token_is_refused(forge, verifier) -> None:
    token = forge.token(forge.claims(nbf=int(time.time()) + 600))
    rejects(verifier, token, TokenNotYetValid, "not_yet_valid")


def test_token_issued_in_the_future_is_refused(forge, verifier) -> None:
    token = forge.token(forge.claims(iat=int(time.time()) + 600))
    rejects(verifier, token, TokenNotYetValid, "issued_in_future")


def test_wrong_audience_is_refused(forge, verifier) -> None:
    rejects(
        verifier, forge.token(forge.claims(aud="https://other")), InvalidClaims, "wrong_audience"
    )
    rejects(verifier, forge.token(forge.claims(aud=["a", "b"])), InvalidClaims, "wrong_audience")
    rejects(verifier, forge.token(forge.claims(aud=[AUDIENCE, 1])), InvalidClaims, "bad_aud")


def test_wrong_issuer_is_refused(forge, verifier) -> None:
    token = forge.token(forge.claims(iss="https://issuer.commons.test.evil"))
    rejects(verifier, token, InvalidClaims, "wrong_issuer")


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat"])
def test_missing_required_claim_is_refused(forge, verifier, claim) -> None:
    claims = forge.claims()
    del claims[claim]
    with pytest.raises(InvalidClaims, match=claim) as caught:
        verifier.verify(forge.token(claims))
    assert caught.value.reason == "missing_claim"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        "+++.abc.abc",
        "eyJhbGciOiJSUzI1NiJ9=.e30.abc",
        "eyJhbGciOiJSUzI1NiJ9.e30.a b",
        "eyJhbGciOiJSUzI1NiJ9.e3/0.abc",
        "eyJhbGciOiJSUzI1NiJ9..abc",
        "\u00e9yJ.e30.abc",
        "a.e30.abc",
    ],
)
def test_malformed_base64_is_refused(verifier, token) -> None:
    with pytest.raises(MalformedToken):
        verifier.verify(token)


@pytest.mark.parametrize(
    "header",
    ['{"alg":"RS256"', "[1,2]", '"RS256"', "\xff\xfe", '{"alg":NaN}', "{'alg':'RS256'}"],
)
def test_malformed_header_json_is_refused(forge, verifier, header) -> None:
    token = f"{b64url(header.encode('latin-1'))}.{b64url('{}')}.{b64url(b'sig')}"
    rejects(verifier, token, MalformedToken, "malformed_json")


@pytest.mark.parametrize("payload", ['{"sub":', "[]", "null", '{"exp": Infinity}'])
def test_malformed_payload_json_is_refused_even_when_signed(forge, verifier, payload) -> None:
    rejects(verifier, forge.token(raw_payload=payload), MalformedToken, "malformed_json")


def test_non_string_token_is_refused(verifier) -> None:
    rejects(verifier, b"a.b.c", MalformedToken, "malformed")
    rejects(verifier, None, MalformedToken, "malformed")


def test_oversized_token_is_refused_before_decoding(forge, verifier) -> None:
    # PyJWT alone accepts this 1.3 MB token and spends ~90 ms on it.
    padding = "x" * 1_300_000
    token = forge.token(forge.claims(padding=padding))
    started = time.perf_counter()
    rejects(verifier, token, MalformedToken, "too_large")
    assert len(token) > 1_300_000
    assert time.perf_counter() - started < 0.5  # generous: the cap runs before any decoding


def test_a_token_just_under_the_cap_still_verifies(forge) -> None:
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=forge.keys, max_token_bytes=4096
    )
    verifier.verify(forge.token(forge.claims(note="x" * 2000)))
    rejects(verifier, forge.token(forge.claims(note="x" * 4000)), MalformedToken, "too_large")


def test_duplicated_claims_are_refused(forge, verifier) -> None:
    claims = json.dumps(forge.claims())
    payload = claims[:-1] + ', "sub": "admin"}'
    rejects(verifier, forge.token(raw_payload=payload), MalformedToken, "duplicate_claim")


def test_duplicated_header_names_are_refused(forge, verifier) -> None:
    header = '{"alg":"none","alg":"RS256","kid":"rsa-1"}'
    token = f"{b64url(header)}.{b64url(json.dumps(forge.claims()))}.{b64url(b'x')}"
    rejects(verifier, token, MalformedToken, "duplicate_claim")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", ["9999999999", True, None, [1], {"t": 1}])
def test_dates_must_be_numbers(forge, verifier, claim, value) -> None:
    claims = forge.claims()
    claims[claim] = value
    rejects(verifier, forge.token(claims), InvalidClaims, "bad_date")


@pytest.mark.parametrize("crit", [[], ["exp"], ["b64"], "exp", None])
def test_any_crit_header_is_refused(forge, verifier, crit) -> None:
    token = forge.token(header={"crit": crit} if crit is not None else {"crit": None})
    if crit is None:  # the forge drops None values: build it by hand
        header = {"alg": "RS256", "kid": forge.rsa.kid, "crit": None}
        token = forge.unsigned(header, json.dumps(forge.claims()), b"sig")
    rejects(verifier, token, MalformedToken, "crit")


def test_alg_that_does_not_fit_the_key_is_refused(forge, verifier) -> None:
    # ES256 signed by the EC key but naming the RSA key's kid: PyJWT alone raises TypeError.
    token = forge.token(alg="ES256", key=forge.ec, header={"kid": forge.rsa.kid})
    rejects(verifier, token, UnsupportedAlgorithm, "alg_key_mismatch")
    token = forge.token(alg="EdDSA", key=forge.ed, header={"kid": forge.ec.kid})
    rejects(verifier, token, UnsupportedAlgorithm, "alg_key_mismatch")
    token = forge.token(alg="RS256", key=forge.rsa, header={"kid": forge.ed.kid})
    rejects(verifier, token, UnsupportedAlgorithm, "alg_key_mismatch")


def test_allowed_alg_outside_the_allow_list_is_refused(forge) -> None:
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=forge.keys, algorithms=["ES256"]
    )
    rejects(verifier, forge.token(alg="RS256"), UnsupportedAlgorithm, "unsupported_algorithm")


@pytest.mark.parametrize(
    "signature",
    [
        bytes(64),  # r = 0, s = 0: the "psychic signature"
        bytes(32) + b"\x01" * 32,  # r = 0
        b"\x01" * 32 + bytes(32),  # s = 0
        b"\x01" * 63,  # wrong length
        b"\xff" * 64,  # r, s >= n
    ],
)
def test_bad_ecdsa_signatures_are_refused(forge, verifier, signature) -> None:
    good = forge.token(alg="ES256")
    head, payload, _ = good.split(".")
    rejects(verifier, f"{head}.{payload}.{b64url(signature)}", InvalidSignature, "bad_signature")


def test_ecdsa_malleated_signature_is_a_different_string_but_verifies(forge, verifier) -> None:
    # Why replay detection must use jti: (r, n - s) is valid too, so signatures are not unique.
    from cryptography.hazmat.primitives.asymmetric import ec

    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    good = forge.token(alg="ES256")
    head, payload, sig = good.split(".")
    raw = __import__("base64").urlsafe_b64decode(sig + "==")
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    twin = f"{head}.{payload}.{b64url(r.to_bytes(32, 'big') + (n - s).to_bytes(32, 'big'))}"
    assert twin != good
    assert verifier.verify(twin).jti == verifier.verify(good).jti
    assert isinstance(forge.ec.private_key, ec.EllipticCurvePrivateKey)


def test_tampered_payload_is_refused(forge, verifier) -> None:
    head, _, sig = forge.token().split(".")
    forged = b64url(json.dumps(forge.claims(sub="admin")))
    rejects(verifier, f"{head}.{forged}.{sig}", InvalidSignature, "bad_signature")


def test_a_signature_from_another_algorithm_family_is_refused(forge, verifier) -> None:
    head, payload, _ = forge.token().split(".")
    _, _, ec_sig = forge.token(alg="ES256").split(".")
    rejects(verifier, f"{head}.{payload}.{ec_sig}", InvalidSignature, "bad_signature")


@pytest.mark.parametrize("typ", ["id_token", "JWE", 7])
def test_unexpected_typ_is_refused(forge, verifier, typ) -> None:
    rejects(verifier, forge.token(header={"typ": typ}), MalformedToken, "bad_typ")


@pytest.mark.parametrize("kid", [7, ["rsa-1"], "k" * 300])
def test_a_kid_that_is_not_a_short_string_is_refused(forge, verifier, kid) -> None:
    rejects(verifier, forge.token(header={"kid": kid}), MalformedToken, "bad_kid")


def test_every_rejection_message_is_free_of_claim_values(forge, verifier) -> None:
    token = forge.token(forge.claims(sub="secret-subject", aud="secret-audience"))
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert "secret" not in str(caught.value)


def test_verifier_configuration_errors_are_typed(forge) -> None:
    with pytest.raises(ConfigurationError, match="issuer"):
        TokenVerifier(issuer="", audience=AUDIENCE, keys=forge.keys)
    with pytest.raises(ConfigurationError, match="audience"):
        TokenVerifier(issuer=ISSUER, audience=[], keys=forge.keys)
    with pytest.raises(ConfigurationError, match="exactly one"):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(ConfigurationError, match="leeway"):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=forge.keys, leeway=3600)


@pytest.mark.parametrize("raw", ["1e400", "-1e400"])
def test_infinite_dates_are_refused(forge, verifier, raw) -> None:
    claims = json.dumps(forge.claims())
    payload = claims.replace(f'"exp": {forge.claims()["exp"]}', f'"exp": {raw}')
    assert raw in payload
    rejects(verifier, forge.token(raw_payload=payload), InvalidClaims, "bad_date")


def test_require_scopes_names_what_is_missing(forge, verifier) -> None:
    from common_auth import InsufficientScope

    claims = verifier.verify(forge.token())
    claims.require_scopes("orders:read")
    with pytest.raises(InsufficientScope, match="orders:admin") as caught:
        claims.require_scopes("orders:read", "orders:admin")
    assert caught.value.required == {"orders:read", "orders:admin"}
    assert caught.value.granted == {"orders:read", "orders:write"}


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_mutated_tokens_only_ever_raise_invalid_token(forge, verifier, alg) -> None:
    # No library exception may escape: a deterministic stream of mutations of a valid token
    # (character swaps, truncations, segment shuffles, re-encoded JSON edits) must each either
    # verify or raise InvalidToken.
    import random

    rng = random.Random(f"mutations-{alg}")
    good = forge.token(alg=alg)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \x00é"
    for _ in range(1500):
        token = list(good)
        for _ in range(rng.randint(1, 4)):
            choice = rng.random()
            if choice < 0.5 and token:
                token[rng.randrange(len(token))] = rng.choice(alphabet)
            elif choice < 0.7 and token:
                del token[rng.randrange(len(token)) :]
            elif choice < 0.85:
                token.insert(rng.randrange(len(token) + 1), rng.choice(alphabet))
            else:
                parts = "".join(token).split(".")
                rng.shuffle(parts)
                token = list(".".join(parts))
        mutated = "".join(token)
        try:
            verifier.verify(mutated)
        except InvalidToken:
            continue
        assert mutated == good  # no other spelling verifies (canonical base64url only)


def test_non_canonical_base64_is_refused(forge, verifier) -> None:
    head, payload, signature = forge.token(alg="ES256").split(".")
    assert len(signature) % 4 == 2  # 64 bytes: the last character carries 4 unused bits
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(signature[-1])
    twin = (
        signature[:-1]
        + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1]
    )
    assert twin != signature
    rejects(verifier, f"{head}.{payload}.{twin}", MalformedToken, "malformed_base64")
