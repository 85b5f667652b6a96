"""Service-to-service credentials as `httpx.Auth`: the client credentials grant, token forwarding.

`ClientCredentials` gets an access token from the issuer's OAuth2 token endpoint (RFC 6749 §4.4),
caches it until shortly before it expires, refreshes it once however many requests wait for it,
and retries a request once with a fresh token when the API answers 401. The client secret never
appears in a repr, a log line or an error. `ForwardUserToken` passes the caller's own token on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from common_auth._context import current_access_token
from common_auth._errors import ConfigurationError, TokenEndpointError
from common_auth._locks import LoopLocks
from common_auth._urls import endpoint_url
from common_utils import outgoing_headers

logger = logging.getLogger("common_auth.credentials")

AuthMethod = Literal["client_secret_basic", "client_secret_post"]

# A token without expires_in is kept this long: short, since we cannot know better.
_DEFAULT_LIFETIME = 60.0
_PREFIX_PATTERN = re.compile(r"[A-Z][A-Z0-9_]*")


@dataclass(frozen=True, slots=True)
class _CachedToken:
    access_token: str
    refresh_at: float  # time.monotonic() after which the token is renewed before use


def _scope_string(scope: str | Sequence[str] | None) -> str | None:
    if scope is None:
        return None
    if isinstance(scope, str):
        return " ".join(scope.split()) or None
    return " ".join(scope) or None


class ClientCredentials(httpx.Auth):
    """An `httpx.Auth` that authenticates a service with the OAuth2 client credentials grant.

    Pass it as ``auth=`` to an `httpx.Client`, an `httpx.AsyncClient` or a generated Commons
    client; one instance can serve sync and async clients and many threads or tasks at once.

    Args:
        token_url: the issuer's token endpoint.
        client_id: this service's client id.
        client_secret: this service's client secret; kept out of repr, logs and errors.
        scope: scopes to ask for, as a space-separated string or a sequence.
        audience: the API the token is for, sent as the ``audience`` parameter when given.
        auth_method: how the client authenticates: HTTP Basic (the default) or form fields.
        refresh_margin: seconds before expiry at which the token is renewed (at most half of
            the token's lifetime).
        timeout: timeout in seconds of a token request.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | Sequence[str] | None = None,
        audience: str | None = None,
        auth_method: AuthMethod = "client_secret_basic",
        refresh_margin: float = 30.0,
        timeout: float = 10.0,
    ) -> None:
        if not client_id:
            raise ConfigurationError("ClientCredentials: client_id is empty")
        if not client_secret:
            raise ConfigurationError(f"ClientCredentials: client_secret of {client_id!r} is empty")
        if auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ConfigurationError(f"ClientCredentials: unknown auth_method {auth_method!r}")
        self.token_url = endpoint_url(token_url, owner="ClientCredentials", name="token_url")
        self.client_id = client_id
        self.scope = _scope_string(scope)
        self.audience = audience
        self.auth_method: AuthMethod = auth_method
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        # SecretStr: a debugger, vars() or an error reporter dumping locals sees "**********".
        self._secret = SecretStr(client_secret)
        self._token: _CachedToken | None = None
        self._thread_lock = threading.Lock()
        self._loop_locks = LoopLocks()

    @classmethod
    def from_env(
        cls, prefix: str, *, environ: Mapping[str, str] | None = None, **options: Any
    ) -> ClientCredentials:
        """Read the credentials of a service from environment variables named after `prefix`.

        ``ClientCredentials.from_env("ORDERS")`` reads ``ORDERS_TOKEN_URL``, ``ORDERS_CLIENT_ID``
        and ``ORDERS_CLIENT_SECRET`` (required), ``ORDERS_SCOPE`` and ``ORDERS_AUDIENCE``
        (optional). Other keyword arguments go to the constructor. Raises `ConfigurationError`
        naming every missing variable.
        """
        if not _PREFIX_PATTERN.fullmatch(prefix):
            raise ConfigurationError(
                f"ClientCredentials.from_env: prefix must be upper case letters, digits and "
                f"underscores, got {prefix!r}"
            )
        env = os.environ if environ is None else environ
        required = ("TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET")
        missing = [f"{prefix}_{name}" for name in required if not env.get(f"{prefix}_{name}")]
        if missing:
            raise ConfigurationError(
                "ClientCredentials.from_env: environment variable(s) not set: " + ", ".join(missing)
            )
        return cls(
            token_url=env[f"{prefix}_TOKEN_URL"],
            client_id=env[f"{prefix}_CLIENT_ID"],
            client_secret=env[f"{prefix}_CLIENT_SECRET"],
            scope=env.get(f"{prefix}_SCOPE") or None,
            audience=env.get(f"{prefix}_AUDIENCE") or None,
            **options,
        )

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            f"scope={self.scope!r}, audience={self.audience!r})"
        )

    # -- the httpx.Auth flows --------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        token = self.get_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # The API may have seen a revoked or rotated token: one retry with a fresh one.
            response.read()
            fresh = self.get_token(rejected=token)
            request.headers["Authorization"] = f"Bearer {fresh}"
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.aget_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            await response.aread()
            fresh = await self.aget_token(rejected=token)
            request.headers["Authorization"] = f"Bearer {fresh}"
            yield request

    # -- the token cache -------------------------------------------------------------------

    def get_token(self, *, rejected: str | None = None) -> str:
        """The cached access token, fetched first when missing, expiring or equal to `rejected`."""
        cached = self._usable(rejected)
        if cached is not None:
            return cached
        with self._thread_lock:
            # Another thread may have refreshed while this one waited: use its token.
            cached = self._usable(rejected)
            if cached is not None:
                return cached
            with httpx.Client(timeout=self.timeout, auth=self._client_auth()) as client:
                response = self._post(client)
            return self._store(response)

    async def aget_token(self, *, rejected: str | None = None) -> str:
        """Async form of `get_token`. Tasks of one loop queue on a loop lock; the one that
        fetches does so in a worker thread under the lock sync callers use, so one token
        request at a time across threads and event loops."""
        cached = self._usable(rejected)
        if cached is not None:
            return cached
        async with self._loop_locks.for_running_loop():
            cached = self._usable(rejected)
            if cached is not None:
                return cached
            return await asyncio.to_thread(self.get_token, rejected=rejected)

    def _usable(self, rejected: str | None) -> str | None:
        token = self._token
        if token is None or time.monotonic() >= token.refresh_at:
            return None
        if rejected is not None and token.access_token == rejected:
            return None
        return token.access_token

    def _form(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        if self.audience:
            form["audience"] = self.audience
        if self.auth_method == "client_secret_post":
            form["client_id"] = self.client_id
            form["client_secret"] = self._secret.get_secret_value()
        return form

    def _client_auth(self) -> httpx.BasicAuth | None:
        if self.auth_method == "client_secret_basic":
            return httpx.BasicAuth(self.client_id, self._secret.get_secret_value())
        return None

    def _post(self, client: httpx.Client) -> httpx.Response:
        try:
            return client.post(self.token_url, data=self._form(), headers=_headers())
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None

    def _transport_error(self, exc: httpx.HTTPError) -> TokenEndpointError:
        # `from None` above: the chained httpx error carries the request and its Basic header.
        return TokenEndpointError(
            f"token endpoint {self.token_url} unreachable for client {self.client_id!r}: "
            f"{type(exc).__name__}: {exc}",
            token_url=self.token_url,
        )

    def _store(self, response: httpx.Response) -> str:
        body = _json_object(response)
        if response.status_code != 200:
            error = body.get("error") if isinstance(body.get("error"), str) else None
            raise TokenEndpointError(
                f"token endpoint {self.token_url} refused client {self.client_id!r}: "
                f"HTTP {response.status_code}" + (f" ({error})" if error else ""),
                token_url=self.token_url,
                status=response.status_code,
                error=error,
            )
        access_token = body.get("access_token")
        token_type = body.get("token_type")
        expires_in = body.get("expires_in", _DEFAULT_LIFETIME)
        if isinstance(expires_in, str) and expires_in.isdigit():
            expires_in = int(expires_in)  # some issuers (Azure AD v1) send it as a string
        if not isinstance(access_token, str) or not access_token:
            raise self._bad_answer("no access_token in the response", response)
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise self._bad_answer("token_type is not Bearer", response)
        if (
            not isinstance(expires_in, int | float)
            or isinstance(expires_in, bool)
            or expires_in < 0
        ):
            raise self._bad_answer("expires_in is not a non-negative number", response)
        margin = min(self.refresh_margin, expires_in / 2)
        self._token = _CachedToken(access_token, time.monotonic() + expires_in - margin)
        logger.debug(
            "fetched an access token for client %r from %s (expires in %ss)",
            self.client_id,
            self.token_url,
            expires_in,
        )
        return access_token

    def _bad_answer(self, what: str, response: httpx.Response) -> TokenEndpointError:
        return TokenEndpointError(
            f"token endpoint {self.token_url} answered client {self.client_id!r} wrongly: {what}",
            token_url=self.token_url,
            status=response.status_code,
        )


def _headers() -> dict[str, str]:
    # The request id and traceparent of the request being served, so the issuer's logs
    # correlate with ours.
    return {"Accept": "application/json", **outgoing_headers()}


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class ForwardUserToken(httpx.Auth):
    """An `httpx.Auth` that passes the caller's access token on to the next service.

    Without an argument it forwards the token of the request being served (the Django
    middleware records it); ``ForwardUserToken(token)`` forwards the given one. A request made
    outside any authenticated request goes out without ``Authorization``, so the next service
    answers 401 instead of this one guessing.
    """

    def __init__(self, token: str | None = None) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "ForwardUserToken(<given token>)" if self._token else "ForwardUserToken()"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        token = self._token or current_access_token()
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request
