"""Django system checks of ``COMMON_AUTH``: a bad setting stops start-up, not the first request.

- ``common_auth.E001``: the setting or a required key is missing;
- ``common_auth.E002``: a key has an invalid value (the verifier cannot be built from it);
- ``common_auth.E003``: the signing keys cannot be loaded;
- ``common_auth.W001``: the JWKS or introspection URL is plain http outside DEBUG;
- ``common_auth.W002``: Django's session ``AuthenticationMiddleware`` comes after ours and would
  replace the token user.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks import Warning as CheckWarning
from pydantic import ValidationError

from common_auth._errors import ConfigurationError
from common_auth.django._settings import (
    SETTING,
    CommonAuthSettings,
    _raw,
    clear_caches,
    describe,
    get_signing_keys,
    get_verifier,
)


@register(Tags.security, Tags.compatibility)
def check_common_auth_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Validate ``COMMON_AUTH`` and build the verifier and the signing keys from it."""
    try:
        raw = _raw()
    except ConfigurationError as exc:
        return [Error(str(exc), id="common_auth.E001", hint=f"Add settings.{SETTING} = {{...}}.")]
    try:
        config = CommonAuthSettings.model_validate(raw)
    except ValidationError as exc:
        return [
            Error(message, id="common_auth.E001" if kind == "missing" else "common_auth.E002")
            for kind, message in describe(exc)
        ]
    messages: list[CheckMessage] = []
    clear_caches()  # the checks see the settings of now, not a cached older copy
    keys_loaded = True
    if config.signing_keys or config.clients:
        try:
            get_signing_keys()
        except ConfigurationError as exc:
            keys_loaded = False
            messages.append(Error(str(exc), id="common_auth.E003"))
    verifier_uses_keys = not (config.jwks_url or config.introspection_url) and config.signing_keys
    if keys_loaded or not verifier_uses_keys:  # else the verifier fails for the same reason
        try:
            get_verifier()
        except ConfigurationError as exc:
            message = str(exc)
            if not message.startswith(SETTING):  # the error of a constructor, not of a key
                message = f"{SETTING}: {message}"
            messages.append(Error(message, id="common_auth.E002"))
    url = config.introspection_url or (None if config.signing_keys else config.effective_jwks_url)
    if url and url.startswith("http://") and not settings.DEBUG:
        messages.append(
            CheckWarning(
                f"{SETTING}: {url} is plain http; keys and token answers can be forged in transit",
                id="common_auth.W001",
            )
        )
    return messages


_OURS = "common_auth.django.TokenAuthenticationMiddleware"
_SESSION = "django.contrib.auth.middleware.AuthenticationMiddleware"


@register(Tags.security)
def check_middleware_order(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Our middleware must run after Django's session authentication, which sets request.user."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    ours = next(
        (i for i, name in enumerate(middleware) if name.endswith("TokenAuthenticationMiddleware")),
        None,
    )
    session = middleware.index(_SESSION) if _SESSION in middleware else None
    if ours is not None and session is not None and session > ours:
        return [
            CheckWarning(
                f"{_SESSION} comes after {_OURS} in MIDDLEWARE and replaces the token user",
                hint=f"Move {_OURS} after {_SESSION}.",
                id="common_auth.W002",
            )
        ]
    return []
