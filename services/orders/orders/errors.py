"""The orders API's own errors; common-utils' ``problem_exception_handler`` answers each as RFC 9457
problem details whose ``type`` ends in its code (``.../problems/users_unavailable``).

::

    APIException (DRF)
    ├── UserNotAllowed        403 user_not_allowed: the caller is unknown to users or inactive
    ├── UsersUnavailable      503 users_unavailable (Retry-After: 5): users cannot be reached,
    │                             timed out or refused our credentials
    └── UsersBadGateway       502 users_bad_gateway: users answered with an error or a body that
                                  does not fit
"""

from __future__ import annotations

from rest_framework import exceptions, status


class UserNotAllowed(exceptions.PermissionDenied):
    """403: the users service does not know the caller, or the account is inactive."""

    default_detail = "the user is unknown or inactive"
    default_code = "user_not_allowed"


class UsersUnavailable(exceptions.APIException):
    """503: the users service could not be asked (down, timed out, or refused our credentials)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "the users service is unavailable; try again later"
    default_code = "users_unavailable"
    wait = 5  # sent as Retry-After


class UsersBadGateway(exceptions.APIException):
    """502: the users service answered, but with an error or a body that does not fit."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "the users service answered with an error"
    default_code = "users_bad_gateway"
