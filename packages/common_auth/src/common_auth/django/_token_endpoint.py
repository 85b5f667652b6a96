"""The auth service's OAuth2 token endpoint for the client credentials grant (RFC 6749 §4.4).

Clients are registered in ``COMMON_AUTH['CLIENTS']`` with a Django password hash of their secret
(``make_password(secret)``), the scopes they may ask for and the audiences they may name. A
successful request gets a JWT from `issue_access_token`, signed with the service's key set; the
answer follows RFC 6749 §5.1 (``Cache-Control: no-store``) and errors §5.2 (``invalid_client``
with 401, ``invalid_request``, ``invalid_scope``, ``unsupported_grant_type`` with 400, and RFC
8707's ``invalid_target`` for an audience the client may not name).
"""

from __future__ import annotations

import binascii
import functools
import logging
from base64 import b64decode
from urllib.parse import unquote

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.hashers import check_password, make_password
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from common_auth._issuing import issue_access_token
from common_auth.django._settings import ClientSettings, auth_settings, get_signing_keys

logger = logging.getLogger("common_auth.django.token")


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the client id is unknown, so the answer takes as long either way."""
    return make_password("common-auth-unknown-client")


class _OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status


def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    in_form = "client_id" in request.POST or "client_secret" in request.POST
    if isinstance(header, str) and header[:6].lower() == "basic ":
        if in_form:
            raise _OAuthError("invalid_request", "use one client authentication method")
        try:
            decoded = b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _OAuthError("invalid_client", "malformed Basic credentials", 401) from None
        client_id, separator, secret = decoded.partition(":")
        if not separator:
            raise _OAuthError("invalid_client", "malformed Basic credentials", 401)
        # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
        return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
    if in_form:
        return request.POST.get("client_id", ""), request.POST.get("client_secret", "")
    raise _OAuthError("invalid_client", "client authentication is required", 401)


def _authenticate_client(client_id: str, secret: str) -> ClientSettings:
    client = auth_settings().clients.get(client_id)
    valid = check_password(secret, client.secret_hash if client else _dummy_hash())
    if client is None or not valid or not secret:
        raise _OAuthError("invalid_client", "unknown client or wrong secret", 401)
    return client


def _error(exc: _OAuthError) -> JsonResponse:
    response = JsonResponse({"error": exc.error, "error_description": str(exc)}, status=exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = f'Basic realm="{auth_settings().realm}"'
    response["Cache-Control"] = "no-store"
    return response


@login_not_required  # clients authenticate with their credentials, never a session
@csrf_exempt
@require_POST
def token_view(request: HttpRequest) -> JsonResponse:
    """``POST`` ``grant_type=client_credentials`` (with ``scope`` and ``audience`` optional),
    the client authenticated by HTTP Basic or by ``client_id``/``client_secret`` form fields."""
    try:
        client_id, secret = _client_credentials(request)
        client = _authenticate_client(client_id, secret)
        grant_type = request.POST.get("grant_type")
        if grant_type != "client_credentials":
            raise _OAuthError("unsupported_grant_type", "only client_credentials is supported")
        requested = request.POST.get("scope", "").split()
        refused = sorted(set(requested) - set(client.scopes))
        if refused:
            raise _OAuthError("invalid_scope", f"scope(s) not allowed: {' '.join(refused)}")
        granted = requested or list(client.scopes)
        audience = request.POST.get("audience") or client.audiences[0]
        if audience not in client.audiences:
            raise _OAuthError("invalid_target", "this client may not ask for that audience")
    except _OAuthError as exc:
        logger.info("token request refused (%s): %s", exc.error, exc)
        return _error(exc)
    config = auth_settings()
    token = issue_access_token(
        get_signing_keys(),
        issuer=config.issuer,
        subject=client_id,
        audience=audience,
        lifetime=config.token_lifetime,
        scopes=granted,
        client_id=client_id,
    )
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(config.token_lifetime),
        "scope": " ".join(granted),
    }
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
