"""The ``codegen`` extra's modules, imported with a one-line error naming the extra if missing."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from common_clients.codegen._errors import MissingExtraError

__all__ = ["EXTRA_MODULES", "require", "require_extra"]

EXTRA_MODULES = ("yaml", "jsonschema_rs", "openapi_spec_validator", "ruff")
"""The import names of the ``codegen`` extra's distributions (pyyaml, jsonschema-rs, ...)."""


def require(module: str) -> ModuleType:
    """``import module``; a :class:`MissingExtraError` naming the extra when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module) from None


def require_extra() -> None:
    """Fail with one :class:`MissingExtraError` unless every module of the extra is installed.

    Found, not imported: each is imported where it is used (openapi-spec-validator, for one,
    takes seconds to import and is never imported at all, see ``_spec``).
    """
    for module in EXTRA_MODULES:
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
        if found is None:
            raise MissingExtraError(module)
