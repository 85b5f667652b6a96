"""The code blocks of the README's "complete setup" section, for test_readme_setup.py.

`blocks()` returns the Python blocks whose first line names their file (``# users/views.py``),
with the placeholder host of the auth service replaced by a real URL. Run as a script
(``python readme_setup.py URL_FILE``), this module is the ``users`` auth service: it configures
Django from ``users/settings.py``, builds ``users.views`` and ``users.urls`` from their blocks,
runs the system checks, prints two tokens from ``access_token_for`` (``TOKEN <scopes> <token>``)
and ``PORT <n>``, then serves on 127.0.0.1.
"""

from __future__ import annotations

import io
import re
import sys
import types
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

README = Path(__file__).resolve().parents[1] / "README.md"
PLACEHOLDER = "https://users.internal"
_BLOCK = re.compile(r"```python\n(# (\w+/\w+\.py)[^\n]*\n.*?)```", re.DOTALL)


def blocks(users_url: str) -> dict[str, str]:
    """``{"users/settings.py": source, ...}`` from the README, the auth service at `users_url`."""
    text = README.read_text(encoding="utf-8")
    return {name: body.replace(PLACEHOLDER, users_url) for body, name in _BLOCK.findall(text)}


def install_module(name: str, source: str) -> types.ModuleType:
    """Execute `source` as the module `name` (its package is made too) and register it."""
    package_name, _, child = name.rpartition(".")
    package = sys.modules.get(package_name)
    if package is None:
        package = types.ModuleType(package_name)
        package.__path__ = []
        sys.modules[package_name] = package
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"README.md:{name}", "exec"), module.__dict__)  # noqa: S102 (the point)
    setattr(package, child, module)
    return module


def settings_from(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "README.md:settings", "exec"), namespace)  # noqa: S102 (the point)
    return {name: value for name, value in namespace.items() if name.isupper()}


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base names it)
        pass


def main() -> None:
    server = _ThreadingServer(("127.0.0.1", 0), _QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    code = blocks(url)

    import django
    from django.conf import settings

    settings.configure(
        **settings_from(code["users/settings.py"]),
        DEBUG=True,  # plain http on loopback: no W001 warning
        SECRET_KEY="users-service-for-tests",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="users.urls",
        USE_TZ=True,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    django.setup()

    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    views = install_module("users.views", code["users/views.py"])
    install_module("users.urls", code["users/urls.py"])
    # Raises, and the process dies with the messages on stderr, on any error or warning.
    call_command("check", fail_level="WARNING", stdout=io.StringIO())
    user = types.SimpleNamespace(pk="user-42")
    for scopes in (["orders:read"], ["orders:write"]):
        print(f"TOKEN {','.join(scopes)} {views.access_token_for(user, scopes=scopes)}")
    server.set_app(get_wsgi_application())
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
