"""Fixtures of the common_auth tests: a real third-party OAuth2 issuer over loopback, and Django.

`ThirdPartyIssuer` is authlib's authorization server (client credentials grant, RFC 9068 JWT
access tokens signed by joserfc, RFC 7662 introspection) in a Flask app, served by werkzeug on
127.0.0.1 with a free port in a thread; it also publishes its JWKS and has a small protected API
that answers 401 to revoked tokens. None of its token logic is ours, which is the point.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from authlib.integrations.flask_oauth2 import AuthorizationServer  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant  # type: ignore[import-untyped]
from authlib.oauth2.rfc6750 import BearerTokenGenerator  # type: ignore[import-untyped]
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator  # type: ignore[import-untyped]
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

AUDIENCE = "https://api.commons.test"


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="common-auth-tests",
            ALLOWED_HOSTS=["*"],
            INSTALLED_APPS=[
                "django.contrib.contenttypes",
                "django.contrib.auth",
                "rest_framework",
            ],
            MIDDLEWARE=[],
            ROOT_URLCONF="common_auth_test_urls",
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            USE_TZ=True,
            REST_FRAMEWORK={"UNAUTHENTICATED_USER": None},
            COMMON_AUTH={
                "ISSUER": "https://issuer.commons.test",
                "AUDIENCE": AUDIENCE,
                "JWKS_URL": "https://issuer.commons.test/jwks.json",
            },
        )


@dataclass
class _Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str = field(repr=False)  # the issuer logs its clients: keep the secret out
    scopes: frozenset[str] = frozenset()

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return ""

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return client_secret == self.client_secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


@dataclass
class _Token(TokenMixin):  # type: ignore[misc]
    access_token: str
    client_id: str
    scope: str
    issued_at: int
    expires_in: int
    revoked: bool = False

    def check_client(self, client: _Client) -> bool:
        return True  # any registered client may introspect in this test issuer

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked


@dataclass
class ThirdPartyIssuer:
    """authlib's authorization server on 127.0.0.1, with counters the tests read."""

    url: str
    signing_key: RSAKey
    clients: dict[str, _Client]
    tokens: dict[str, _Token]
    expires_in: int
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks.json"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/whoami"

    def revoke_all(self) -> None:
        for token in self.tokens.values():
            token.revoked = True


class _ClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012


class _Generator(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, issuer: str, key: RSAKey, expires_in: int) -> None:
        super().__init__(issuer, alg="RS256", expires_generator=lambda client, grant: expires_in)
        self._key = key

    def get_jwks(self) -> RSAKey:
        return self._key

    def get_audiences(self, client: Any, user: Any, scope: str) -> str:
        return AUDIENCE


def _serve_issuer(*, jwt_tokens: bool, expires_in: int = 300) -> Iterator[ThirdPartyIssuer]:
    app = Flask("third_party_issuer")
    key = RSAKey.generate_key(2048, parameters={"kid": "authlib-1", "use": "sig"})
    clients = {
        "orders": _Client("orders", "orders-secret-value", frozenset({"users:read", "users:write"}))
    }
    tokens: dict[str, _Token] = {}
    lock = threading.Lock()
    counts: dict[str, int] = {}

    def count(name: str) -> None:
        with lock:
            counts[name] = counts.get(name, 0) + 1

    def save_token(token: dict[str, Any], req: Any) -> None:
        tokens[token["access_token"]] = _Token(
            access_token=token["access_token"],
            client_id=req.client.client_id,
            scope=token.get("scope", ""),
            issued_at=int(time.time()),
            expires_in=int(token["expires_in"]),
        )

    server = AuthorizationServer(app, query_client=clients.get, save_token=save_token)
    server.register_grant(_ClientCredentialsGrant)
    holder: dict[str, str] = {}

    class _Introspection(IntrospectionEndpoint):  # type: ignore[misc]
        CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

        def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
            return tokens.get(token_string)

        def introspect_token(self, token: _Token) -> dict[str, Any]:
            return {
                "active": True,
                "client_id": token.client_id,
                "token_type": "Bearer",
                "scope": token.scope,
                "sub": token.client_id,
                "aud": AUDIENCE,
                "iss": holder["url"],
                "exp": token.issued_at + token.expires_in,
                "iat": token.issued_at,
            }

        def check_permission(self, token: _Token, client: _Client, req: Any) -> bool:
            return True

    server.register_endpoint(_Introspection)

    @app.post("/token")
    def token_endpoint() -> Any:
        count("token")
        return server.create_token_response()

    @app.post("/introspect")
    def introspection_endpoint() -> Any:
        count("introspect")
        return server.create_endpoint_response("introspection")

    @app.get("/jwks.json")
    def jwks_endpoint() -> Any:
        count("jwks")
        response = jsonify(KeySet([key]).as_dict(private=False))
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    @app.get("/api/whoami")
    def whoami() -> Any:
        count("api")
        header = request.headers.get("Authorization", "")
        token = tokens.get(header.removeprefix("Bearer "))
        if token is None or token.revoked or token.is_expired():
            return jsonify({"detail": "invalid token"}), 401
        return jsonify({"client_id": token.client_id, "scope": token.scope})

    @app.get("/api/always-401")
    def always_401() -> Any:
        return jsonify({"detail": "no token is good enough"}), 401

    http = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{http.server_port}"
    holder["url"] = url
    if jwt_tokens:
        server.register_token_generator("client_credentials", _Generator(url, key, expires_in))
    else:
        server.register_token_generator(
            "client_credentials",
            BearerTokenGenerator(
                access_token_generator=True, expires_generator=lambda client, grant: expires_in
            ),
        )
    thread = threading.Thread(target=http.serve_forever, name="third-party-issuer", daemon=True)
    thread.start()
    try:
        yield ThirdPartyIssuer(
            url=url,
            signing_key=key,
            clients=clients,
            tokens=tokens,
            expires_in=expires_in,
            requests=counts,
        )
    finally:
        http.shutdown()
        thread.join(timeout=10)
        http.server_close()


@pytest.fixture
def unused_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/token"


@pytest.fixture
def jwt_issuer() -> Iterator[ThirdPartyIssuer]:
    """authlib issuing RFC 9068 JWT access tokens (RS256), with its JWKS, on 127.0.0.1."""
    yield from _serve_issuer(jwt_tokens=True)


@pytest.fixture
def opaque_issuer() -> Iterator[ThirdPartyIssuer]:
    """authlib issuing opaque access tokens and answering RFC 7662 introspection."""
    yield from _serve_issuer(jwt_tokens=False)
