"""The typed claims of a verified access token, as a pydantic model that services can extend.

Scopes come from the RFC 8693 / RFC 9068 ``scope`` claim (space-separated) or from an ``scp``
list; roles from a ``roles`` list. Unknown claims are kept (``extra="allow"``), so a subclass can
declare the claims a service cares about::

    class OrdersClaims(AccessTokenClaims):
        tenant: str

Dates are numbers (seconds since the epoch) and nothing else: a string or a boolean is refused.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr, ValidationError

from common_auth._errors import InsufficientScope, InvalidClaims

NumericDate = StrictInt | StrictFloat


class AccessTokenClaims(BaseModel):
    """The claims of an access token that passed `TokenVerifier` (or introspection)."""

    model_config = ConfigDict(extra="allow", frozen=True, ignored_types=(cached_property,))

    iss: StrictStr
    sub: StrictStr
    aud: StrictStr | tuple[StrictStr, ...] = ()
    exp: NumericDate
    iat: NumericDate | None = None
    nbf: NumericDate | None = None
    jti: StrictStr | None = None
    client_id: StrictStr | None = None
    scope: StrictStr | None = None
    scp: tuple[StrictStr, ...] | None = None
    roles: tuple[StrictStr, ...] = ()

    @cached_property
    def scopes(self) -> frozenset[str]:
        """The granted scopes: the words of ``scope`` and the items of ``scp``."""
        granted = set(self.scope.split()) if self.scope else set()
        if self.scp:
            granted.update(self.scp)
        return frozenset(granted)

    @property
    def audiences(self) -> tuple[str, ...]:
        """``aud`` as a tuple, whether the token carried a string or a list."""
        return (self.aud,) if isinstance(self.aud, str) else self.aud

    def has_scopes(self, *required: str) -> bool:
        """True when every one of `required` was granted."""
        return self.scopes.issuperset(required)

    def require_scopes(self, *required: str) -> None:
        """Raise `InsufficientScope` (naming the missing scopes) unless all were granted."""
        if not self.scopes.issuperset(required):
            raise InsufficientScope(required, self.scopes)


ClaimsModelT = TypeVar("ClaimsModelT", bound=AccessTokenClaims)


def validate_claims(model: type[ClaimsModelT], claims: dict[str, Any]) -> ClaimsModelT:
    """`claims` as `model`, or `InvalidClaims` naming the fields (never their values)."""
    try:
        return model.model_validate(claims)
    except ValidationError as exc:
        fields = sorted({".".join(map(str, error["loc"])) for error in exc.errors()})
        raise InvalidClaims(
            f"claim(s) of the wrong type: {', '.join(fields)}", reason="bad_claim_type"
        ) from None
