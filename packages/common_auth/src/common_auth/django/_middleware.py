"""`TokenAuthenticationMiddleware`: every request gets ``request.user`` and ``request.auth``.

With a valid ``Authorization: Bearer`` token: a `TokenUser` and the token's claims, and the token
is the current one for `ForwardUserToken` while the view runs. Without a token: the user another
middleware set (session authentication) or `AnonymousUser`, and ``request.auth = None``. With a
bad token: 401 and an RFC 6750 ``WWW-Authenticate`` answer, before any view runs; 503 when the
issuer's keys cannot be had. Every refusal is RFC 9457 problem details
(``application/problem+json``). Sync and async.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from common_auth._context import access_token_context
from common_auth.django._authentication import (
    REQUEST_ERRORS,
    aauthenticate,
    authenticate,
    bearer_token,
    error_response,
    set_auser,
)

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


def _default_user(request: HttpRequest) -> None:
    """Without a token: keep the user session authentication set, else AnonymousUser."""
    if not hasattr(request, "user"):
        # Imported here: this package is imported while Django loads apps, before models may be.
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()
        set_auser(request, request.user)


class TokenAuthenticationMiddleware:
    """Authenticates requests by bearer token; place it after Django's session
    ``AuthenticationMiddleware`` if both are used."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse | AsyncGetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        try:
            claims = authenticate(request)
        except REQUEST_ERRORS as exc:
            return error_response(exc, request)
        if claims is None:
            _default_user(request)
            return self.get_response(request)
        with access_token_context(bearer_token(request)):
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            claims = await aauthenticate(request)
        except REQUEST_ERRORS as exc:
            return error_response(exc, request)
        if claims is None:
            _default_user(request)
        get_response: AsyncGetResponse = self.get_response  # type: ignore[assignment]
        if claims is None:
            return await get_response(request)
        with access_token_context(bearer_token(request)):
            return await get_response(request)
