"""Reading the bearer token of a Django request, verifying it once, and the RFC 6750 answers.

The middleware, the view decorator and the DRF authentication class all go through
`authenticate` / `aauthenticate`: the outcome is remembered on the request, so a token is
verified once however many of them look at it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, HttpResponse

from common_auth._claims import AccessTokenClaims
from common_auth._errors import (
    CommonAuthError,
    IntrospectionError,
    InvalidToken,
    KeySetUnavailable,
    MalformedToken,
)
from common_auth.django._settings import auth_settings, get_verifier
from common_auth.django._user import TokenUser
from common_utils import Problem
from common_utils.django import problem_response

logger = logging.getLogger("common_auth.django")

OUTCOME_ATTRIBUTE = "_common_auth_outcome"
RETRY_AFTER = 10  # seconds a caller waits before trying again when the issuer's keys are missing
_UNAVAILABLE = (KeySetUnavailable, IntrospectionError)
# What a request can cause: answered 401/400/503. A ConfigurationError is the server's fault
# and propagates (a 500 naming the setting), never disguised as a client error.
REQUEST_ERRORS = (InvalidToken, *_UNAVAILABLE)


class MalformedAuthorization(MalformedToken):
    """The ``Authorization: Bearer`` header itself is malformed (RFC 6750 invalid_request)."""

    default_reason = "invalid_request"


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without one (or for another
    scheme, which is left to other authentication)."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if not isinstance(header, str) or not header:
        return None
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = rest.strip()
    if not token or any(c.isspace() for c in token):
        raise MalformedAuthorization("the Authorization header is not 'Bearer <token>'")
    return token


def _record(request: HttpRequest, outcome: AccessTokenClaims | CommonAuthError | None) -> None:
    setattr(request, OUTCOME_ATTRIBUTE, outcome)
    if isinstance(outcome, AccessTokenClaims):
        user = TokenUser(outcome, permission_scopes=auth_settings().permission_scopes)
        request.user = user  # type: ignore[assignment]
        set_auser(request, user)
        request.auth = outcome  # type: ignore[attr-defined]
    elif not hasattr(request, "auth"):
        request.auth = None  # type: ignore[attr-defined]


def set_auser(request: HttpRequest, user: Any) -> None:
    """Make ``await request.auser()`` (Django 5's async user) agree with ``request.user``;
    without this it would answer the session's user, or fail without session middleware."""

    async def auser() -> Any:
        return user

    request.auser = auser


def _replay(request: HttpRequest) -> tuple[bool, AccessTokenClaims | None]:
    if not hasattr(request, OUTCOME_ATTRIBUTE):
        return False, None
    outcome = getattr(request, OUTCOME_ATTRIBUTE)
    if isinstance(outcome, CommonAuthError):
        raise outcome
    return True, outcome


def _log_rejection(request: HttpRequest, error: CommonAuthError) -> None:
    reason = error.reason if isinstance(error, InvalidToken) else type(error).__name__
    logger.info("bearer token rejected on %s %s: %s", request.method, request.path, reason)


@contextmanager
def _failure_recorded(request: HttpRequest) -> Iterator[None]:
    """Remember (and log) a rejection on the request, so later lookups replay it."""
    try:
        yield
    except REQUEST_ERRORS as exc:
        _record(request, exc)
        _log_rejection(request, exc)
        raise


def authenticate(request: HttpRequest) -> AccessTokenClaims | None:
    """The verified claims of the request's bearer token; None without a token; raises
    `InvalidToken` (401) or `KeySetUnavailable`/`IntrospectionError` (503)."""
    done, claims = _replay(request)
    if not done:
        with _failure_recorded(request):
            token = bearer_token(request)
            claims = None if token is None else get_verifier().verify(token)
        _record(request, claims)
    return claims


async def aauthenticate(request: HttpRequest) -> AccessTokenClaims | None:
    """Async form of `authenticate`."""
    done, claims = _replay(request)
    if not done:
        with _failure_recorded(request):
            token = bearer_token(request)
            claims = None if token is None else await get_verifier().averify(token)
        _record(request, claims)
    return claims


def www_authenticate(error: str | None = None, **params: str) -> str:
    """An RFC 6750 ``WWW-Authenticate`` value: ``Bearer realm="api", error="..."``."""
    parts = [f'realm="{auth_settings().realm}"']
    if error:
        parts.append(f'error="{error}"')
    parts += [f'{name}="{value}"' for name, value in params.items()]
    return "Bearer " + ", ".join(parts)


def error_response(
    error: CommonAuthError | None, request: HttpRequest | None = None
) -> HttpResponse:
    """The problem (RFC 9457) answering a request without a good token: 401 without or with a bad
    token, 400 for a malformed header (both with RFC 6750's ``WWW-Authenticate``), 503 with
    ``Retry-After`` when the issuer's keys cannot be had."""
    if isinstance(error, _UNAVAILABLE):
        problem = Problem.of("auth_unavailable", 503, detail="token keys are unavailable")
        return problem_response(problem, request, headers={"Retry-After": str(RETRY_AFTER)})
    if isinstance(error, MalformedAuthorization):
        problem = Problem.of("invalid_request", 400, detail=str(error))
        header = www_authenticate("invalid_request")
    elif isinstance(error, InvalidToken):
        problem = invalid_token_problem(error.reason)
        header = www_authenticate("invalid_token", error_description=error.reason)
    else:
        problem = Problem.of("not_authenticated", 401, detail="a bearer token is required")
        header = www_authenticate()
    return problem_response(problem, request, headers={"WWW-Authenticate": header})


def invalid_token_problem(reason: str) -> Problem:
    """401 ``invalid_token``, with the verifier's reason (``expired``, ``bad_signature``...)
    as the ``reason`` member."""
    return Problem.of(
        "invalid_token", 401, detail=f"the bearer token is not valid: {reason}", reason=reason
    )


def insufficient_scope_response(
    required: Iterable[str], request: HttpRequest | None = None
) -> HttpResponse:
    """403 ``insufficient_scope`` naming the scopes the operation needs (``scope`` member and
    ``WWW-Authenticate``)."""
    scope = " ".join(sorted(required))
    problem = Problem.of(
        "insufficient_scope",
        403,
        detail=f"the token lacks the required scope(s): {scope}",
        scope=scope,
    )
    header = www_authenticate("insufficient_scope", scope=scope)
    return problem_response(problem, request, headers={"WWW-Authenticate": header})
