"""The JWKS view of the auth service and the `require_scopes` view decorator."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.http import require_safe

from common_auth._claims import AccessTokenClaims
from common_auth._errors import ConfigurationError, InsufficientScope
from common_auth.django._authentication import (
    REQUEST_ERRORS,
    aauthenticate,
    authenticate,
    error_response,
    insufficient_scope_response,
)
from common_auth.django._settings import auth_settings, get_signing_keys
from common_utils import Problem
from common_utils.django import problem_response

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


@login_not_required  # the keys are public, also where LoginRequiredMiddleware guards the rest
@require_safe
def jwks_view(request: HttpRequest) -> HttpResponse:
    """The public keys of ``COMMON_AUTH['SIGNING_KEYS']`` as a JWKS document, cacheable for
    ``COMMON_AUTH['JWKS_MAX_AGE']`` seconds. Route it at ``.well-known/jwks.json``."""
    try:
        document = get_signing_keys().jwks()
    except ConfigurationError:
        problem = Problem.of("not_found", 404, detail="no signing keys are configured")
        return problem_response(problem, request)
    response = JsonResponse(document)
    response["Cache-Control"] = f"public, max-age={auth_settings().jwks_max_age}"
    return response


def _denied(
    request: HttpRequest, claims: AccessTokenClaims | None, scopes: frozenset[str]
) -> HttpResponseBase | None:
    if claims is None:
        return error_response(None, request)
    try:
        claims.require_scopes(*scopes)
    except InsufficientScope as exc:
        return insufficient_scope_response(exc.required, request)
    return None


def require_scopes(*scopes: str) -> Callable[[ViewT], ViewT]:
    """A view decorator: 401 without a valid bearer token, 403 (``insufficient_scope``) when
    the token lacks one of `scopes`. Works on sync and async function views, with or without
    the middleware (the token is verified once either way)."""
    required = frozenset(scopes)

    def decorate(view: ViewT) -> ViewT:
        if iscoroutinefunction(view):

            @wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                try:
                    claims = await aauthenticate(request)
                except REQUEST_ERRORS as exc:
                    return error_response(exc, request)
                return _denied(request, claims, required) or await view(request, *args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                claims = authenticate(request)
            except REQUEST_ERRORS as exc:
                return error_response(exc, request)
            return _denied(request, claims, required) or view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
