"""`TokenVerifier`: checks a JWT access token and returns its typed claims, or says why not.

PyJWT provides the signature algorithms; the parsing in front of them is ours, because the
library's own decode leaves gaps an access token verifier must close (measured on PyJWT 2.15):

1. size first: a token longer than ``max_token_bytes`` is refused before any decoding;
2. strict compact form: three base64url segments of the URL-safe alphabet, no padding, no
   whitespace; header and payload must be JSON objects without duplicated names (a payload with
   two ``sub`` claims is refused, not "last one wins") and without NaN or Infinity;
3. a strict header: ``alg`` from the allow-list (asymmetric only: ``none`` and HMAC can never be
   configured), no ``crit`` at all (we implement no extension, and an empty list is invalid),
   no key material or key URLs (``jwk``, ``jku``, ``x5u``, ``x5c``): keys come from the issuer's
   JWKS only, selected by ``kid``;
4. the key must fit the algorithm (an ES256 token naming an RSA key is refused before PyJWT
   could raise a bare ``TypeError``); ECDSA signatures must have the curve's length and non-zero
   ``r`` and ``s``;
5. the payload is parsed only after the signature verifies; dates are numbers (a numeric
   string is refused), ``exp``/``nbf``/``iat`` are checked with a small leeway, then ``iss``,
   ``aud`` and the required claims, then the claims model.

Every failure is an `InvalidToken` subclass with a ``reason`` that is safe to log; no library
exception escapes. Replay protection, where a service needs it, must key on ``jti``, never on
the signature (ECDSA signatures are malleable).
"""

from __future__ import annotations

import binascii
import json
import math
import re
import time
from base64 import urlsafe_b64decode
from collections.abc import Sequence
from typing import Any, Generic, NoReturn, cast

from jwt.algorithms import Algorithm, get_default_algorithms
from typing_extensions import TypeVar

from common_auth._claims import AccessTokenClaims, validate_claims
from common_auth._errors import (
    ConfigurationError,
    InvalidClaims,
    InvalidSignature,
    MalformedToken,
    TokenExpired,
    TokenNotYetValid,
    UnsupportedAlgorithm,
)
from common_auth._jwks import (
    ASYMMETRIC_ALGORITHMS,
    JWKSCache,
    KeySource,
    VerificationKey,
)
from common_auth._telemetry import NO_TELEMETRY, VerificationTelemetry

ClaimsT = TypeVar("ClaimsT", bound=AccessTokenClaims, default=AccessTokenClaims)

# "Ed25519" is RFC 9864's fully-specified name of EdDSA over Ed25519 (joserfc already warns on
# "EdDSA"); both are accepted, for the same keys.
DEFAULT_ALGORITHMS = ("RS256", "ES256", "EdDSA", "Ed25519")
DEFAULT_REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat")
DEFAULT_MAX_TOKEN_BYTES = 8 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_B64_VALUE = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
_UNUSED_BITS = {0: 0, 2: 0b1111, 3: 0b11}  # by segment length mod 4: bits the last char wastes
_FORBIDDEN_HEADERS = ("jku", "x5u", "jwk", "x5c")
_ACCEPTED_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})
_DATE_CLAIMS = ("exp", "nbf", "iat")
_EC_ORDER_BYTES = {"ES256": 32, "ES384": 48, "ES512": 66}
_ALGORITHMS: dict[str, Algorithm] = {
    name: alg for name, alg in get_default_algorithms().items() if name in ASYMMETRIC_ALGORITHMS
}
if "Ed25519" not in _ALGORITHMS and "EdDSA" in _ALGORITHMS:
    _ALGORITHMS["Ed25519"] = _ALGORITHMS["EdDSA"]
SUPPORTED_ALGORITHMS = frozenset(_ALGORITHMS)  # what an allow-list may name


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise MalformedToken(f"the name {name!r} appears twice", reason="duplicate_claim")
        result[name] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    raise MalformedToken(f"JSON constant {name} is not allowed", reason="malformed_json")


_strict_json = json.JSONDecoder(
    object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
)


def _b64decode(segment: str, part: str) -> bytes:
    if not _SEGMENT.fullmatch(segment):
        raise MalformedToken(f"the {part} is not base64url", reason="malformed_base64")
    if len(segment) % 4 == 1:
        raise MalformedToken(
            f"the {part} has an impossible base64url length", reason="malformed_base64"
        )
    unused_bits = _UNUSED_BITS[len(segment) % 4]
    if unused_bits and _B64_VALUE[segment[-1]] & unused_bits:
        # Non-canonical: another string for the same bytes. Refused, so that one token has
        # one spelling (caches and logs keyed by the token string cannot be dodged).
        raise MalformedToken(f"the {part} is not canonical base64url", reason="malformed_base64")
    try:
        return urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise MalformedToken(f"the {part} is not base64url", reason="malformed_base64") from None


