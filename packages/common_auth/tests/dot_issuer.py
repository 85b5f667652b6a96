"""django-oauth-toolkit as a real issuer, for the interop tests: run as a script, not imported.

``python dot_issuer.py DB_PATH`` migrates a fresh SQLite database, registers two confidential
applications (``orders``: client credentials; ``orders-api``: the resource server that
introspects), serves DOT's ``/o/`` URLs on 127.0.0.1 with a free port and prints ``PORT <n>``
once it accepts connections. It runs in its own process because it needs its own Django settings.
"""

from __future__ import annotations

import sys
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import django
from django.conf import settings
from django.urls import include, path

SECRETS = {"orders": "orders-secret-value", "orders-api": "orders-api-secret-value"}

urlpatterns: list[Any] = []  # filled once Django is set up (DOT's URLs import its models)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base names it)
        pass


def main(database: str) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="dot-issuer-for-tests",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "oauth2_provider",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        # DOT hashes client secrets with the password hashers: a fast one keeps tests quick.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        OAUTH2_PROVIDER={
            "SCOPES": {
                "users:read": "read users",
                "users:write": "write users",
                "introspection": "introspect tokens",
            },
            "ACCESS_TOKEN_EXPIRE_SECONDS": 300,
        },
    )
    django.setup()

    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import get_application_model  # type: ignore[import-untyped]

    urlpatterns.append(path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")))
    call_command("migrate", verbosity=0, interactive=False)
    application = get_application_model()
    for client_id, secret in SECRETS.items():
        application.objects.create(
            name=client_id,
            client_id=client_id,
            client_secret=secret,
            client_type=application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application.GRANT_CLIENT_CREDENTIALS,
        )
    server = make_server(
        "127.0.0.1",
        0,
        get_wsgi_application(),
        server_class=_ThreadingServer,
        handler_class=_QuietHandler,
    )
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
