"""The users service's environment variables, read once at start-up by common-utils'
`EnvironmentSettings`: a bad start lists every missing or wrong variable at once, each named
(``USERS_SERVICE_ACCOUNTS['orders']['scopes']: not allowed: users:admin``).

The services this one issues tokens for, and the scopes each of them declares, are configuration
(``USERS_SERVICES``): adding a service never edits this code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any

from common_utils import Duration, EnvironmentSettings, Url, Words
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Json,
    ValidationInfo,
    field_validator,
)

# The scopes this service's own API declares (users_service/views: HasScopes.of(...)).
OWN_SCOPES = ("users:read", "users:write")
# The example services and the scopes their APIs declare: the default of USERS_SERVICES.
DEFAULT_SERVICES = {
    "orders": ["orders:read", "orders:write"],
    "notifications": ["notifications:read"],
}


def _pem(value: Any) -> Any:
    """A PEM with real line breaks, or with ``\\n`` written as two characters (env files that
    hold one line per variable)."""
    if not isinstance(value, str):
        return value
    if "\n" not in value and "\\n" in value:
        value = value.replace("\\n", "\n")
    if not value.startswith("-----BEGIN "):
        raise ValueError("expected a PEM private key (-----BEGIN PRIVATE KEY----- ...)")
    return value


def _name(value: Any) -> Any:
    if isinstance(value, str) and (not value.strip() or any(c.isspace() for c in value)):
        raise ValueError("expected a name without blanks")
    return value


def _password_hash(value: Any) -> Any:
    # make_password's format is "<algorithm>$<fields>"; the algorithm is checked against
    # PASSWORD_HASHERS by the system check users.E001, once Django is set up.
    if isinstance(value, str) and "$" not in value:
        raise ValueError(
            "expected a Django password hash (django.contrib.auth.hashers.make_password(secret))"
        )
    return value


Name = Annotated[str, BeforeValidator(_name)]


class ServiceAccount(BaseModel):
    """One entry of ``USERS_SERVICE_ACCOUNTS``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_hash: Annotated[str, BeforeValidator(_password_hash)]
    scopes: list[Name] = []
    audiences: Annotated[list[Name], Field(min_length=1)]


def _unknown(values: Sequence[str], known: set[str], what: str, *, where: str = "") -> None:
    unknown = sorted(set(values) - known)
    if unknown:
        place = f"{where}: " if where else ""
        raise ValueError(
            f"{place}unknown {what}(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


class UsersEnvironment(EnvironmentSettings):
    """Every variable the users service reads (README, "Environment")."""

    DJANGO_SECRET_KEY: str
    DJANGO_DEBUG: bool = False
    DJANGO_ALLOWED_HOSTS: Words = ("127.0.0.1", "localhost")
    DATABASE_URL: Url
    LOG_LEVEL: str = "INFO"
    AUTH_ISSUER: Url
    AUTH_AUDIENCE: Name = "users"
    AUTH_JWKS_URL: Url | None = None
    USERS_SIGNING_KEY: Annotated[str, BeforeValidator(_pem)]
    # audience -> the scopes that service declares; this service's own (AUTH_AUDIENCE, with
    # OWN_SCOPES) is always there.
    USERS_SERVICES: Json[dict[Name, list[Name]]] = DEFAULT_SERVICES
    USERS_USER_SCOPES: Words | None = None
    USERS_USER_AUDIENCES: Words | None = None
    USERS_SERVICE_ACCOUNTS: Json[dict[str, ServiceAccount]] = Field(default_factory=dict)
    USERS_TOKEN_LIFETIME: Annotated[
        Duration, Field(ge=timedelta(seconds=30), le=timedelta(seconds=3600))
    ] = timedelta(seconds=300)
    # How long a caller may keep a user's answer without asking again (Cache-Control: max-age);
    # 0 makes every caller revalidate it each time (If-None-Match, answered 304 when unchanged).
    USERS_CACHE_MAX_AGE: Annotated[Duration, Field(ge=timedelta(0), le=timedelta(seconds=3600))] = (
        timedelta(seconds=30)
    )

    @staticmethod
    def _services(info: ValidationInfo) -> dict[str, list[str]] | None:
        services = info.data.get("USERS_SERVICES")
        audience = info.data.get("AUTH_AUDIENCE")
        if services is None or audience is None:
            return None  # reported on its own variable
        return {**services, audience: [*services.get(audience, []), *OWN_SCOPES]}

    @field_validator("USERS_SERVICES", mode="after")
    @classmethod
    def _scopes_unique(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        owners: dict[str, str] = {}
        for audience, scopes in value.items():
            for scope in scopes:
                if owners.setdefault(scope, audience) != audience:
                    raise ValueError(
                        f"[{audience!r}]: scope {scope} is declared by {owners[scope]} too"
                    )
        return value

    @field_validator("USERS_USER_SCOPES", "USERS_USER_AUDIENCES", mode="after")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        services = cls._services(info)
        if value is None or services is None:
            return value
        if not value:
            raise ValueError("must name at least one value")
        if info.field_name == "USERS_USER_SCOPES":
            known = {scope for scopes in services.values() for scope in scopes}
            _unknown(value, known, "scope")
        else:
            _unknown(value, set(services), "audience")
        return value

    @field_validator("USERS_SERVICE_ACCOUNTS", mode="after")
    @classmethod
    def _accounts(
        cls, value: dict[str, ServiceAccount], info: ValidationInfo
    ) -> dict[str, ServiceAccount]:
        services = cls._services(info)
        for client_id, account in value.items():
            where = f"[{client_id!r}]"
            if not client_id.strip() or client_id.isdigit() or ":" in client_id:
                raise ValueError(
                    f"{where}: a client id must be a name (not empty, not all digits, no ':')"
                )
            if services is None:
                continue
            known_scopes = {scope for scopes in services.values() for scope in scopes}
            _unknown(account.scopes, known_scopes, "scope", where=f"{where}['scopes']")
            _unknown(account.audiences, set(services), "audience", where=f"{where}['audiences']")
        return value

    # --- what settings.py uses ----------------------------------------------------------------

    @property
    def services(self) -> dict[str, list[str]]:
        """Every audience this service issues tokens for, with the scopes it declares."""
        return {
            **self.USERS_SERVICES,
            self.AUTH_AUDIENCE: [*self.USERS_SERVICES.get(self.AUTH_AUDIENCE, []), *OWN_SCOPES],
        }

    @property
    def user_scopes(self) -> list[str]:
        """What a user may get: ``USERS_USER_SCOPES``, by default every scope of the other
        services and ``users:read``."""
        if self.USERS_USER_SCOPES is not None:
            return list(self.USERS_USER_SCOPES)
        others = [
            scope
            for audience, scopes in self.USERS_SERVICES.items()
            if audience != self.AUTH_AUDIENCE
            for scope in scopes
        ]
        return list(dict.fromkeys([*others, "users:read"]))

    @property
    def user_audiences(self) -> list[str]:
        """The audiences a user's token may name: ``USERS_USER_AUDIENCES``, by default all."""
        return list(self.USERS_USER_AUDIENCES or self.services)

    def clients(self) -> dict[str, dict[str, Any]]:
        """``COMMON_AUTH['CLIENTS']`` from the service accounts."""
        return {
            client_id: {
                "SECRET_HASH": account.secret_hash,
                "SCOPES": list(account.scopes),
                "AUDIENCES": list(account.audiences),
            }
            for client_id, account in self.USERS_SERVICE_ACCOUNTS.items()
        }