def _json_object(raw: bytes, part: str) -> dict[str, Any]:
    try:
        value = _strict_json.decode(raw.decode("utf-8"))
    except MalformedToken:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedToken(f"the {part} is not JSON", reason="malformed_json") from None
    if not isinstance(value, dict):
        raise MalformedToken(f"the {part} is not a JSON object", reason="malformed_json")
    return value


def refused_algorithms(algorithms: Sequence[str]) -> str | None:
    """Why `algorithms` cannot be an allow-list, or None when it can."""
    refused = [alg for alg in algorithms if alg not in SUPPORTED_ALGORITHMS]
    if refused or not algorithms:
        return (
            f"must be asymmetric ones of {sorted(SUPPORTED_ALGORITHMS)}; "
            f"refused: {refused or 'an empty list'}"
        )
    return None


class _Parsed:
    """A token split and its header checked; the payload stays unparsed until verified."""

    __slots__ = ("alg", "header", "kid", "payload_segment", "signature", "signing_input")

    def __init__(self, token: str, max_bytes: int, algorithms: frozenset[str]) -> None:
        if not isinstance(token, str):
            raise MalformedToken("the token is not a string")
        if len(token) > max_bytes:
            raise MalformedToken(
                f"the token is longer than {max_bytes} characters", reason="too_large"
            )
        parts = token.split(".")
        if len(parts) != 3:
            raise MalformedToken("the token is not a compact JWS of three segments")
        header_segment, payload_segment, signature_segment = parts
        header = _json_object(_b64decode(header_segment, "header"), "header")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in algorithms:
            raise UnsupportedAlgorithm("the token's alg is not allowed")
        if "crit" in header:
            raise MalformedToken("the header has crit; no extension is supported", reason="crit")
        for name in _FORBIDDEN_HEADERS:
            if name in header:
                raise MalformedToken(
                    f"the header carries {name!r}; keys come from the issuer's JWKS only",
                    reason="embedded_key",
                )
        kid = header.get("kid")
        if kid is not None and (not isinstance(kid, str) or len(kid) > 256):
            raise MalformedToken("the header's kid is not a short string", reason="bad_kid")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYPES):
            raise MalformedToken("the header's typ is not JWT or at+jwt", reason="bad_typ")
        if not _SEGMENT.fullmatch(payload_segment):
            raise MalformedToken("the payload is not base64url", reason="malformed_base64")
        self.signature = _b64decode(signature_segment, "signature")
        self.header = header
        self.alg = alg
        self.kid = kid
        self.payload_segment = payload_segment
        self.signing_input = f"{header_segment}.{payload_segment}".encode("ascii")


