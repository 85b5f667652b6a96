"""Django REST framework integration (extra ``drf``): bearer authentication and scope permissions.

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["common_auth.drf.BearerTokenAuthentication"],
    }

    class OrderList(APIView):
        permission_classes = [HasScopes.of("orders:read")]   # or required_scopes = [...]

A bad token is a 401 with an RFC 6750 ``WWW-Authenticate`` (``error="invalid_token"`` and the
reason), a token without the scopes a 403 with ``error="insufficient_scope"``, missing issuer
keys a 503; the token is verified once even when the middleware also runs. With common-utils'
``common_utils.drf.problem_exception_handler`` these answer the same problem details (RFC 9457)
as the middleware: types ``invalid_token`` (with ``reason``), ``not_authenticated``,
``insufficient_scope`` (with ``scope``) and ``auth_unavailable``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from common_auth._claims import AccessTokenClaims
from common_auth._errors import IntrospectionError, InvalidToken, KeySetUnavailable
from common_auth.django._authentication import (
    OUTCOME_ATTRIBUTE,
    RETRY_AFTER,
    authenticate,
    www_authenticate,
)
from common_auth.django._settings import auth_settings
from common_auth.django._user import TokenUser


class AuthUnavailable(exceptions.APIException):
    """503: the issuer's keys or introspection endpoint cannot be reached."""

    status_code = 503
    default_detail = "token keys are unavailable"
    default_code = "auth_unavailable"
    wait = RETRY_AFTER


class InvalidTokenFailed(exceptions.AuthenticationFailed):
    """401 ``invalid_token``: the bearer token did not verify; ``reason`` says why."""

    default_code = "invalid_token"

    def __init__(self, reason: str) -> None:
        super().__init__(detail=f"the bearer token is not valid: {reason}", code="invalid_token")
        self.reason = reason
        self.problem_extensions = {"reason": reason}


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: Bearer`` tokens with the verifier of ``COMMON_AUTH``."""

    def authenticate(self, request: Request) -> tuple[TokenUser, AccessTokenClaims] | None:
        http_request = request._request
        try:
            claims = authenticate(http_request)
        except (KeySetUnavailable, IntrospectionError) as exc:
            raise AuthUnavailable() from exc
        except InvalidToken as exc:
            raise InvalidTokenFailed(exc.reason) from None
        if claims is None:
            return None
        return TokenUser(claims, permission_scopes=auth_settings().permission_scopes), claims

    def authenticate_header(self, request: Request) -> str:
        outcome = getattr(request._request, OUTCOME_ATTRIBUTE, None)
        reason = getattr(outcome, "reason", None)
        if reason == "invalid_request":
            return www_authenticate("invalid_request")
        if reason:
            return www_authenticate("invalid_token", error_description=reason)
        return www_authenticate()


class InsufficientScopeDenied(exceptions.PermissionDenied):
    """403 with ``WWW-Authenticate: Bearer error="insufficient_scope"``."""

    default_code = "insufficient_scope"

    def __init__(self, required: frozenset[str]) -> None:
        scope = " ".join(sorted(required))
        super().__init__(detail=f"the token lacks the required scope(s): {scope}")
        self.auth_header = www_authenticate("insufficient_scope", scope=scope)
        self.problem_extensions = {"scope": scope}


class _ScopePermission(BasePermission):
    scopes: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def of(cls, *scopes: str) -> type[_ScopePermission]:
        """This permission with its scopes fixed: ``permission_classes = [HasScopes.of("a")]``."""
        return type(f"{cls.__name__}Of", (cls,), {"scopes": tuple(scopes)})

    def _required(self, view: Any) -> frozenset[str]:
        return frozenset(self.scopes or getattr(view, "required_scopes", ()))

    def _granted(self, granted: frozenset[str], required: frozenset[str]) -> bool:
        raise NotImplementedError

    def has_permission(self, request: Request, view: Any) -> bool:
        claims = request.auth
        if not isinstance(claims, AccessTokenClaims):
            return False  # DRF answers 401 (NotAuthenticated) when nobody authenticated
        required = self._required(view)
        if not required:
            raise exceptions.PermissionDenied(
                detail=f"{type(self).__name__} on {type(view).__name__} names no scopes"
            )
        if not self._granted(claims.scopes, required):
            raise InsufficientScopeDenied(required)
        return True


class HasScopes(_ScopePermission):
    """Allows a request whose token grants every one of the scopes (``HasScopes.of(...)`` or
    the view's ``required_scopes``)."""

    def _granted(self, granted: frozenset[str], required: frozenset[str]) -> bool:
        return granted.issuperset(required)


class HasAnyScope(_ScopePermission):
    """Allows a request whose token grants at least one of the scopes."""

    def _granted(self, granted: frozenset[str], required: frozenset[str]) -> bool:
        return not granted.isdisjoint(required)


__all__ = [
    "AuthUnavailable",
    "BearerTokenAuthentication",
    "HasAnyScope",
    "HasScopes",
    "InsufficientScopeDenied",
    "InvalidTokenFailed",
]
