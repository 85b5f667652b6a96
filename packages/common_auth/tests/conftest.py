"""Fixtures of the common_auth tests: a real third-party OAuth2 issuer over loopback, and Django.

`ThirdPartyIssuer` is authlib's authorization server (client credentials grant, RFC 9068 JWT
access tokens signed by joserfc, RFC 7662 introspection) in a Flask app, served by werkzeug on
127.0.0.1 with a free port in a thread; it also publishes its JWKS and has a small protected API
that answers 401 to revoked tokens. None of its token logic is ours, which is the point.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from authlib.integrations.flask_oauth2 import AuthorizationServer  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant  # type: ignore[import-untyped]
from authlib.oauth2.rfc6750 import BearerTokenGenerator  # type: ignore[import-untyped]
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from jwt.algorithms import get_default_algorithms
from werkzeug.serving import make_server

from common_auth import SigningKey, StaticKeySet

AUDIENCE = "https://api.commons.test"
ISSUER = "https://issuer.commons.test"


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
                "common_auth.django",
            ],
            MIDDLEWARE=["common_auth.django.TokenAuthenticationMiddleware"],
            ROOT_URLCONF=_URLCONF,
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            USE_TZ=True,
            STATIC_URL="/static/",
            # Client secrets of the token endpoint are password hashes: a fast hasher for tests.
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            # As a service sets it: DRF's errors as the same problem details as the middleware's.
            REST_FRAMEWORK={"EXCEPTION_HANDLER": "common_utils.drf.problem_exception_handler"},
            COMMON_AUTH={
                "ISSUER": ISSUER,
                "AUDIENCE": AUDIENCE,
                "JWKS_URL": "https://issuer.commons.test/jwks.json",
            },
        )
    sys.modules[_URLCONF] = _TestUrls(_URLCONF)


_URLCONF = "common_auth_test_urls"


class _TestUrls(types.ModuleType):
    """The tests' ROOT_URLCONF, built on first use (views need Django set up)."""

    @functools.cached_property
    def urlpatterns(self) -> list[Any]:
        from django.http import HttpRequest, JsonResponse
        from django.urls import path
        from rest_framework.request import Request
        from rest_framework.response import Response
        from rest_framework.views import APIView

        from common_auth import current_access_token
        from common_auth.django import jwks_view, require_scopes, token_view
        from common_auth.drf import BearerTokenAuthentication, HasAnyScope, HasScopes

        def describe(request: HttpRequest) -> dict[str, Any]:
            user: Any = request.user
            return {
                "authenticated": user.is_authenticated,
                "id": getattr(user, "id", None),
                "username": user.get_username() if user.is_authenticated else None,
                "scopes": sorted(getattr(user, "scopes", ())),
                "roles": list(getattr(user, "roles", ())),
                "auth": request.auth.sub if getattr(request, "auth", None) else None,  # type: ignore[attr-defined]
                "forwarded": current_access_token() is not None,
                "can_view_orders": user.has_perm("orders.view_order"),
            }

        def whoami(request: HttpRequest) -> JsonResponse:
            return JsonResponse(describe(request))

        async def whoami_async(request: HttpRequest) -> JsonResponse:
            return JsonResponse(describe(request))

        async def auser_view(request: HttpRequest) -> JsonResponse:
            user = await request.auser()  # Django >= 5.0
            return JsonResponse(
                {"type": type(user).__name__, "id": getattr(user, "id", None)}
                | {"same": user is request.user}
            )

        @require_scopes("orders:read")
        def orders(request: HttpRequest) -> JsonResponse:
            return JsonResponse(describe(request))

        @require_scopes("orders:read")
        async def orders_async(request: HttpRequest) -> JsonResponse:
            return JsonResponse(describe(request))

        @require_scopes("orders:admin")
        def orders_admin(request: HttpRequest) -> JsonResponse:
            return JsonResponse(describe(request))

        class DrfOrders(APIView):
            authentication_classes = (BearerTokenAuthentication,)
            permission_classes = (HasScopes.of("orders:read"),)

            def get(self, request: Request) -> Response:
                return Response({"sub": request.user.id, "client_id": request.auth.client_id})  # type: ignore[union-attr]

        class DrfAdmin(APIView):
            authentication_classes = (BearerTokenAuthentication,)
            permission_classes = (HasScopes,)
            required_scopes = ("orders:read", "orders:admin")

            def get(self, request: Request) -> Response:
                return Response({"ok": True})

        class DrfAny(APIView):
            authentication_classes = (BearerTokenAuthentication,)
            permission_classes = (HasAnyScope.of("orders:admin", "orders:read"),)

            def get(self, request: Request) -> Response:
                return Response({"ok": True})

        return [
            path("whoami/", whoami),
            path("whoami-async/", whoami_async),
            path("auser/", auser_view),
            path("orders/", orders),
            path("orders-async/", orders_async),
            path("orders-admin/", orders_admin),
            path("drf/orders/", DrfOrders.as_view()),
            path("drf/admin/", DrfAdmin.as_view()),
            path("drf/any/", DrfAny.as_view()),
            path(".well-known/jwks.json", jwks_view),
            path("o/token/", token_view),
        ]


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
    request_ids: list[str | None] = field(default_factory=list)  # X-Request-ID of token calls
    token_gate: threading.Event = field(default_factory=threading.Event)  # clear: hold answers
    token_requested: threading.Event = field(default_factory=threading.Event)
    introspect_gate: threading.Event = field(default_factory=threading.Event)
    introspect_requested: threading.Event = field(default_factory=threading.Event)

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
    request_ids: list[str | None] = []
    token_gate = threading.Event()
    token_gate.set()
    token_requested = threading.Event()
    introspect_gate = threading.Event()
    introspect_gate.set()
    introspect_requested = threading.Event()

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
        token_requested.set()
        token_gate.wait(timeout=10)
        count("token")
        request_ids.append(request.headers.get("X-Request-ID"))
        return server.create_token_response()

    @app.post("/introspect")
    def introspection_endpoint() -> Any:
        introspect_requested.set()
        introspect_gate.wait(timeout=10)
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

    odd_answers: dict[str, tuple[Any, int]] = {
        "string-expiry": ({"access_token": "t", "token_type": "bearer", "expires_in": "3599"}, 200),
        "no-token": ({"token_type": "Bearer", "expires_in": 60}, 200),
        "mac": ({"access_token": "t", "token_type": "mac", "expires_in": 60}, 200),
        "negative": ({"access_token": "t", "token_type": "Bearer", "expires_in": -5}, 200),
        "html": ("<html>hello</html>", 200),
        "server-error": ("<html>oops</html>", 500),
    }

    @app.post("/odd-token/<kind>")
    def odd_token(kind: str) -> Any:
        body, status = odd_answers[kind]
        return (jsonify(body) if isinstance(body, dict) else body), status

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
                access_token_generator=lambda **_: secrets.token_urlsafe(32),
                expires_generator=lambda client, grant: expires_in,
            ),
        )
    thread = threading.Thread(
        target=http.serve_forever, kwargs={"poll_interval": 0.05}, name="issuer", daemon=True
    )
    thread.start()
    try:
        yield ThirdPartyIssuer(
            url=url,
            signing_key=key,
            clients=clients,
            tokens=tokens,
            expires_in=expires_in,
            requests=counts,
            request_ids=request_ids,
            token_gate=token_gate,
            token_requested=token_requested,
            introspect_gate=introspect_gate,
            introspect_requested=introspect_requested,
        )
    finally:
        token_gate.set()
        introspect_gate.set()
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


