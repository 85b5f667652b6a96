"""The ``codegen`` extra's modules, imported with a one-line error naming the extra if missing."""

from __future__ import annotations

import importlib
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
    """Fail with one :class:`MissingExtraError` unless every module of the extra imports."""
    for module in EXTRA_MODULES:
        require(module)
