"""`IntrospectionVerifier`: opaque access tokens checked by the issuer (RFC 7662), briefly cached.

For issuers that hand out opaque tokens (django-oauth-toolkit does by default), the resource
server asks the introspection endpoint whether a token is active. Answers are cached by the
token's SHA-256 for at most ``cache_ttl`` seconds (never past the token's ``exp``); inactive
answers for ``negative_ttl`` seconds, so a flood of junk tokens reaches the issuer once each per
that window at most. The cache is bounded; the oldest entries go first.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Generic, cast

import httpx
from pydantic import SecretStr
from typing_extensions import TypeVar

from common_auth._claims import AccessTokenClaims, validate_claims
from common_auth._errors import (
    ConfigurationError,
    IntrospectionError,
    InvalidClaims,
    InvalidToken,
    MalformedToken,
    TokenExpired,
)
from common_auth._locks import AsyncKeyedLocks, KeyedLocks
from common_auth._telemetry import NO_TELEMETRY, VerificationTelemetry
from common_auth._urls import endpoint_url
from common_utils import outgoing_headers

logger = logging.getLogger("common_auth.introspection")

ClaimsT = TypeVar("ClaimsT", bound=AccessTokenClaims, default=AccessTokenClaims)


class IntrospectionVerifier(Generic[ClaimsT]):
    """Verifies opaque tokens through the issuer's RFC 7662 introspection endpoint.

    Args:
        introspection_url: the issuer's introspection endpoint.
        client_id, client_secret: this resource server's credentials there (HTTP Basic).
        issuer: when given, an ``iss`` in the answer must equal it (and fills a missing one).
        audience: when given, an ``aud`` in the answer must name one of these.
        cache_ttl: seconds an active answer is reused (never past the token's ``exp``).
        negative_ttl: seconds an inactive answer is reused.
        max_entries: bound of the cache.
        max_token_bytes: longer tokens are refused without asking the issuer.
        claims_model: an `AccessTokenClaims` subclass for the answer.

    Each verification is a span and a count by outcome (``common_auth._telemetry``);
    ``telemetry = False`` (on a subclass or one verifier) records neither.
    """

    telemetry: bool = True

    def __init__(
        self,
        *,
        introspection_url: str,
        client_id: str,
        client_secret: str,
        issuer: str | None = None,
        audience: str | Sequence[str] | None = None,
        cache_ttl: float = 30.0,
        negative_ttl: float = 5.0,
        max_entries: int = 10_000,
        max_token_bytes: int = 8 * 1024,
        timeout: float = 5.0,
        claims_model: type[ClaimsT] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError("IntrospectionVerifier: client_id and client_secret needed")
        self.introspection_url = endpoint_url(
            introspection_url, owner="IntrospectionVerifier", name="introspection_url"
        )
        self.client_id = client_id
        self._secret = SecretStr(client_secret)
        self.issuer = issuer
        self.audiences = (
            None
            if audience is None
            else frozenset((audience,) if isinstance(audience, str) else audience)
        )
        self.cache_ttl = cache_ttl
        self.negative_ttl = negative_ttl
        self.max_entries = max_entries
        self.max_token_bytes = max_token_bytes
        self.timeout = timeout
        self.claims_model = cast(type[ClaimsT], claims_model or AccessTokenClaims)
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, ClaimsT | InvalidToken]] = OrderedDict()
        self._lock = threading.Lock()
        self._token_locks = KeyedLocks()
        self._async_token_locks = AsyncKeyedLocks()
        self.request_count = 0  # introspection requests sent: for tests and metrics

    def __repr__(self) -> str:
        return (
            f"IntrospectionVerifier(introspection_url={self.introspection_url!r}, "
            f"client_id={self.client_id!r})"
        )

    def verify(self, token: str) -> ClaimsT:
        """The claims of an active token, or `InvalidToken` (or `IntrospectionError`).

        Recorded as ``TokenVerifier.verify`` is, with ``commons.auth.verifier`` ``introspection``.
        """
        with VerificationTelemetry("introspection") if self.telemetry else NO_TELEMETRY:
            key = self._precheck(token)
            cached = self._cached(key)
            if cached is None:
                # Concurrent requests with the same new token ask the issuer once.
                with self._token_locks.hold(key):
                    cached = self._cached(key) or self._introspect(key, token)
            return self._unwrap(cached)

    async def averify(self, token: str) -> ClaimsT:
        """Async form of `verify`."""
        with VerificationTelemetry("introspection") if self.telemetry else NO_TELEMETRY:
            key = self._precheck(token)
            cached = self._cached(key)
            if cached is None:
                async with self._async_token_locks.hold(key):
                    cached = self._cached(key) or await self._aintrospect(key, token)
            return self._unwrap(cached)

    def _introspect(self, key: str, token: str) -> ClaimsT | InvalidToken:
        try:
            with httpx.Client(timeout=self.timeout, auth=self._auth()) as client:
                response = client.post(
                    self.introspection_url, data=self._form(token), headers=outgoing_headers()
                )
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return self._store(key, response)

    async def _aintrospect(self, key: str, token: str) -> ClaimsT | InvalidToken:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, auth=self._auth()) as client:
                response = await client.post(
                    self.introspection_url, data=self._form(token), headers=outgoing_headers()
                )
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return self._store(key, response)

    def _precheck(self, token: str) -> str:
        if not isinstance(token, str) or not token:
            raise MalformedToken("the token is not a non-empty string")
        if len(token) > self.max_token_bytes:
            raise MalformedToken(
                f"the token is longer than {self.max_token_bytes} characters", reason="too_large"
            )
        if not token.isascii() or not token.isprintable() or " " in token:
            raise MalformedToken("the token has characters a bearer token cannot have")
        return hashlib.sha256(token.encode("ascii")).hexdigest()

    def _auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.client_id, self._secret.get_secret_value())

    @staticmethod
    def _form(token: str) -> dict[str, str]:
        return {"token": token, "token_type_hint": "access_token"}

    def _unreachable(self, exc: httpx.HTTPError) -> IntrospectionError:
        return IntrospectionError(
            f"introspection endpoint {self.introspection_url} unreachable: "
            f"{type(exc).__name__}: {exc}"
        )

    @staticmethod
    def _unwrap(outcome: ClaimsT | InvalidToken) -> ClaimsT:
        if isinstance(outcome, InvalidToken):
            raise outcome
        return outcome

    def _cached(self, key: str) -> ClaimsT | InvalidToken | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            if self._clock() >= entry[0]:
                del self._cache[key]
                return None
            return entry[1]

    def _store(self, key: str, response: httpx.Response) -> ClaimsT | InvalidToken:
        with self._lock:
            self.request_count += 1
        if response.status_code != 200:
            raise IntrospectionError(
                f"introspection endpoint {self.introspection_url} answered "
                f"HTTP {response.status_code}"
            )
        try:
            body = response.json()
        except ValueError:
            raise IntrospectionError(
                f"introspection endpoint {self.introspection_url} answered non-JSON"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            raise IntrospectionError(
                f"introspection endpoint {self.introspection_url} answered without 'active'"
            )
        outcome: ClaimsT | InvalidToken
        ttl = self.negative_ttl
        try:
            claims = self._claims(body)
        except InvalidToken as exc:
            outcome = exc
        else:
            outcome = claims
            ttl = max(0.0, min(self.cache_ttl, float(claims.exp) - time.time()))
        with self._lock:
            self._cache[key] = (self._clock() + ttl, outcome)
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return outcome

    def _claims(self, body: dict[str, Any]) -> ClaimsT:
        if body["active"] is not True:
            raise InvalidToken("the issuer says the token is not active", reason="inactive")
        claims = {k: v for k, v in body.items() if k != "active"}
        claims.setdefault("sub", body.get("username") or body.get("client_id"))
        if self.issuer is not None:
            if claims.setdefault("iss", self.issuer) != self.issuer:
                raise InvalidClaims("the token is from another issuer", reason="wrong_issuer")
        else:
            claims.setdefault("iss", self.introspection_url)
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
            raise InvalidClaims("the answer has no numeric exp", reason="bad_date")
        if time.time() >= exp:
            raise TokenExpired("the token has expired")
        if self.audiences is not None and "aud" in claims:
            aud = claims["aud"]
            named = [aud] if isinstance(aud, str) else aud
            if not isinstance(named, list) or not self.audiences.intersection(named):
                raise InvalidClaims("the token is for another audience", reason="wrong_audience")
        return validate_claims(self.claims_model, claims)
