"""The ``COMMON_AUTH`` setting as a typed object, and the verifier and key set built from it.

Everything is read once and cached; Django's ``setting_changed`` signal (tests overriding
settings) clears the cache. Misconfiguration raises `ConfigurationError` naming the key; the
system checks run the same code at start-up, so a bad setting stops ``manage.py check``.
"""

from __future__ import annotations

import functools
import os
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from common_auth._claims import AccessTokenClaims
from common_auth._errors import ConfigurationError, SigningKeyError
from common_auth._introspection import IntrospectionVerifier
from common_auth._issuing import SigningKeySet
from common_auth._jwks import JWKSCache
from common_auth._verifier import DEFAULT_ALGORITHMS, DEFAULT_REQUIRED_CLAIMS, TokenVerifier

SETTING = "COMMON_AUTH"


class ClientSettings(BaseModel):
    """One client of the auth service's token endpoint (``COMMON_AUTH['CLIENTS'][client_id]``)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=str.upper, populate_by_name=True
    )

    secret_hash: str = Field(min_length=1, repr=False)  # django.contrib.auth.hashers.make_password
    scopes: list[str] = Field(default_factory=list)
    audiences: list[str] = Field(min_length=1)


class CommonAuthSettings(BaseModel):
    """``settings.COMMON_AUTH``: keys are the upper-case names of these fields.

    A resource server sets ``ISSUER``, ``AUDIENCE`` and one key source: ``JWKS_URL`` (default
    ``{ISSUER}/.well-known/jwks.json``), or ``INTROSPECTION_URL`` with
    ``INTROSPECTION_CLIENT_ID``/``INTROSPECTION_CLIENT_SECRET`` for opaque tokens. The auth
    service adds ``SIGNING_KEYS`` (PEM or JWK; the first signs), and then verifies its own
    tokens with them unless ``JWKS_URL`` is given, and ``CLIENTS`` for its token endpoint.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=str.upper, populate_by_name=True
    )

    issuer: str = Field(min_length=1)
    audience: str | list[str] = Field(min_length=1)
    jwks_url: str | None = None
    introspection_url: str | None = None
    introspection_client_id: str | None = None
    introspection_client_secret: str | None = Field(default=None, repr=False)
    algorithms: list[str] = Field(default_factory=lambda: list(DEFAULT_ALGORITHMS))
    leeway: float = Field(default=30.0, ge=0, le=300)
    required_claims: list[str] = Field(default_factory=lambda: list(DEFAULT_REQUIRED_CLAIMS))
    max_token_bytes: int = Field(default=8 * 1024, ge=512, le=64 * 1024)
    claims_model: str | None = None
    jwks_min_ttl: float = Field(default=60.0, ge=0)
    jwks_max_ttl: float = Field(default=24 * 3600.0, ge=0)
    jwks_refetch_interval: float = Field(default=60.0, ge=0)
    introspection_cache_ttl: float = Field(default=30.0, ge=0)
    signing_keys: list[str | dict[str, Any]] | None = Field(default=None, repr=False)
    max_token_lifetime: float = Field(default=3600.0, gt=0)
    clients: dict[str, ClientSettings] = Field(default_factory=dict, repr=False)
    token_lifetime: float = Field(default=300.0, gt=0)
    jwks_max_age: int = Field(default=300, ge=0)
    realm: str = Field(default="api", pattern=r'^[^"\\]*$')
    permission_scopes: dict[str, str | list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_key_source(self) -> CommonAuthSettings:
        if self.introspection_url and self.jwks_url:
            raise ValueError("give JWKS_URL or INTROSPECTION_URL, not both")
        if self.introspection_url and not (
            self.introspection_client_id and self.introspection_client_secret
        ):
            raise ValueError(
                "INTROSPECTION_URL needs INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET"
            )
        if self.token_lifetime > self.max_token_lifetime:
            raise ValueError("TOKEN_LIFETIME may not exceed MAX_TOKEN_LIFETIME")
        return self

    @property
    def effective_jwks_url(self) -> str:
        return self.jwks_url or f"{self.issuer.rstrip('/')}/.well-known/jwks.json"

    def scopes_for_permission(self, perm: str) -> frozenset[str]:
        """The scopes that grant a Django permission: mapped ones, or the name itself."""
        mapped = self.permission_scopes.get(perm)
        if mapped is None:
            return frozenset({perm})
        return frozenset({mapped} if isinstance(mapped, str) else mapped)


def _raw() -> dict[str, Any]:
    raw = getattr(settings, SETTING, None)
    if raw is None:
        raise ConfigurationError(f"settings.{SETTING} is missing")
    if not isinstance(raw, dict):
        raise ConfigurationError(f"settings.{SETTING} must be a dict")
    return raw


def describe(error: ValidationError) -> list[tuple[str, str]]:
    """(kind, message) per problem: kind "missing" for an absent key, else "invalid"."""
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        where = f"{SETTING}[{loc[0]!r}]" + "".join(f"[{p!r}]" for p in loc[1:]) if loc else SETTING
        if item["type"] == "missing":
            problems.append(("missing", f"{where} is missing"))
        elif item["type"] == "extra_forbidden":
            problems.append(("invalid", f"{where} is not a known key"))
        else:
            problems.append(("invalid", f"{where}: {item['msg']}"))
    return problems


@functools.cache
def auth_settings() -> CommonAuthSettings:
    """The validated ``COMMON_AUTH`` setting; `ConfigurationError` names what is wrong."""
    try:
        return CommonAuthSettings.model_validate(_raw())
    except ValidationError as exc:
        raise ConfigurationError("; ".join(message for _, message in describe(exc))) from None


def _claims_model(path: str | None) -> type[AccessTokenClaims]:
    if path is None:
        return AccessTokenClaims
    module_name, _, attribute = path.rpartition(".")
    try:
        model = getattr(import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError):
        raise ConfigurationError(f"{SETTING}['CLAIMS_MODEL']: cannot import {path!r}") from None
    if not (isinstance(model, type) and issubclass(model, AccessTokenClaims)):
        raise ConfigurationError(
            f"{SETTING}['CLAIMS_MODEL']: {path!r} is not an AccessTokenClaims subclass"
        )
    return model


Verifier = TokenVerifier[AccessTokenClaims] | IntrospectionVerifier[AccessTokenClaims]


@functools.cache
def get_verifier() -> Verifier:
    """The verifier the middleware, the decorator and DRF use, built from ``COMMON_AUTH``."""
    config = auth_settings()
    model = _claims_model(config.claims_model)
    if config.introspection_url:
        return IntrospectionVerifier(
            introspection_url=config.introspection_url,
            client_id=config.introspection_client_id or "",
            client_secret=config.introspection_client_secret or "",
            issuer=config.issuer,
            audience=config.audience,
            cache_ttl=config.introspection_cache_ttl,
            max_token_bytes=config.max_token_bytes,
            claims_model=model,
        )
    keys: SigningKeySet | JWKSCache
    if config.jwks_url is None and config.signing_keys:
        keys = get_signing_keys()
    else:
        keys = JWKSCache(
            config.effective_jwks_url,
            min_ttl=config.jwks_min_ttl,
            max_ttl=config.jwks_max_ttl,
            refetch_interval=config.jwks_refetch_interval,
        )
    return TokenVerifier(
        issuer=config.issuer,
        audience=config.audience,
        keys=keys,
        algorithms=config.algorithms,
        leeway=config.leeway,
        required_claims=config.required_claims,
        max_token_bytes=config.max_token_bytes,
        claims_model=model,
    )


@functools.cache
def get_signing_keys() -> SigningKeySet:
    """The auth service's keys: ``COMMON_AUTH['SIGNING_KEYS']``, else the environment
    (``COMMON_AUTH_SIGNING_KEY``, ``COMMON_AUTH_PREVIOUS_SIGNING_KEYS``)."""
    config = auth_settings()
    if config.signing_keys:
        try:
            return SigningKeySet.from_settings(
                config.signing_keys, max_token_lifetime=config.max_token_lifetime
            )
        except (ConfigurationError, SigningKeyError) as exc:
            raise ConfigurationError(f"{SETTING}['SIGNING_KEYS']: {exc}") from None
    if os.environ.get("COMMON_AUTH_SIGNING_KEY"):
        return SigningKeySet.from_env("COMMON_AUTH")
    raise ConfigurationError(
        f"no signing keys: set {SETTING}['SIGNING_KEYS'] or COMMON_AUTH_SIGNING_KEY"
    )


def clear_caches() -> None:
    """Forget the settings, verifier and key set (after the setting changed)."""
    auth_settings.cache_clear()
    get_verifier.cache_clear()
    get_signing_keys.cache_clear()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING:
        clear_caches()
