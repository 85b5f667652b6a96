"""`TokenUser`: the request user built from a verified token, with no user table behind it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from common_auth._claims import AccessTokenClaims


class TokenUser:
    """A user as the access token describes it; Django's user protocol without a database row.

    ``id``/``pk`` and ``username`` are the token's ``sub`` (``username`` prefers a
    ``preferred_username`` or ``username`` claim); ``scopes`` and ``roles`` come from the
    claims; ``has_perm(perm)`` is true when the token grants a scope that maps to ``perm``
    (``COMMON_AUTH['PERMISSION_SCOPES']``, by default the permission name itself as a scope).
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(
        self,
        claims: AccessTokenClaims,
        *,
        permission_scopes: dict[str, str | list[str]] | None = None,
    ) -> None:
        self.claims = claims
        self._permission_scopes = permission_scopes or {}

    @property
    def id(self) -> str:
        return self.claims.sub

    @property
    def pk(self) -> str:
        return self.claims.sub

    @property
    def username(self) -> str:
        extra = self.claims.model_extra or {}
        for name in ("preferred_username", "username"):
            value = extra.get(name)
            if isinstance(value, str) and value:
                return value
        return self.claims.sub

    @property
    def scopes(self) -> frozenset[str]:
        return self.claims.scopes

    @property
    def roles(self) -> tuple[str, ...]:
        return self.claims.roles

    @property
    def client_id(self) -> str | None:
        return self.claims.client_id

    def get_username(self) -> str:
        return self.username

    def _scopes_for(self, perm: str) -> frozenset[str]:
        mapped = self._permission_scopes.get(perm)
        if mapped is None:
            return frozenset({perm})
        return frozenset({mapped} if isinstance(mapped, str) else mapped)

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """True when the token grants every scope that `perm` maps to."""
        return self.is_active and self.scopes.issuperset(self._scopes_for(perm))

    def has_perms(self, perm_list: Iterable[str], obj: Any = None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        prefixes = (f"{app_label}.", f"{app_label}:")
        return any(scope.startswith(prefixes) for scope in self.scopes) or any(
            perm.startswith(f"{app_label}.") and self.has_perm(perm)
            for perm in self._permission_scopes
        )

    def get_all_permissions(self, obj: Any = None) -> set[str]:
        return set(self.scopes)

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("a TokenUser has no database row to save")

    def delete(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("a TokenUser has no database row to delete")

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"<TokenUser sub={self.claims.sub!r} client_id={self.claims.client_id!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenUser) and other.claims.sub == self.claims.sub

    def __hash__(self) -> int:
        return hash(("TokenUser", self.claims.sub))
