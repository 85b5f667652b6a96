"""Views under ``IdempotencyMiddleware``: an order that is written, one that waits, one that fails.

The tests point ``ROOT_URLCONF`` here and put the middleware after
`HeaderAuthenticationMiddleware`, which stands for a service's authentication middleware: it
makes ``X-Test-User`` the authenticated user (a trusting front proxy's ``REMOTE_USER``, in short).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import path

from common_utils import Problem
from common_utils.django import atomic_for, problem_response
from cu_testproject.cu_orders.models import Order


class HeaderUser:
    """An authenticated user known by id only."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, pk: str) -> None:
        self.pk = pk


class HeaderAuthenticationMiddleware:
    """``request.user`` from the ``X-Test-User`` header, anonymous without it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        name = request.headers.get("X-Test-User")
        request.user = HeaderUser(name) if name else AnonymousUser()  # type: ignore[assignment]
        return self.get_response(request)


def tenant_caller(request: HttpRequest) -> str | None:
    """``COMMON_UTILS["IDEMPOTENCY_CALLER"]`` of a test: the caller is the ``X-Tenant``."""
    tenant = request.headers.get("X-Tenant")
    return f"tenant:{tenant}" if tenant else None


class Gate:
    """Holds the ``slow/`` view inside its transaction until a test opens it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def reset(self) -> None:
        self.entered.clear()
        self.opened.clear()


GATE = Gate()
# How often each view ran, whatever was answered.
RUNS: dict[str, int] = {}


def _count(name: str) -> None:
    RUNS[name] = RUNS.get(name, 0) + 1


def _place(request: HttpRequest) -> Order:
    with atomic_for(Order):
        return Order.objects.create(total=int(request.GET.get("total", "10")))


def place(request: HttpRequest) -> HttpResponse:
    """201 with the new order, and its ``Location``."""
    _count("place")
    order = _place(request)
    response = JsonResponse({"order": order.pk, "body": request.body.decode()}, status=201)
    response["Location"] = f"/orders/{order.pk}/"
    return response


def slow(request: HttpRequest) -> HttpResponse:
    """Like ``place``, after waiting (at most 30 s) for the test to open the gate."""
    _count("slow")
    order = _place(request)
    GATE.entered.set()
    GATE.opened.wait(timeout=30)
    return JsonResponse({"order": order.pk}, status=201)


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 after writing an order (a dependency failed half way)."""
    _count("unavailable")
    _place(request)
    return problem_response(Problem.of("down", 503, detail="try again"), request)


def invalid(request: HttpRequest) -> HttpResponse:
    """400: bad input, an answer that stays the same."""
    _count("invalid")
    return problem_response(Problem.of("validation_error", 400, detail="no"), request)


def big(request: HttpRequest) -> HttpResponse:
    """201 with a body of ``?size=`` bytes."""
    _count("big")
    _place(request)
    return HttpResponse(b"x" * int(request.GET.get("size", "100")), status=201)


def streamed(request: HttpRequest) -> StreamingHttpResponse:
    """201, streamed."""
    _count("streamed")
    _place(request)
    return StreamingHttpResponse(iter([b"one", b"two"]), status=201)


urlpatterns = [
    path("orders/", place),
    path("slow/", slow),
    path("unavailable/", unavailable),
    path("invalid/", invalid),
    path("big/", big),
    path("streamed/", streamed),
]
