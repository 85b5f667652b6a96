"""Idempotency keys: a retried unsafe request (POST, PATCH...) has its effect once.

A client that may send a request twice (it timed out, or the connection dropped before the
answer came) sends an ``Idempotency-Key`` header, the same on every attempt. `IdempotencyMiddleware`
keeps the answer per caller and key, and answers a repeat with it (marked
``Idempotent-Replayed: true``) instead of running the view again.

The record is written in the same transaction as the view's writes (the view runs inside
``transaction.atomic`` on the record's database; its own atomic blocks become savepoints), so it
exists exactly when the request had its effect, even if the process dies in between. The unique
``(caller, key)`` constraint decides between concurrent duplicates: the second waits for the
first's transaction and then replays its answer (PostgreSQL: at most ``IDEMPOTENCY_WAIT``
seconds, SQLite: the connection's ``timeout``; then 409). Answers:

- 400 ``invalid_idempotency_key``: a key that is empty, longer than 255 characters, or not
  printable ASCII;
- 422 ``idempotency_key_reused``: the key was used for another request (method, path, content
  type or body differ);
- 409 ``idempotency_key_in_use``: the first request with the key is still running
  (``Retry-After``);
- 409 ``idempotent_response_not_kept``: the first request had its effect but its response was
  streamed or too large to keep, so it cannot be replayed.

5xx, 408 and 429 answers are not kept: the transaction is rolled back, the view's writes in the
record's database with it, and a retry runs the view again on a clean slate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings as django_settings
from django.db import IntegrityError, OperationalError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.module_loading import import_string

from common_utils._problems import Problem
from common_utils.django._problems import problem_response
from common_utils.django._settings import CommonUtilsSettings, get_settings

if TYPE_CHECKING:  # the models load with the app registry, after this module
    from common_utils.django.models import IdempotencyRecord

__all__ = [
    "IDEMPOTENCY_KEY_HEADER",
    "IDEMPOTENT_REPLAYED_HEADER",
    "IdempotencyMiddleware",
    "purge_idempotency_records",
]

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

# Methods that change nothing: a key on them is ignored.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Answers that say "nothing lasting was done, try again": never kept, so a retry runs the view.
_NOT_KEPT_STATUSES = frozenset({408, 429})
# The response headers a replay carries; the rest are about the first exchange (Date, Server,
# Set-Cookie, X-Request-ID) or are set again on the way out.
_REPLAYED_HEADERS = (
    "Content-Type",
    "Content-Language",
    "Content-Location",
    "Content-Disposition",
    "Location",
    "ETag",
    "Last-Modified",
    "Link",
)
# Callers longer than the column are stored as their hash, so two never share a prefix.
_MAX_CALLER_LENGTH = 200
# Rows a purge deletes per statement: short statements, short locks.
_PURGE_BATCH = 1000


class _KeyTaken(Exception):
    """The ``(caller, key)`` row exists: replay or refuse, outside the failed transaction."""


class _StillRunning(Exception):
    """The first request with the key holds its row longer than a duplicate may wait."""


def _anonymous_or_user(request: HttpRequest) -> str | None:
    """The authenticated user's id (``request.user``, set by an authentication middleware)."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    return None


def _caller_function(conf: CommonUtilsSettings) -> Callable[[HttpRequest], str | None]:
    if conf.IDEMPOTENCY_CALLER is None:
        return _anonymous_or_user
    function: Callable[[HttpRequest], str | None] = import_string(
        conf.IDEMPOTENCY_CALLER.replace(":", ".")
    )
    return function


def _parse_key(raw: str) -> str | None:
    """The key, without the quotes of a structured-field string (``"k"``); ``None`` if invalid."""
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        return None
    return key


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path(), request.content_type or ""):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _caller_column(caller: str) -> str:
    if len(caller) <= _MAX_CALLER_LENGTH:
        return caller
    return "sha256:" + hashlib.sha256(caller.encode()).hexdigest()


def _is_lock_timeout(exc: OperationalError) -> bool:
    cause = exc.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code == "55P03" or "database is locked" in str(exc)


