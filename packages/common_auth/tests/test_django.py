"""The Django middleware, user object, decorator, JWKS view and system checks, over a real JWKS."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import django
import pytest
from django.core.checks import run_checks
from django.test import AsyncClient, Client

from common_auth import (
    ConfigurationError,
    JWKSCache,
    SigningKey,
    TokenVerifier,
    issue_access_token,
)
from common_auth.django import CommonAuthSettings, TokenUser, get_signing_keys, get_verifier

ISSUER = "https://issuer.commons.test"
AUDIENCE = "https://api.commons.test"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


INVALID_TOKEN = "https://commons.invalid/problems/invalid_token"


def problem(response: Any) -> dict[str, Any]:
    """The RFC 9457 body of a refusal (and that it is one)."""
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response.content)
    assert body["status"] == response.status_code
    return body


def invalid_token(reason: str, path: str) -> dict[str, Any]:
    return {
        "type": INVALID_TOKEN,
        "title": "Unauthorized",
        "status": 401,
        "detail": f"the bearer token is not valid: {reason}",
        "instance": path,
        "reason": reason,
    }


# -- the security suite through the middleware, sync and async ------------------------------


def test_every_attack_is_a_401_with_its_reason_sync(live_settings, attacks) -> None:
    client = Client()
    for name, (token, reason) in attacks.items():
        response = client.get("/whoami/", headers=bearer(token))
        assert response.status_code == 401, name
        assert problem(response) == invalid_token(reason, "/whoami/"), name
        assert response["WWW-Authenticate"] == (
            f'Bearer realm="api", error="invalid_token", error_description="{reason}"'
        ), name


def test_every_attack_is_a_401_with_its_reason_async(live_settings, attacks) -> None:
    async def run() -> None:
        client = AsyncClient()
        for name, (token, reason) in attacks.items():
            response = await client.get("/whoami-async/", headers=bearer(token))
            assert response.status_code == 401, name
            assert problem(response) == invalid_token(reason, "/whoami-async/"), name
            assert 'error="invalid_token"' in response["WWW-Authenticate"], name

    asyncio.run(run())


def test_every_attack_is_a_401_from_drf_alone(live_settings, attacks) -> None:
    live_settings.MIDDLEWARE = []  # the DRF authentication class on its own
    client = Client()
    for name, (token, reason) in attacks.items():
        response = client.get("/drf/orders/", headers=bearer(token))
        assert response.status_code == 401, name
        assert problem(response) == invalid_token(reason, "/drf/orders/"), name
        assert response["WWW-Authenticate"] == (
            f'Bearer realm="api", error="invalid_token", error_description="{reason}"'
        ), name


def test_every_attack_is_a_401_from_a_drf_view_behind_the_middleware(
    live_settings, attacks
) -> None:
    client = Client()
    for name, (token, reason) in attacks.items():
        response = client.get("/drf/orders/", headers=bearer(token))
        assert response.status_code == 401, name
        assert problem(response) == invalid_token(reason, "/drf/orders/"), name
        assert response["WWW-Authenticate"] == (
            f'Bearer realm="api", error="invalid_token", error_description="{reason}"'
        ), name


@pytest.mark.parametrize("path", ["/orders/", "/orders-async/"])
def test_every_attack_is_a_401_through_the_decorator_alone(live_settings, attacks, path) -> None:
    live_settings.MIDDLEWARE = []

    async def run() -> list[tuple[str, int, str]]:
        client = AsyncClient()
        answers = []
        for name, (token, _) in attacks.items():
            response = await client.get(path, headers=bearer(token))
            answers.append((name, response.status_code, problem(response)["reason"]))
        return answers

    if path == "/orders/":
        client = Client()
        answers = [
            (name, r.status_code, problem(r)["reason"])
            for name, r in (
                (n, client.get(path, headers=bearer(t))) for n, (t, _) in attacks.items()
            )
        ]
    else:
        answers = asyncio.run(run())
    assert answers == [(name, 401, reason) for name, (_, reason) in attacks.items()]


# -- what a valid token gives a view ----------------------------------------------------------


def test_a_valid_token_gives_a_token_user(live_settings, forge) -> None:
    response = Client().get("/whoami/", headers=bearer(forge.token(alg="ES256")))
    assert response.status_code == 200
    assert response.json() == {
        "authenticated": True,
        "id": "user-42",
        "username": "user-42",
        "scopes": ["orders:read", "orders:write"],
        "roles": ["clerk"],
        "auth": "user-42",
        "forwarded": True,
        "can_view_orders": False,
    }


def test_async_middleware_gives_a_token_user(live_settings, forge) -> None:
    async def run() -> Any:
        return await AsyncClient().get("/whoami-async/", headers=bearer(forge.token(alg="EdDSA")))

    response = asyncio.run(run())
    assert response.status_code == 200
    assert response.json()["id"] == "user-42"
    assert response.json()["forwarded"] is True


SESSION_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]


@pytest.mark.skipif(django.VERSION < (5, 0), reason="request.auser() came with Django 5.0")
@pytest.mark.parametrize("session", [False, True], ids=["alone", "after-session-auth"])
def test_async_views_get_the_token_user_from_auser(live_settings, forge, session) -> None:
    if session:
        live_settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
        live_settings.MIDDLEWARE = [*SESSION_MIDDLEWARE, *live_settings.MIDDLEWARE]

    async def run() -> tuple[Any, Any]:
        client = AsyncClient()
        with_token = await client.get("/auser/", headers=bearer(forge.token()))
        return with_token.json(), (await client.get("/auser/")).json()

    with_token, without = asyncio.run(run())
    assert with_token == {"type": "TokenUser", "id": "user-42", "same": True}
    assert without["type"] == "AnonymousUser"


def test_a_server_misconfiguration_is_not_disguised_as_a_client_error(live_settings, forge):
    # A CLAIMS_MODEL that cannot be imported is the server's fault: the error propagates (a
    # 500 naming the key, and the system check says it at start-up), never a 401 that blames
    # the token.
    live_settings.COMMON_AUTH = live_settings.COMMON_AUTH | {"CLAIMS_MODEL": "no.such.Model"}
    for path in ("/whoami/", "/orders/", "/drf/orders/"):
        with pytest.raises(ConfigurationError, match=r"COMMON_AUTH\['CLAIMS_MODEL'\]"):
            Client().get(path, headers=bearer(forge.token()))
    live_settings.MIDDLEWARE = []
    with pytest.raises(ConfigurationError, match="CLAIMS_MODEL"):
        Client().get("/drf/orders/", headers=bearer(forge.token()))


def test_no_token_is_anonymous(live_settings) -> None:
    body = Client().get("/whoami/").json()
    assert body["authenticated"] is False
    assert body["auth"] is None
    assert body["forwarded"] is False


def test_another_scheme_is_left_alone(live_settings) -> None:
    response = Client().get("/whoami/", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 200
    assert response.json()["authenticated"] is False


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b"])
def test_a_malformed_bearer_header_is_a_400(live_settings, header) -> None:
    response = Client().get("/whoami/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_request"'
    body = problem(response)
    assert body["type"] == "https://commons.invalid/problems/invalid_request"
    assert body["detail"] == "the Authorization header is not 'Bearer <token>'"


def test_permissions_map_to_scopes(live_settings, forge) -> None:
    live_settings.COMMON_AUTH = live_settings.COMMON_AUTH | {
        "PERMISSION_SCOPES": {"orders.view_order": "orders:read"}
    }
    body = Client().get("/whoami/", headers=bearer(forge.token())).json()
    assert body["can_view_orders"] is True


def test_token_user_protocol(forge) -> None:
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=forge.keys)
    claims = verifier.verify(forge.token(forge.claims(preferred_username="ada")))
    user = TokenUser(claims, permission_scopes={"orders.change_order": ["orders:write"]})
    assert user.is_authenticated
    assert not user.is_anonymous
    assert user.pk == user.id == "user-42"
    assert user.username == "ada" == str(user)
    assert user.client_id == "web"
    assert user.has_perm("orders:read")
    assert user.has_perm("orders.change_order")
    assert not user.has_perm("orders.delete_order")
    assert user.has_perms(["orders:read", "orders:write"])
    assert user.has_module_perms("orders")
    assert not user.has_module_perms("billing")
    assert user == TokenUser(claims)
    assert len({user, TokenUser(claims)}) == 1
    with pytest.raises(NotImplementedError):
        user.save()


# -- the decorator -------------------------------------------------------------------------------


def test_decorator_needs_a_token(live_settings) -> None:
    response = Client().get("/orders/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert problem(response) == {
        "type": "https://commons.invalid/problems/not_authenticated",
        "title": "Unauthorized",
        "status": 401,
        "detail": "a bearer token is required",
        "instance": "/orders/",
    }


def test_decorator_checks_scopes(live_settings, forge) -> None:
    client = Client()
    assert client.get("/orders/", headers=bearer(forge.token())).status_code == 200
    response = client.get("/orders-admin/", headers=bearer(forge.token()))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", scope="orders:admin"'
    )
    assert problem(response) == {
        "type": "https://commons.invalid/problems/insufficient_scope",
        "title": "Forbidden",
        "status": 403,
        "detail": "the token lacks the required scope(s): orders:admin",
        "instance": "/orders-admin/",
        "scope": "orders:admin",
    }


def test_async_decorator(live_settings, forge) -> None:
    async def run() -> Any:
        client = AsyncClient()
        ok = await client.get("/orders-async/", headers=bearer(forge.token()))
        narrow = await client.get(
            "/orders-async/", headers=bearer(forge.token(forge.claims(scope="orders:write")))
        )
        return ok.status_code, narrow.status_code

    assert asyncio.run(run()) == (200, 403)


def test_the_token_is_verified_once_per_request(live_settings, forge, verifications) -> None:
    assert Client().get("/orders/", headers=bearer(forge.token())).status_code == 200
    assert len(verifications) == 1


# -- issuer keys unavailable ----------------------------------------------------------------


def test_missing_issuer_keys_are_a_503_not_a_500(settings, forge, unused_url) -> None:
    settings.COMMON_AUTH = {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "JWKS_URL": unused_url}
    unavailable = {
        "type": "https://commons.invalid/problems/auth_unavailable",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "token keys are unavailable",
    }
    response = Client().get("/whoami/", headers=bearer(forge.token()))
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert problem(response) == {**unavailable, "instance": "/whoami/"}
    settings.MIDDLEWARE = []
    response = Client().get("/drf/orders/", headers=bearer(forge.token()))
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert problem(response) == {**unavailable, "instance": "/drf/orders/"}


# -- the auth service: signing keys, JWKS view, own tokens --------------------------------------


def test_auth_service_publishes_its_jwks_and_verifies_its_own_tokens(settings) -> None:
    key = SigningKey.generate("ES256", kid="svc-1")
    settings.COMMON_AUTH = {
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "SIGNING_KEYS": [key.private_pem()],
        "JWKS_MAX_AGE": 120,
    }
    response = Client().get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=120"
    document = json.loads(response.content)
    assert document == {"keys": [SigningKey.from_pem(key.private_pem()).public_jwk()]}
    assert "d" not in document["keys"][0]
    token = issue_access_token(
        get_signing_keys(), issuer=ISSUER, subject="svc", audience=AUDIENCE, scopes=["orders:read"]
    )
    assert Client().get("/orders/", headers=bearer(token)).status_code == 200
    assert Client().post("/.well-known/jwks.json").status_code == 405


def test_jwks_and_token_views_stay_public_where_every_other_view_requires_a_login(
    settings,
) -> None:
    key = SigningKey.generate("ES256", kid="svc-1")
    settings.COMMON_AUTH = {
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "SIGNING_KEYS": [key.private_pem()],
    }
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    assert Client().get("/whoami/").status_code == 302  # sent to sign in
    assert Client().get("/.well-known/jwks.json").status_code == 200
    # Refused for its missing credentials by the view itself, not sent to a login page.
    assert Client().post("/o/token/", {"grant_type": "client_credentials"}).status_code == 401


def test_jwks_view_without_keys_is_a_404(live_settings, monkeypatch) -> None:
    monkeypatch.delenv("COMMON_AUTH_SIGNING_KEY", raising=False)
    response = Client().get("/.well-known/jwks.json")
    assert response.status_code == 404
    assert problem(response)["detail"] == "no signing keys are configured"


def test_signing_keys_from_the_environment(settings, monkeypatch) -> None:
    key = SigningKey.generate("EdDSA")
    monkeypatch.setenv("COMMON_AUTH_SIGNING_KEY", key.private_pem())
    settings.COMMON_AUTH = {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE}
    assert get_signing_keys().active.kid == key.kid


def test_jwks_served_by_django_rotates_end_to_end(settings, live_server, clock) -> None:
    old, new = SigningKey.generate("ES256", kid="old"), SigningKey.generate("EdDSA", kid="new")
    settings.COMMON_AUTH = {
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "SIGNING_KEYS": [old.private_pem()],
    }
    verifier = TokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=JWKSCache(f"{live_server.url}/.well-known/jwks.json", clock=clock),
    )
    before = issue_access_token(get_signing_keys(), issuer=ISSUER, subject="a", audience=AUDIENCE)
    assert verifier.verify(before).sub == "a"
    get_signing_keys().rotate(new)
    after = issue_access_token(get_signing_keys(), issuer=ISSUER, subject="b", audience=AUDIENCE)
    clock.advance(61)
    assert verifier.verify(after).sub == "b"
    assert verifier.verify(before).sub == "a"


# -- settings and system checks -----------------------------------------------------------------


def check_ids(settings_value, settings) -> list[str]:
    if settings_value is None:
        del settings.COMMON_AUTH
    else:
        settings.COMMON_AUTH = settings_value
    ids = [message.id or "" for message in run_checks()]
    return [i for i in ids if i.startswith("common_auth")]


def test_valid_settings_pass_the_checks(live_settings) -> None:
    assert check_ids(live_settings.COMMON_AUTH, live_settings) == ["common_auth.W001"]  # http


def test_https_settings_pass_without_warning(settings) -> None:
    value = {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE}
    assert check_ids(value, settings) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ["common_auth.E001"]),
        ({"AUDIENCE": AUDIENCE}, ["common_auth.E001"]),
        ({"ISSUER": ISSUER}, ["common_auth.E001"]),
        ({"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "LEEWAY": 9999}, ["common_auth.E002"]),
        ({"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "ALGORITHMS": ["HS256"]}, ["common_auth.E002"]),
        ({"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "TYPO": 1}, ["common_auth.E002"]),
        ({"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "JWKS_URL": "nope"}, ["common_auth.E002"]),
        (
            {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "CLAIMS_MODEL": "no.such.Model"},
            ["common_auth.E002"],
        ),
        (
            {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "INTROSPECTION_URL": "https://i/x"},
            ["common_auth.E002"],
        ),
        (
            {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "SIGNING_KEYS": ["garbage"]},
            ["common_auth.E003"],  # once: the verifier fails only because the keys do
        ),
        (
            {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "JWKS_MIN_TTL": 600, "JWKS_MAX_TTL": 60},
            ["common_auth.E002"],
        ),
    ],
)
def test_bad_settings_fail_the_checks(settings, value, expected) -> None:
    assert check_ids(value, settings) == expected


def test_check_messages_name_the_key(settings) -> None:
    settings.COMMON_AUTH = {"AUDIENCE": AUDIENCE}
    messages = [m.msg for m in run_checks() if m.id == "common_auth.E001"]
    assert messages == ["COMMON_AUTH['ISSUER'] is missing"]


def key(name: str) -> str:
    return f"COMMON_AUTH[{name!r}]"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"JWKS_URL": "nope"}, f"{key('JWKS_URL')}: must be an absolute http(s) URL, got 'nope'"),
        ({"ISSUER": "auth-service"}, f"{key('ISSUER')} is not an http(s) URL, so"),
        (
            {"JWKS_URL": "https://u:hunter2@issuer.commons.test/jwks.json"},
            f"{key('JWKS_URL')}: must not carry credentials (user:password@), got "
            "'https://issuer.commons.test/jwks.json'",
        ),
        ({"ALGORITHMS": ["RS256", "HS256"]}, f"{key('ALGORITHMS')}: must be asymmetric"),
        ({"AUDIENCE": ["", AUDIENCE]}, f"{key('AUDIENCE')}: an audience is an empty string"),
        (
            {"INTROSPECTION_URL": "https://issuer.commons.test/introspect/"},
            f"{key('INTROSPECTION_URL')} needs {key('INTROSPECTION_CLIENT_ID')} and",
        ),
        (
            {"JWKS_URL": "https://a.test/jwks", "INTROSPECTION_URL": "https://a.test/i"},
            f"give {key('JWKS_URL')} or {key('INTROSPECTION_URL')}, not both",
        ),
        ({"JWKS_MIN_TTL": 600, "JWKS_MAX_TTL": 60}, f"{key('JWKS_MIN_TTL')} exceeds"),
        ({"TOKEN_LIFETIME": 7200}, f"{key('TOKEN_LIFETIME')} exceeds {key('MAX_TOKEN_LIFETIME')}"),
        ({"LEEWAY": "soon"}, f"{key('LEEWAY')}: Input should be a valid number"),
        ({"REALM": 'a"b'}, f"{key('REALM')}: must not contain a double quote"),
        (
            {"PERMISSION_SCOPES": {"orders.view_order": 3}},
            f"{key('PERMISSION_SCOPES')}: the scopes of 'orders.view_order' must be",
        ),
        ({"CLAIMS_MODEL": "no.such.Model"}, f"{key('CLAIMS_MODEL')}: cannot import"),
        ({"SIGNING_KEYS": ["garbage"]}, f"{key('SIGNING_KEYS')}[0]: neither a PEM private key"),
        ({"CLIENTS": {"web": {"SECRET_HASH": "x"}}}, f"{key('CLIENTS')}['web']['AUDIENCES']"),
    ],
)
def test_every_check_message_names_the_key_once(settings, extra, expected) -> None:
    settings.COMMON_AUTH = {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE} | extra
    messages = [m.msg for m in run_checks() if (m.id or "").startswith("common_auth.E")]
    assert len(messages) == 1, messages
    assert messages[0].startswith(expected), messages
    assert "Value error" not in messages[0]
    assert messages[0].count(key(next(iter(extra)))) == expected.count(key(next(iter(extra))))


def test_settings_model_documents_defaults() -> None:
    config = CommonAuthSettings.model_validate({"ISSUER": ISSUER + "/", "AUDIENCE": AUDIENCE})
    assert config.effective_jwks_url == f"{ISSUER}/.well-known/jwks.json"
    assert config.algorithms == ["RS256", "ES256", "EdDSA", "Ed25519"]
    assert config.scopes_for_permission("x.y") == {"x.y"}


def test_runtime_misconfiguration_is_a_configuration_error(settings) -> None:
    settings.COMMON_AUTH = {"ISSUER": ISSUER}
    with pytest.raises(ConfigurationError, match=r"COMMON_AUTH\['AUDIENCE'\] is missing"):
        get_verifier()


def test_middleware_order_is_checked(live_settings) -> None:
    ours = "common_auth.django.TokenAuthenticationMiddleware"
    session = "django.contrib.auth.middleware.AuthenticationMiddleware"
    live_settings.MIDDLEWARE = [ours, session]
    assert "common_auth.W002" in [m.id for m in run_checks()]
    live_settings.MIDDLEWARE = [session, ours]
    assert "common_auth.W002" not in [m.id for m in run_checks()]
