"""Looking up an order's owner in the users service, or in process from the token's claims.

``ORDERS_USERS_LOOKUP=http`` (the default) asks users with the generated client
``common_clients_users`` (distribution common-clients-users) and orders' own service token
(``ClientCredentials.from_env("USERS")``), keeping up to ``USERS_CACHE_SIZE`` answers for as long
as users' ``Cache-Control`` allows and revalidating them with their ``ETag`` after
(``common_clients.HTTPCache``).
``ORDERS_USERS_LOOKUP=inprocess`` builds the same ``User`` model from the caller's verified claims
without any call, so that a benchmark can measure what the split costs; everything else is the
same.

Failures are translated here, at the boundary, into the API's errors (``orders.errors``): an
unknown or inactive user is a 403, users being away or refusing our credentials a 503, users
answering with an error a 502. No client or auth exception reaches a view.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from common_auth import AccessTokenClaims, ClientCredentials, CommonAuthError, TokenEndpointError
from common_clients import HTTPCache
from common_clients.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ClientError,
    NotFoundError,
    PermissionDeniedError,
)
from common_clients_users import UsersClient
from common_clients_users.models import User
from django.conf import settings

from orders.errors import UserNotAllowed, UsersBadGateway, UsersUnavailable

logger = logging.getLogger("orders.owners")

OwnerLookup = Callable[[str, AccessTokenClaims], User]
"""``lookup(owner_id, caller_claims) -> User``; raises the API's errors."""

_client: UsersClient | None = None
_client_lock = threading.Lock()


def users_client() -> UsersClient:
    """The process's users client: one connection pool and one cached service token."""
    global _client  # noqa: PLW0603 - one pool per process, made on first use
    if _client is None:
        with _client_lock:
            if _client is None:
                size = settings.USERS_CACHE_SIZE
                _client = UsersClient(
                    base_url=settings.USERS_URL,
                    auth=ClientCredentials.from_env("USERS"),
                    timeout=settings.USERS_TIMEOUT,
                    cache=HTTPCache(max_entries=size) if size else None,
                )
    return _client


def install_users_client(client: UsersClient) -> None:
    """Make the lookups use ``client`` (closing the one they had), e.g. a client over
    ``common_clients.testing``'s transport in a test; :func:`close_users_client` undoes it."""
    global _client
    with _client_lock:
        previous, _client = _client, client
    if previous is not None and previous is not client:
        previous.close()


def close_users_client() -> None:
    """Close the process's users client; the next lookup makes a new one from the settings."""
    global _client
    with _client_lock:
        client, _client = _client, None
    if client is not None:
        client.close()


def _user_id(owner_id: str) -> int:
    """The users service's id for a token's ``sub``: its primary key, a positive integer."""
    if not owner_id.isdigit() or owner_id.startswith("0"):
        raise UserNotAllowed(f"user {owner_id!r} is not a user of the users service")
    return int(owner_id)


def lookup_http(owner_id: str, claims: AccessTokenClaims) -> User:
    """Ask users for the user ``owner_id`` (``users_retrieve``)."""
    user_id = _user_id(owner_id)
    try:
        user = users_client().users.retrieve(id=user_id)
    except NotFoundError:
        raise UserNotAllowed(f"user {owner_id} is unknown to the users service") from None
    except (AuthenticationError, PermissionDeniedError) as exc:
        # Our service token was refused: a configuration problem of ours, not the caller's.
        logger.error("users refused the orders service token: %s", exc)
        raise UsersUnavailable("the users service refused the orders service token") from exc
    except APIConnectionError as exc:
        logger.warning("users unreachable: %s", exc)
        raise UsersUnavailable() from exc
    except APIStatusError as exc:
        logger.warning("users answered %s: %s", exc.status_code, exc)
        if exc.status_code in (502, 503, 504):
            raise UsersUnavailable() from exc
        raise UsersBadGateway() from exc
    except ClientError as exc:  # the answer did not fit the users document
        logger.warning("users answered with an unexpected body: %s", exc)
        raise UsersBadGateway() from exc
    except TokenEndpointError as exc:
        logger.warning("no service token from users: %s", exc)
        raise UsersUnavailable("the users service did not issue a service token") from exc
    except CommonAuthError as exc:  # e.g. USERS_* variables missing at the first call
        logger.error("the users client is misconfigured: %s", exc)
        raise UsersUnavailable("the users lookup is misconfigured") from exc
    logger.info("owner looked up", extra={"owner_id": owner_id, "lookup": "http"})
    return user


def lookup_inprocess(owner_id: str, claims: AccessTokenClaims) -> User:
    """Build the caller's ``User`` from the token's claims, without asking users.

    Used only for the caller's own orders (the benchmark of the split): the claims describe the
    caller, so another ``owner_id`` is refused. Missing profile claims become empty strings.
    """
    if owner_id != claims.sub:
        raise UserNotAllowed(f"user {owner_id} cannot be looked up in process")
    extra = claims.model_extra or {}

    def text(*names: str) -> str:
        for name in names:
            value = extra.get(name)
            if isinstance(value, str):
                return value
        return ""

    username = text("preferred_username", "username") or claims.sub
    issued = claims.iat if claims.iat is not None else claims.exp
    user = User(
        id=_user_id(owner_id),
        username=username,
        email=text("email"),
        display_name=text("name", "display_name") or username,
        is_active=True,
        date_joined=datetime.fromtimestamp(issued, tz=UTC),
    )
    logger.info("owner looked up", extra={"owner_id": owner_id, "lookup": "inprocess"})
    return user


def owner_lookup() -> OwnerLookup:
    """The lookup ``ORDERS_USERS_LOOKUP`` selects."""
    return lookup_inprocess if settings.ORDERS_USERS_LOOKUP == "inprocess" else lookup_http


def active_owner(owner_id: str, claims: AccessTokenClaims) -> User:
    """Look the owner up and refuse (403) an inactive account."""
    user = owner_lookup()(owner_id, claims)
    if not user.is_active:
        raise UserNotAllowed(f"user {owner_id} is inactive")
    return user
