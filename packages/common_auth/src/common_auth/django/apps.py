"""The Django app of common_auth: add ``"common_auth.django"`` to INSTALLED_APPS for its checks."""

from __future__ import annotations

import importlib.util

from django.apps import AppConfig


class CommonAuthConfig(AppConfig):
    """Registers the ``COMMON_AUTH`` checks (and, with drf-spectacular, the bearer scheme)."""

    name = "common_auth.django"
    label = "common_auth"
    verbose_name = "Commons auth"

    def ready(self) -> None:
        from common_auth.django import _checks  # noqa: F401 (registers the checks)

        if importlib.util.find_spec("drf_spectacular") and importlib.util.find_spec(
            "rest_framework"
        ):
            # Documents BearerTokenAuthentication in OpenAPI documents drf-spectacular makes.
            from common_auth.django import _spectacular  # noqa: F401