@contextmanager
def _bounded_lock_wait(connection: BaseDatabaseWrapper, seconds: float) -> Iterator[None]:
    """On PostgreSQL, wait at most ``seconds`` for a lock inside the block (``lock_timeout``)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        (before,) = cursor.fetchone()
        # 0 would mean "wait forever": the smallest wait is 1 ms.
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true)", [f"{max(1, round(seconds * 1000))}ms"]
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])


class IdempotencyMiddleware:
    """Answer a repeated unsafe request carrying an ``Idempotency-Key`` with the first answer.

    Put it after the authentication middleware (the caller is ``request.user``, or what
    ``COMMON_UTILS["IDEMPOTENCY_CALLER"]`` returns) in ``MIDDLEWARE``. Requests without the header,
    and safe methods, pass through untouched. Synchronous (Django adapts it under ASGI): the
    record and the view share one database transaction.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Run the view once per caller and key; replay or refuse the repeats."""
        raw_key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
        if raw_key is None or request.method in _SAFE_METHODS:
            return self.get_response(request)
        key = _parse_key(raw_key)
        if key is None:
            return problem_response(
                Problem.of(
                    "invalid_idempotency_key",
                    400,
                    detail=f"the {IDEMPOTENCY_KEY_HEADER} header must be 1 to {MAX_KEY_LENGTH} "
                    "printable ASCII characters",
                ),
                request,
            )
        conf = get_settings()
        caller = _caller_column(_caller_function(conf)(request) or "anonymous")
        fingerprint = _fingerprint(request)
        from common_utils.django.models import IdempotencyRecord

        alias = conf.IDEMPOTENCY_DATABASE or router.db_for_write(IdempotencyRecord) or "default"
        for _attempt in range(3):  # a row seen taken may be gone (expired, purged) when read
            try:
                return self._run_once(
                    request, conf=conf, alias=alias, caller=caller, key=key, fingerprint=fingerprint
                )
            except _StillRunning:
                return _in_use(request, key, conf)
            except _KeyTaken:
                pass
            record = IdempotencyRecord.objects.using(alias).filter(caller=caller, key=key).first()
            if record is not None:
                return _answer_repeat(request, record, key, fingerprint)
        return _in_use(request, key, conf)

    def _run_once(
        self,
        request: HttpRequest,
        *,
        conf: CommonUtilsSettings,
        alias: str,
        caller: str,
        key: str,
        fingerprint: str,
    ) -> HttpResponseBase:
        """Claim the key and run the view in one transaction; raise when the key is taken."""
        from common_utils.django.models import IdempotencyRecord

        records = IdempotencyRecord.objects.using(alias)
        now = timezone.now()
        with transaction.atomic(using=alias):
            try:
                with _bounded_lock_wait(connections[alias], conf.IDEMPOTENCY_WAIT):
                    records.filter(caller=caller, key=key, expires_at__lte=now).delete()
                    with transaction.atomic(using=alias):
                        record = records.create(
                            caller=caller,
                            key=key,
                            request_hash=fingerprint,
                            request_line=f"{request.method} {request.path}"[:300],
                            created_at=now,
                            expires_at=now + timedelta(seconds=conf.IDEMPOTENCY_TTL),
                        )
            except IntegrityError:
                raise _KeyTaken from None
            except OperationalError as exc:
                if _is_lock_timeout(exc):
                    raise _StillRunning from None
                raise
            response = self.get_response(request)
            _keep(record, response, conf.IDEMPOTENCY_MAX_RESPONSE_BYTES, alias)
        return response


def _keep(
    record: IdempotencyRecord, response: HttpResponseBase, max_bytes: int, alias: str
) -> None:
    """Store the answer in the claimed row; for an answer not kept, roll the request back (its
    writes in this database with the row), so that a retry runs on a clean slate."""
    status = response.status_code
    if status >= 500 or status in _NOT_KEPT_STATUSES:
        transaction.set_rollback(True, using=alias)
        return
    record.status = status
    record.headers = json.dumps(
        [[name, response[name]] for name in _REPLAYED_HEADERS if response.has_header(name)]
    )
    if isinstance(response, HttpResponse):
        content = response.content
        record.body_size = len(content)
        record.body = content if len(content) <= max_bytes else None
    else:  # streamed: its bytes are not there to keep
        record.body = None
    record.save(using=alias, update_fields=["status", "headers", "body", "body_size"])


def _answer_repeat(
    request: HttpRequest, record: IdempotencyRecord, key: str, fingerprint: str
) -> HttpResponseBase:
    if record.request_hash != fingerprint:
        return problem_response(
            Problem.of(
                "idempotency_key_reused",
                422,
                detail=f"the {IDEMPOTENCY_KEY_HEADER} {key!r} was used for another request "
                f"({record.request_line}, with another body); send a new key",
            ),
            request,
        )
    if record.body is None:
        why = f"over the bytes kept ({record.body_size})" if record.body_size else "streamed"
        return problem_response(
            Problem.of(
                "idempotent_response_not_kept",
                409,
                detail=f"the request with {IDEMPOTENCY_KEY_HEADER} {key!r} was carried out "
                f"(status {record.status}) but its response was {why}, so it was not kept; "
                "it is not carried out again",
            ),
            request,
        )
    response = HttpResponse(bytes(record.body), status=record.status)
    del response["Content-Type"]  # the stored one, if any, is set below
    for name, value in json.loads(record.headers):
        response[name] = value
    response[IDEMPOTENT_REPLAYED_HEADER] = "true"
    return response


def _in_use(request: HttpRequest, key: str, conf: CommonUtilsSettings) -> HttpResponseBase:
    return problem_response(
        Problem.of(
            "idempotency_key_in_use",
            409,
            detail=f"a request with {IDEMPOTENCY_KEY_HEADER} {key!r} is still being carried "
            "out; retry later for its answer",
        ),
        request,
        headers={"Retry-After": "1"},
    )


def purge_idempotency_records(
    *, using: str | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Delete the expired idempotency records of one database (default: every primary).

    Returns the number deleted per database alias. ``manage.py purge_idempotency_keys`` runs it;
    schedule it (cron, Celery beat) at least daily, since expired records are otherwise only
    replaced when their key comes again.
    """
    from common_utils.django.models import IdempotencyRecord

    cutoff = now or timezone.now()
    deleted: dict[str, int] = {}
    for alias in [using] if using is not None else _primary_aliases():
        records = IdempotencyRecord.objects.using(alias)
        total = 0
        while True:
            batch = list(
                records.filter(expires_at__lte=cutoff).values_list("pk", flat=True)[:_PURGE_BATCH]
            )
            if not batch:
                break
            total += records.filter(pk__in=batch).delete()[0]
        deleted[alias] = total
    return deleted


def _primary_aliases() -> list[str]:
    replicas = {r for rs in get_settings().READ_REPLICAS.values() for r in rs}
    return [alias for alias in django_settings.DATABASES if alias not in replicas]
