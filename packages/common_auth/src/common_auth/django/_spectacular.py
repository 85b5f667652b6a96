"""How drf-spectacular documents `BearerTokenAuthentication`: an HTTP bearer scheme (a JWT).

Imported by the app's ``ready()`` when drf-spectacular is installed: every operation whose view
authenticates with it then lists ``security: [{bearerAuth: []}]`` and the document declares
``components.securitySchemes.bearerAuth``. Services need no extension of their own.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """``Authorization: Bearer <JWT access token>``."""

    target_class = "common_auth.drf.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token of the auth service (RFC 6750).",
        }
