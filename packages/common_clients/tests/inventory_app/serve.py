"""Run the inventory service on 127.0.0.1 (a free port, printed once ready), or export its schema.

``python serve.py`` creates the tables, binds port 0, prints ``READY <port>`` and serves until
killed; ``python serve.py --export-schema PATH`` writes the OpenAPI document drf-spectacular makes.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_app.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402

from inventory_app.models import Product  # noqa: E402


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    if sys.argv[1:2] == ["--export-schema"]:
        call_command("spectacular", "--file", sys.argv[2], "--validate")
        return
    with connection.schema_editor() as editor:
        editor.create_model(Product)
    server = WSGIServer(("127.0.0.1", 0), QuietHandler, ipv6=False)
    server.set_app(get_wsgi_application())
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
