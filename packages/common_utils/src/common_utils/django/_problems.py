"""Problem details (RFC 9457) as Django responses, and the URLconf's error handlers that give them.

In the root URLconf::

    handler400 = "common_utils.django.problem_bad_request"
    handler403 = "common_utils.django.problem_permission_denied"
    handler404 = "common_utils.django.problem_not_found"
    handler500 = "common_utils.django.problem_server_error"

so that what Django itself refuses (no route, a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, a
crash) is a problem too, never an HTML page.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse

from common_utils._context import get_request_id
from common_utils._problems import Problem


def problem_response(
    problem: Problem,
    request: HttpRequest | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """``problem`` as an ``application/problem+json`` response; with the request, its path is the
    ``instance`` and the request id a ``request_id`` member (unless the problem sets them)."""
    if request is not None:
        problem = problem.with_members(instance=request.path, request_id=get_request_id())
    response = HttpResponse(
        problem.to_json(), status=problem.status, content_type=Problem.MEDIA_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def problem_bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler400``: 413 for a body over Django's size limit, 400 for anything else."""
    if isinstance(exception, RequestDataTooBig):
        return problem_response(
            Problem.of("payload_too_large", 413, detail="the request body is too large"), request
        )
    if isinstance(exception, TooManyFieldsSent):
        return problem_response(
            Problem.of("too_many_fields", 400, detail="the request has too many fields"), request
        )
    return problem_response(
        Problem.of("bad_request", 400, detail="the request could not be understood"), request
    )


def problem_permission_denied(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    """``handler403``."""
    return problem_response(
        Problem.of("permission_denied", 403, detail="you may not do this"), request
    )


def problem_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: a path that no route matches (or a view's ``Http404``)."""
    return problem_response(
        Problem.of("not_found", 404, detail=f"no such resource: {request.path}"), request
    )


def problem_server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a bug; the body says nothing of it (the log has the traceback)."""
    return problem_response(
        Problem.of("internal_error", 500, detail="internal error; the request id is in the log"),
        request,
    )