# -- tokens made by hand, for the security suite -----------------------------------------


def b64url(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class TokenForge:
    """Builds signed (or deliberately broken) compact JWS tokens with the test keys."""

    def __init__(self) -> None:
        self.rsa = SigningKey.generate("RS256", kid="rsa-1")
        self.ec = SigningKey.generate("ES256", kid="ec-1")
        self.ed = SigningKey.generate("EdDSA", kid="ed-1")
        self.by_alg = {"RS256": self.rsa, "ES256": self.ec, "EdDSA": self.ed}
        self.keys = StaticKeySet(
            [self.rsa.verification_key(), self.ec.verification_key(), self.ed.verification_key()]
        )

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": ISSUER,
            "sub": "user-42",
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": "jti-1",
            "scope": "orders:read orders:write",
            "roles": ["clerk"],
            "client_id": "web",
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    def token(
        self,
        claims: dict[str, Any] | None = None,
        *,
        alg: str = "RS256",
        key: SigningKey | None = None,
        header: dict[str, Any] | None = None,
        raw_payload: str | None = None,
    ) -> str:
        """Sign `claims` (or the raw JSON text `raw_payload`) with `key` under header `alg`."""
        signer = key or self.by_alg.get(alg, self.rsa)
        head: dict[str, Any] = {"alg": alg, "kid": signer.kid, "typ": "at+jwt"}
        head.update(header or {})
        head = {k: v for k, v in head.items() if v is not None}
        payload = raw_payload if raw_payload is not None else json.dumps(claims or self.claims())
        signing_input = f"{b64url(json.dumps(head))}.{b64url(payload)}".encode("ascii")
        algorithm = get_default_algorithms()[signer.algorithm]
        signature = algorithm.sign(signing_input, signer.private_key)
        return f"{signing_input.decode('ascii')}.{b64url(signature)}"

    def unsigned(self, header: dict[str, Any], payload: str, signature: bytes = b"") -> str:
        return f"{b64url(json.dumps(header))}.{b64url(payload)}.{b64url(signature)}"


@pytest.fixture(scope="session")
def forge() -> TokenForge:
    return TokenForge()


class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- a JWKS server whose answers and counts the tests control ------------------------------


@dataclass
class JWKSServer:
    url: str
    document: dict[str, Any]
    cache_control: str | None = "max-age=300"
    status: int = 200
    fetches: int = 0
    gate: threading.Event = field(default_factory=threading.Event)
    requested: threading.Event = field(default_factory=threading.Event)  # a GET arrived
    provider: Callable[[], dict[str, Any]] | None = None  # when set, serves its live document
    received: list[dict[str, str]] = field(default_factory=list)  # each GET's headers, lower-cased

    def publish(self, *keys: SigningKey) -> None:
        self.document = {"keys": [key.public_jwk() for key in keys]}


@pytest.fixture
def jwks_server(forge: TokenForge) -> Iterator[JWKSServer]:
    """A JWKS endpoint on 127.0.0.1 serving the forge's keys; counts fetches; can fail."""
    state = JWKSServer(url="", document={})
    state.publish(forge.rsa, forge.ec, forge.ed)
    state.gate.set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.received.append({k.lower(): v for k, v in self.headers.items()})
            state.requested.set()
            state.gate.wait(timeout=10)
            with lock:
                state.fetches += 1
            document = state.provider() if state.provider else state.document
            body = json.dumps(document).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            if state.cache_control is not None:
                self.send_header("Cache-Control", state.cache_control)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class names it)
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{http.server_port}/jwks.json"
    thread = threading.Thread(
        target=http.serve_forever, kwargs={"poll_interval": 0.05}, name="jwks", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        state.gate.set()
        http.shutdown()
        thread.join(timeout=10)
        http.server_close()


# -- the attack catalogue, shared by the verifier suite and the Django/DRF suite ------------


def _attacks(forge: TokenForge) -> dict[str, tuple[str, str]]:
    """name -> (token, the reason it must be rejected with)."""
    now = int(time.time())
    claims = json.dumps(forge.claims())
    public_pem = forge.rsa.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_input = f"{b64url(json.dumps({'alg': 'HS256', 'kid': forge.rsa.kid}))}.{b64url(claims)}"
    hs_mac = hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest()
    attacker = SigningKey.generate("RS256", kid="attacker")
    es_head, es_payload, _ = forge.token(alg="ES256").split(".")
    zero_r, zero_s = bytes(32) + b"\x01" * 32, b"\x01" * 32 + bytes(32)
    broken_header = b64url('{"alg":')
    duplicated_header = '{"alg":"none","alg":"RS256","kid":"rsa-1"}'
    return {
        "alg_none": (forge.unsigned({"alg": "none"}, claims), "unsupported_algorithm"),
        "rs256_to_hs256": (f"{hs_input}.{b64url(hs_mac)}", "unsupported_algorithm"),
        "forged_kid": (forge.token(key=attacker), "unknown_kid"),
        "jku_header": (forge.token(header={"jku": "http://evil.invalid/k"}), "embedded_key"),
        "x5u_header": (forge.token(header={"x5u": "http://evil.invalid/c"}), "embedded_key"),
        "embedded_jwk": (
            forge.token(key=attacker, header={"jwk": attacker.public_jwk()}),
            "embedded_key",
        ),
        "expired": (forge.token(forge.claims(exp=now - 120)), "expired"),
        "not_yet_valid": (forge.token(forge.claims(nbf=now + 600)), "not_yet_valid"),
        "issued_in_future": (forge.token(forge.claims(iat=now + 600)), "issued_in_future"),
        "wrong_audience": (forge.token(forge.claims(aud="https://other.test")), "wrong_audience"),
        "wrong_issuer": (forge.token(forge.claims(iss="https://evil.test")), "wrong_issuer"),
        "missing_sub": (forge.token(forge.claims(sub=None)), "missing_claim"),
        "missing_exp": (forge.token(forge.claims(exp=None)), "missing_claim"),
        "malformed_base64": ("eyJhbGciOiJSUzI1NiJ9.e30.a+b/c=", "malformed_base64"),
        "malformed_json": (f"{broken_header}.{b64url('{}')}.{b64url(b'x')}", "malformed_json"),
        "two_segments": ("eyJhbGciOiJSUzI1NiJ9.e30", "malformed"),
        "oversized": (forge.token(forge.claims(pad="x" * 1_300_000)), "too_large"),
        "duplicated_claim": (
            forge.token(raw_payload=claims[:-1] + ', "sub": "admin"}'),
            "duplicate_claim",
        ),
        "string_exp": (forge.token(forge.claims(exp=str(now + 300))), "bad_date"),
        "unknown_crit": (forge.token(header={"crit": ["exp"], "exp": now}), "crit"),
        "empty_crit": (forge.token(header={"crit": []}), "crit"),
        "alg_key_mismatch": (
            forge.token(alg="ES256", key=forge.ec, header={"kid": forge.rsa.kid}),
            "alg_key_mismatch",
        ),
        "ecdsa_zero_r_s": (f"{es_head}.{es_payload}.{b64url(bytes(64))}", "bad_signature"),
        "ecdsa_zero_r": (f"{es_head}.{es_payload}.{b64url(zero_r)}", "bad_signature"),
        "ecdsa_zero_s": (f"{es_head}.{es_payload}.{b64url(zero_s)}", "bad_signature"),
        "alg_none_capitalised": (forge.unsigned({"alg": "None"}, claims), "unsupported_algorithm"),
        "x5c_header": (forge.token(header={"x5c": ["MIIB"]}), "embedded_key"),
        "kid_not_a_string": (forge.token(header={"kid": ["rsa-1"]}), "bad_kid"),
        "id_token_typ": (forge.token(header={"typ": "id_token"}), "bad_typ"),
        "duplicated_header_name": (
            f"{b64url(duplicated_header)}.{b64url(claims)}.{b64url(b'x')}",
            "duplicate_claim",
        ),
        "signed_malformed_payload": (forge.token(raw_payload='{"sub":'), "malformed_json"),
        "signed_nan_exp": (forge.token(raw_payload=claims[:-1] + ', "x": NaN}'), "malformed_json"),
        "non_canonical_base64": (_non_canonical(forge.token(alg="ES256")), "malformed_base64"),
        "missing_aud": (forge.token(forge.claims(aud=None)), "missing_claim"),
        "missing_iat": (forge.token(forge.claims(iat=None)), "missing_claim"),
        "string_nbf": (forge.token(forge.claims(nbf=str(now))), "bad_date"),
        "boolean_iat": (forge.token(forge.claims(iat=True)), "bad_date"),
        "audience_list_of_others": (forge.token(forge.claims(aud=["a", "b"])), "wrong_audience"),
        "wrong_claim_type": (forge.token(forge.claims(roles="admin")), "bad_claim_type"),
        "ecdsa_wrong_length": (f"{es_head}.{es_payload}.{b64url(bytes(63))}", "bad_signature"),
        "tampered_payload": (
            ".".join(
                (
                    forge.token().split(".")[0],
                    b64url(json.dumps(forge.claims(sub="admin"))),
                    forge.token().split(".")[2],
                )
            ),
            "bad_signature",
        ),
    }


def _non_canonical(token: str) -> str:
    """The same token with unused low bits set in the signature's last base64url character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    head, payload, signature = token.split(".")
    assert len(signature) % 4 == 2  # an ES256 signature: 4 unused bits in the last character
    return f"{head}.{payload}.{signature[:-1]}{alphabet[alphabet.index(signature[-1]) | 1]}"


@pytest.fixture(scope="session")
def attacks(forge: TokenForge) -> dict[str, tuple[str, str]]:
    return _attacks(forge)


# -- django-oauth-toolkit in its own process -----------------------------------------------


@dataclass
class DotIssuer:
    url: str

    @property
    def token_url(self) -> str:
        return f"{self.url}/o/token/"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/o/introspect/"

    @property
    def revocation_url(self) -> str:
        return f"{self.url}/o/revoke_token/"


@pytest.fixture(scope="session")
def dot_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DotIssuer]:
    """django-oauth-toolkit (opaque tokens, introspection) on 127.0.0.1, in a subprocess."""
    database = tmp_path_factory.mktemp("dot") / "dot.sqlite3"
    script = Path(__file__).with_name("dot_issuer.py")
    process = subprocess.Popen(
        [sys.executable, str(script), str(database)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server listens (or the process dies)
        if not line.startswith("PORT "):
            process.kill()
            _, errors = process.communicate(timeout=30)
            pytest.fail(f"django-oauth-toolkit issuer did not start: {line!r} {errors[-2000:]}")
        yield DotIssuer(url=f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


# -- Django settings pointing at the test JWKS server --------------------------------------


@pytest.fixture
def live_settings(settings: Any, jwks_server: JWKSServer) -> Any:
    """COMMON_AUTH verifying against the test JWKS server on 127.0.0.1 (settings restored after)."""
    settings.COMMON_AUTH = {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "JWKS_URL": jwks_server.url}
    return settings


@pytest.fixture
def verifications(live_settings: Any) -> list[str]:
    """The tokens the configured verifier is asked to verify, in order."""
    from common_auth.django import get_verifier

    verifier = get_verifier()
    calls: list[str] = []
    original = verifier.verify

    def counting(token: str) -> Any:
        calls.append(token)
        return original(token)

    verifier.verify = counting  # type: ignore[method-assign]
    return calls


# -- the OpenTelemetry SDK, for the tests of spans and counters ------------------------------


@dataclass
class Telemetry:
    """The SDK this test process reports to: finished spans, and the counters read so far."""

    spans: Any  # InMemorySpanExporter
    reader: Any  # InMemoryMetricReader

    def counts(self, name: str) -> dict[frozenset[tuple[str, Any]], int]:
        """Counter ``name``'s values by attribute set, as read now."""
        data = self.reader.get_metrics_data()
        found: dict[frozenset[tuple[str, Any]], int] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            found[frozenset(point.attributes.items())] = point.value
        return found

    def added(self, name: str, before: dict[frozenset[tuple[str, Any]], int]) -> dict[str, int]:
        """What counter ``name`` gained since ``before``, by its last attribute's value."""
        gained = {}
        for labels, value in self.counts(name).items():
            delta = value - before.get(labels, 0)
            if delta:
                gained[",".join(f"{k}={v}" for k, v in sorted(labels))] = delta
        return gained


@pytest.fixture(scope="session")
def _telemetry_sdk() -> Telemetry:
    """The OpenTelemetry SDK as the global providers, once per process (it can be set once)."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return Telemetry(exporter, reader)


@pytest.fixture
def telemetry(_telemetry_sdk: Telemetry) -> Telemetry:
    """The process's SDK with no span left from an earlier test."""
    _telemetry_sdk.spans.clear()
    return _telemetry_sdk
