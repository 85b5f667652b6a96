"""gunicorn's settings for the orders service (read from the working directory by default).

gunicorn's own lines (workers booting, timeouts) go to stderr as JSON objects, like the
service's: one log format for the whole process. ``gunicorn -b 127.0.0.1:PORT -w 2`` run in
the service's folder serves the API.
"""

from __future__ import annotations

import os

wsgi_app = "orders_service.wsgi:application"
loglevel = os.environ.get("LOG_LEVEL", "").strip().lower() or "info"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "common_utils.RequestContextLogFilter"}},
    "formatters": {"json": {"()": "common_utils.JsonLogFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "filters": ["request_context"],
            "formatter": "json",
        }
    },
    "root": {"handlers": ["stderr"], "level": loglevel.upper()},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
        # Off: its line is written after the request context ended (no request id), and the
        # service's own lines already say what each request did.
        "gunicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}
