"""The API's errors: every failure is a JSON body with ``detail`` and a ``code``, never a 500 page.

::

    APIException (DRF)
    ├── UserNotAllowed        403 the caller is unknown to users or inactive
    ├── UsersUnavailable      503 users cannot be reached, timed out or refused our credentials
    └── UsersBadGateway       502 users answered with an error or a body that does not fit

Validation errors keep DRF's shape, one key per field: ``{"quantity": ["..."]}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class UserNotAllowed(exceptions.PermissionDenied):
    """403: the users service does not know the caller, or the account is inactive."""

    default_detail = "the user is unknown or inactive"
    default_code = "user_not_allowed"


class UsersUnavailable(exceptions.APIException):
    """503: the users service could not be asked (down, timed out, or refused our credentials)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "the users service is unavailable; try again later"
    default_code = "users_unavailable"
    wait = 5  # DRF's handler sends it as Retry-After


class UsersBadGateway(exceptions.APIException):
    """502: the users service answered, but with an error or a body that does not fit."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "the users service answered with an error"
    default_code = "users_bad_gateway"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus a ``code`` beside every ``detail`` so callers can branch on it."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return response
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        if isinstance(exc, Http404):
            data["code"] = "not_found"
        elif isinstance(exc, DjangoPermissionDenied):
            data["code"] = "permission_denied"
        elif isinstance(exc, exceptions.APIException):
            codes = exc.get_codes()
            if isinstance(codes, str):
                data["code"] = codes
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """404 for a URL that matches no route."""
    return JsonResponse({"detail": "not found", "code": "not_found"}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    """500 for a bug: a JSON body without internals (the log has the traceback)."""
    return JsonResponse({"detail": "internal error", "code": "internal_error"}, status=500)
