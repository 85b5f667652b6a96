"""Enum values a client was generated before: kept, typed, instead of failing the whole response.

A service adding a value to an enum must not break the clients generated before it, as adding a
field does not. Generated response models therefore type an enum as its known values or an unknown
one (``status: Status | UnknownStr``): a known value parses to its ``Literal``, any other string to
:class:`UnknownStr` (an :class:`int` to :class:`UnknownInt`), which *is* the value (it compares,
hashes and serialises as the plain ``str``/``int``) and says by its type that this client did not
know it. Type checkers keep the two apart: ``isinstance(status, UnknownStr)`` narrows to the
unknown case, so a ``match`` over the known values stays exhaustive, and a plain ``str`` is not an
``UnknownStr``, so an unknown value cannot be passed where a request expects a known one.
Request-only models and parameters keep the strict ``Literal``.
"""

from __future__ import annotations

from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = ["UnknownInt", "UnknownStr"]


class UnknownStr(str):
    """A value of a string enum that this client does not know (the service added it later)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"UnknownStr({str.__repr__(self)})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Strict: only a JSON string is an unknown string value (never a number or a bool).
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(strict=True)
        )


class UnknownInt(int):
    """A value of an integer enum that this client does not know (the service added it later)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"UnknownInt({int.__repr__(self)})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Strict: only a JSON integer is an unknown integer value (never 1.0, "1" or true).
        return core_schema.no_info_after_validator_function(
            cls, core_schema.int_schema(strict=True)
        )
