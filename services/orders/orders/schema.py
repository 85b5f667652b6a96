"""The OpenAPI description of common-auth's bearer authentication (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """``Authorization: Bearer <JWT>`` issued by the users service (``/o/token/``)."""

    target_class = "common_auth.drf.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        """An HTTP bearer scheme carrying a JWT."""
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
