"""The one exception tree of common_auth: every failure a caller can catch, and nothing secret.

CommonAuthError
 ├── ConfigurationError          settings or environment variables are missing or invalid
 ├── InvalidToken                a presented token is rejected (answer 401); `reason` is safe to log
 │    ├── MalformedToken         not a compact JWS, bad base64url or JSON, oversized, bad header
 │    ├── UnsupportedAlgorithm   alg not allow-listed, or alg does not fit the key
 │    ├── UnknownSigningKey      no published key has this kid
 │    ├── InvalidSignature       the signature does not verify
 │    ├── TokenExpired           exp is in the past (beyond the leeway)
 │    ├── TokenNotYetValid       nbf or iat is in the future (beyond the leeway)
 │    └── InvalidClaims          iss, aud, a required claim or a claim's type is wrong
 ├── InsufficientScope           a valid token lacks a required scope (answer 403)
 ├── KeySetUnavailable           the issuer's JWKS cannot be fetched and no keys are cached
 ├── IntrospectionError          the RFC 7662 introspection endpoint failed
 ├── TokenEndpointError          the OAuth2 token endpoint failed or refused the client
 └── SigningKeyError             a signing key cannot be loaded or used

Messages never contain a token, a client secret or a private key: they name what failed and where.
"""

from __future__ import annotations

from collections.abc import Iterable


class CommonAuthError(Exception):
    """Root of every error raised by common_auth."""


class ConfigurationError(CommonAuthError):
    """Settings or environment variables are missing or invalid; the message names them."""


class InvalidToken(CommonAuthError):
    """A presented token is rejected.

    `reason` is a short stable code (``"expired"``, ``"bad_signature"``, ...) that is safe to log
    and to send back in a ``WWW-Authenticate`` error description; the message adds detail that is
    equally safe (claim names, never claim values of an unverified token).
    """

    default_reason = "invalid_token"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or self.default_reason


class MalformedToken(InvalidToken):
    """The token is not a well-formed compact JWS with a strict JSON header and payload."""

    default_reason = "malformed"


class UnsupportedAlgorithm(InvalidToken):
    """The token's algorithm is not allow-listed, or does not fit the signing key's type."""

    default_reason = "unsupported_algorithm"


class UnknownSigningKey(InvalidToken):
    """No key published by the issuer has the token's ``kid``."""

    default_reason = "unknown_kid"


class InvalidSignature(InvalidToken):
    """The signature does not verify with the issuer's key."""

    default_reason = "bad_signature"


class TokenExpired(InvalidToken):
    """The token's ``exp`` is in the past, beyond the leeway."""

    default_reason = "expired"


class TokenNotYetValid(InvalidToken):
    """The token's ``nbf`` or ``iat`` is in the future, beyond the leeway."""

    default_reason = "not_yet_valid"


class InvalidClaims(InvalidToken):
    """The issuer, audience, a required claim or a claim's type is wrong."""

    default_reason = "invalid_claims"


class InsufficientScope(CommonAuthError):
    """A valid token lacks scopes that the operation requires."""

    def __init__(self, required: Iterable[str], granted: Iterable[str]) -> None:
        self.required = frozenset(required)
        self.granted = frozenset(granted)
        missing = " ".join(sorted(self.required - self.granted)) or "(none)"
        super().__init__(f"the token lacks the required scope(s): {missing}")


class KeySetUnavailable(CommonAuthError):
    """The issuer's JWKS cannot be fetched and there are no cached keys to fall back on."""


class IntrospectionError(CommonAuthError):
    """The RFC 7662 introspection endpoint could not be reached or answered wrongly."""


class TokenEndpointError(CommonAuthError):
    """The OAuth2 token endpoint could not be reached, refused the client or answered wrongly.

    `status` is the HTTP status (None when no response came) and `error` the OAuth2 error code
    from the response body (``invalid_client``, ...) when there was one.
    """

    def __init__(
        self, message: str, *, token_url: str, status: int | None = None, error: str | None = None
    ) -> None:
        super().__init__(message)
        self.token_url = token_url
        self.status = status
        self.error = error


class SigningKeyError(CommonAuthError):
    """A signing key cannot be loaded, or cannot sign with the requested algorithm."""
