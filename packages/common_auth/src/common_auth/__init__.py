"""common-auth: access tokens for the Commons services.

The public API is what this module exports; modules whose names start with ``_`` are private.

- verifying tokens: `TokenVerifier` (JWT against a JWKS), `IntrospectionVerifier` (RFC 7662),
  the claims model `AccessTokenClaims`, the key cache `JWKSCache`;
- calling other services: `ClientCredentials`, `ForwardUserToken` (both `httpx.Auth`);
- issuing tokens (the auth service): `SigningKey`, `SigningKeySet`, `issue_access_token`;
- errors: one tree under `CommonAuthError` (see ``common_auth._errors``);
- Django and DRF: ``common_auth.django`` and ``common_auth.drf`` (extras ``django``, ``drf``).
"""

from common_auth.__about__ import __version__
from common_auth._claims import AccessTokenClaims
from common_auth._context import access_token_context, current_access_token
from common_auth._credentials import ClientCredentials, ForwardUserToken
from common_auth._errors import (
    CommonAuthError,
    ConfigurationError,
    InsufficientScope,
    IntrospectionError,
    InvalidClaims,
    InvalidSignature,
    InvalidToken,
    KeySetUnavailable,
    MalformedToken,
    SigningKeyError,
    TokenEndpointError,
    TokenExpired,
    TokenNotYetValid,
    UnknownSigningKey,
    UnsupportedAlgorithm,
)
from common_auth._introspection import IntrospectionVerifier
from common_auth._issuing import SigningKey, SigningKeySet, issue_access_token
from common_auth._jwks import JWKSCache, KeySource, StaticKeySet, VerificationKey
from common_auth._verifier import TokenVerifier

__all__ = [
    "AccessTokenClaims",
    "ClientCredentials",
    "CommonAuthError",
    "ConfigurationError",
    "ForwardUserToken",
    "InsufficientScope",
    "IntrospectionError",
    "IntrospectionVerifier",
    "InvalidClaims",
    "InvalidSignature",
    "InvalidToken",
    "JWKSCache",
    "KeySetUnavailable",
    "KeySource",
    "MalformedToken",
    "SigningKey",
    "SigningKeyError",
    "SigningKeySet",
    "StaticKeySet",
    "TokenEndpointError",
    "TokenExpired",
    "TokenNotYetValid",
    "TokenVerifier",
    "UnknownSigningKey",
    "UnsupportedAlgorithm",
    "VerificationKey",
    "__version__",
    "access_token_context",
    "current_access_token",
    "issue_access_token",
]