class TokenVerifier(Generic[ClaimsT]):
    """Verifies JWT access tokens from one issuer and returns their typed claims.

    Args:
        issuer: the exact ``iss`` tokens must carry.
        audience: the ``aud`` this service accepts (a token must name at least one of them).
        jwks_url: the issuer's JWKS; a `JWKSCache` with the default policy is made for it.
        keys: instead of `jwks_url`, any `KeySource` (a configured `JWKSCache`,
            a `StaticKeySet`, a `SigningKeySet`'s keys).
        algorithms: the allow-list; asymmetric algorithms only.
        leeway: seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        required_claims: claims that must be present.
        max_token_bytes: longer tokens are refused before any decoding.
        claims_model: an `AccessTokenClaims` subclass to validate the claims into.

    Each verification is a span and a count by outcome (``common_auth._telemetry``);
    ``telemetry = False`` (on a subclass or one verifier) records neither.
    """

    telemetry: bool = True

    def __init__(
        self,
        *,
        issuer: str,
        audience: str | Sequence[str],
        jwks_url: str | None = None,
        keys: KeySource | None = None,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway: float = 30.0,
        required_claims: Sequence[str] = DEFAULT_REQUIRED_CLAIMS,
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        claims_model: type[ClaimsT] | None = None,
    ) -> None:
        if not issuer:
            raise ConfigurationError("TokenVerifier: issuer is empty")
        audiences = (audience,) if isinstance(audience, str) else tuple(audience)
        if not audiences or not all(audiences):
            raise ConfigurationError("TokenVerifier: audience is empty")
        if (jwks_url is None) == (keys is None):
            raise ConfigurationError("TokenVerifier: give exactly one of jwks_url and keys")
        refused = refused_algorithms(algorithms)
        if refused:
            raise ConfigurationError(f"TokenVerifier: algorithms {refused}")
        if not 0 <= leeway <= 300:
            raise ConfigurationError("TokenVerifier: leeway must be between 0 and 300 seconds")
        self.issuer = issuer
        self.audiences = frozenset(audiences)
        self.keys: KeySource = keys if keys is not None else JWKSCache(cast(str, jwks_url))
        self.algorithms = frozenset(algorithms)
        self.leeway = leeway
        self.required_claims = tuple(required_claims)
        self.max_token_bytes = max_token_bytes
        self.claims_model = cast(type[ClaimsT], claims_model or AccessTokenClaims)

    def __repr__(self) -> str:
        return (
            f"TokenVerifier(issuer={self.issuer!r}, audience={sorted(self.audiences)!r}, "
            f"algorithms={sorted(self.algorithms)!r}, keys={self.keys!r})"
        )

    def verify(self, token: str) -> ClaimsT:
        """The claims of `token`, or `InvalidToken` (or `KeySetUnavailable`) saying why not.

        A span ``auth.verify_token`` and the count ``commons.auth.verifications`` record the
        outcome (see ``common_auth._telemetry``).
        """
        with VerificationTelemetry("jwt") if self.telemetry else NO_TELEMETRY:
            parsed = _Parsed(token, self.max_token_bytes, self.algorithms)
            return self._finish(parsed, self.keys.get_key(parsed.kid))

    async def averify(self, token: str) -> ClaimsT:
        """Async form of `verify` (only a JWKS fetch, when one is due, awaits)."""
        with VerificationTelemetry("jwt") if self.telemetry else NO_TELEMETRY:
            parsed = _Parsed(token, self.max_token_bytes, self.algorithms)
            return self._finish(parsed, await self.keys.aget_key(parsed.kid))

    def _finish(self, parsed: _Parsed, key: VerificationKey) -> ClaimsT:
        if parsed.alg not in key.algorithms:
            raise UnsupportedAlgorithm(
                "the token's alg does not fit the key it names", reason="alg_key_mismatch"
            )
        self._check_signature(parsed, key)
        payload = _json_object(_b64decode(parsed.payload_segment, "payload"), "payload")
        self._check_claims(payload)
        return validate_claims(self.claims_model, payload)

    def _check_signature(self, parsed: _Parsed, key: VerificationKey) -> None:
        signature = parsed.signature
        size = _EC_ORDER_BYTES.get(parsed.alg)
        if size is not None:
            if len(signature) != 2 * size:
                raise InvalidSignature("the ECDSA signature has the wrong length")
            if not any(signature[:size]) or not any(signature[size:]):
                raise InvalidSignature("the ECDSA signature has r or s equal to zero")
        try:
            valid = _ALGORITHMS[parsed.alg].verify(parsed.signing_input, key.key, signature)
        except Exception:  # every library failure means "does not verify", never a 500
            valid = False
        if not valid:
            raise InvalidSignature("the signature does not verify")

    def _check_claims(self, payload: dict[str, Any]) -> None:
        missing = [name for name in self.required_claims if name not in payload]
        if missing:
            raise InvalidClaims(
                f"required claim(s) missing: {', '.join(missing)}", reason="missing_claim"
            )
        now = time.time()
        for name in _DATE_CLAIMS:
            value = payload.get(name, 0)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise InvalidClaims(f"the {name} claim is not a number", reason="bad_date")
        exp = payload.get("exp")
        if exp is not None and now > exp + self.leeway:
            raise TokenExpired("the token has expired")
        nbf = payload.get("nbf")
        if nbf is not None and now + self.leeway < nbf:
            raise TokenNotYetValid("the token is not valid yet (nbf)")
        iat = payload.get("iat")
        if iat is not None and now + self.leeway < iat:
            raise TokenNotYetValid("the token was issued in the future", reason="issued_in_future")
        if payload.get("iss") != self.issuer:
            raise InvalidClaims("the token is from another issuer", reason="wrong_issuer")
        aud = payload.get("aud")
        if aud is None:
            raise InvalidClaims("the token names no audience", reason="missing_claim")
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            raise InvalidClaims(
                "the aud claim is not a string or a list of strings", reason="bad_aud"
            )
        if not self.audiences.intersection(audiences):
            raise InvalidClaims("the token is for another audience", reason="wrong_audience")
