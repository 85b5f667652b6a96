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
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from common_auth._claims import AccessTokenClaims
from common_auth._errors import ConfigurationError, SigningKeyError
from common_auth._introspection import IntrospectionVerifier
from common_auth._issuing import SigningKeySet
from common_auth._jwks import JWKSCache
from common_auth._urls import url_problem
from common_auth._verifier import (
    DEFAULT_ALGORITHMS,
    DEFAULT_REQUIRED_CLAIMS,
    TokenVerifier,
    refused_algorithms,
)

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
    realm: str = "api"
    permission_scopes: dict[str, str | list[str]] = Field(default_factory=dict)

    # Every check that can be made on the values alone is made here, so that an error names
    # the key (COMMON_AUTH['JWKS_URL']: ...) at start-up and at run time alike.

    @field_validator("audience")
    @classmethod
    def _named_audiences(cls, value: str | list[str]) -> str | list[str]:
        if not all([value] if isinstance(value, str) else value):
            raise ValueError("an audience is an empty string")
        return value

    @field_validator("jwks_url", "introspection_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_url(value)
        return value

    @field_validator("algorithms")
    @classmethod
    def _allow_list(cls, value: list[str]) -> list[str]:
        refused = refused_algorithms(value)
        if refused:
            raise ValueError(refused)
        return value

    @field_validator("realm")
    @classmethod
    def _quotable_realm(cls, value: str) -> str:
        if '"' in value or "\\" in value:
            raise ValueError("must not contain a double quote or a backslash")
        return value

    @field_validator("permission_scopes", mode="before")
    @classmethod
    def _scopes_per_permission(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for perm, scopes in value.items():
                if not (
                    isinstance(scopes, str)
                    or (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes))
                ):
                    raise ValueError(
                        f"the scopes of {perm!r} must be a string or a list of strings"
                    )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CommonAuthSettings:
        key = _key
        if self.introspection_url and self.jwks_url:
            raise ValueError(f"give {key('JWKS_URL')} or {key('INTROSPECTION_URL')}, not both")
        if self.introspection_url and not (
            self.introspection_client_id and self.introspection_client_secret
        ):
            raise ValueError(
                f"{key('INTROSPECTION_URL')} needs {key('INTROSPECTION_CLIENT_ID')} and "
                f"{key('INTROSPECTION_CLIENT_SECRET')}"
            )
        if self.jwks_url is None and not self.introspection_url and not self.signing_keys:
            try:
                _check_url(self.effective_jwks_url)
            except ValueError:
                raise ValueError(
                    f"{key('ISSUER')} is not an http(s) URL, so {key('JWKS_URL')} cannot "
                    f"default to {{ISSUER}}/.well-known/jwks.json: set {key('JWKS_URL')}"
                ) from None
        if self.jwks_min_ttl > self.jwks_max_ttl:
            raise ValueError(f"{key('JWKS_MIN_TTL')} exceeds {key('JWKS_MAX_TTL')}")
        if self.token_lifetime > self.max_token_lifetime:
            raise ValueError(f"{key('TOKEN_LIFETIME')} exceeds {key('MAX_TOKEN_LIFETIME')}")
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


def _key(name: str) -> str:
    return f"{SETTING}[{name!r}]"


def _check_url(value: str) -> None:
    problem = url_problem(value)
    if problem is not None:
        raise ValueError(problem)


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
        where = _key(loc[0]) + "".join(f"[{p!r}]" for p in loc[1:]) if loc else None
        # Our validators' messages without pydantic's "Value error, " in front of them.
        message = str(item["ctx"]["error"]) if item["type"] == "value_error" else item["msg"]
        if item["type"] == "missing":
            problems.append(("missing", f"{where} is missing"))
        elif item["type"] == "extra_forbidden":
            problems.append(("invalid", f"{where} is not a known key"))
        elif where is None:  # a rule between keys: its message names them
            problems.append(("invalid", message))
        else:
            problems.append(("invalid", f"{where}: {message}"))
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
                config.signing_keys,
                max_token_lifetime=config.max_token_lifetime,
                name=_key("SIGNING_KEYS"),
            )
        except SigningKeyError as exc:
            raise ConfigurationError(f"{_key('SIGNING_KEYS')}: {exc}") from None
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
