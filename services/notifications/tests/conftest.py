"""The notifications service under test: settings from a test environment, SQLite, the embedded
broker in a temp dir, and a real JWKS endpoint on 127.0.0.1 whose key signs the test tokens."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from common_auth import SigningKey, SigningKeySet, issue_access_token

KEYS = SigningKeySet(SigningKey.generate("ES256"))


class _JWKSHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(KEYS.jwks()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


_jwks_server = ThreadingHTTPServer(("127.0.0.1", 0), _JWKSHandler)
threading.Thread(target=_jwks_server.serve_forever, daemon=True).start()
ISSUER = f"http://127.0.0.1:{_jwks_server.server_address[1]}"
_TMP = Path(tempfile.mkdtemp(prefix="notifications-tests-"))
ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "notifications_service.settings",
    "DJANGO_SECRET_KEY": "notifications-tests-only",
    "DATABASE_URL": f"sqlite:///{_TMP / 'db.sqlite3'}",
    "AUTH_ISSUER": ISSUER,
    "COMMONS_BROKER_DIR": str(_TMP / "broker"),
    "LOG_LEVEL": "INFO",
}
for _name in ("AUTH_JWKS_URL", "AUTH_AUDIENCE", "CELERY_BROKER_URL", "DJANGO_DEBUG"):
    os.environ.pop(_name, None)
os.environ.update(ENVIRONMENT)


def pytest_configure(config: pytest.Config) -> None:
    import django

    django.setup()


def pytest_unconfigure(config: pytest.Config) -> None:
    _jwks_server.shutdown()
    _jwks_server.server_close()


def token(
    sub: str = "7", *, scopes: tuple[str, ...] = ("notifications:read",), aud: str = "notifications"
) -> str:
    """An access token from the test issuer."""
    return issue_access_token(
        KEYS, issuer=ISSUER, subject=sub, audience=aud, scopes=scopes, lifetime=300
    )


@pytest.fixture
def records() -> Iterator[list[dict[str, Any]]]:
    """The log records of the ``notifications`` and ``common_utils`` loggers, as JSON objects."""
    import logging

    from common_utils import JsonLogFormatter, RequestContextLogFilter

    lines: list[dict[str, Any]] = []
    formatter = JsonLogFormatter()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(formatter.format(record)))

    handler = Collect()
    handler.addFilter(RequestContextLogFilter())
    loggers = [logging.getLogger(name) for name in ("notifications", "common_utils.events")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield lines
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
