"""Settings read from environment variables, validated at once, every bad variable named together.

A service declares the variables it reads as a pydantic model whose field names are the variable
names, and reads them once, at start-up::

    class Environment(EnvironmentSettings):
        DJANGO_SECRET_KEY: str
        DJANGO_DEBUG: bool = False
        DJANGO_ALLOWED_HOSTS: Words = ("127.0.0.1", "localhost")
        USERS_URL: Url | None = None
        USERS_TIMEOUT: Annotated[Duration, Field(gt=timedelta(0))] = timedelta(seconds=5)

    env = Environment.from_environ()

A variable that is unset, empty or only blanks counts as not given (its default applies, or it is
reported as required). A validator may name a place inside a variable (a key of a JSON one) by
starting its message with it: ``ValueError("['orders']: unknown scope")`` is reported as
``NAME['orders']: unknown scope``; a model validator (a rule across variables) names the
variable the same way: ``ValueError("BROKER_DIR: required without BROKER_URL")``. `from_environ`
raises `EnvironmentSettingsError` listing every
variable that is missing or wrong, each with what was wrong, never with its value (which may be a
secret).

Built on pydantic (already a dependency), not pydantic-settings: reading the variables by field name
is a few lines, and pydantic-settings would add two packages to every service's lock and decode
list fields as JSON, which these variables are not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Self

import pydantic
from pydantic import BeforeValidator, ConfigDict

from common_utils._errors import EnvironmentSettingsError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>ms|s|m|h|d)?")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


_TIMEDELTA_REPR = re.compile(r"datetime\.timedelta\(((?:\w+=-?[0-9.]+(?:, )?)*)\)")


def _seconds(match: re.Match[str]) -> str:
    parts = (part.split("=") for part in match[1].split(", ") if part)
    return f"{timedelta(**{name: float(value) for name, value in parts}).total_seconds():g}s"


def _words(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return tuple(dict.fromkeys(value.replace(",", " ").split()))


def _duration(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        if value.strip().upper().startswith("P"):
            return value  # ISO 8601 (PT5M): pydantic reads it
        raise ValueError(
            "expected a duration: seconds (30, 1.5), a number with a unit (500ms, 30s, 5m, 2h, "
            "1d) or ISO 8601 (PT5M)"
        )
    return timedelta(seconds=float(match["number"]) * _UNITS[match["unit"] or "s"])


def _url(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    scheme, separator, rest = value.partition("://")
    if not separator or not _URL_SCHEME.fullmatch(scheme) or any(c.isspace() for c in value):
        raise ValueError("expected an absolute URL (scheme://host/path)")
    if scheme.lower() in {"http", "https"} and not rest.split("/", 1)[0]:
        raise ValueError("expected an absolute URL with a host (http://host:port/path)")
    return value


Words = Annotated[tuple[str, ...], BeforeValidator(_words)]
"""A list of words separated by commas and/or blanks (``"a, b c"``), duplicates dropped."""

Duration = Annotated[timedelta, BeforeValidator(_duration)]
"""A duration: seconds (``30``, ``1.5``), a number with a unit (``500ms``, ``30s``, ``5m``,
``2h``, ``1d``) or ISO 8601 (``PT5M``)."""

Url = Annotated[str, BeforeValidator(_url)]
"""An absolute URL (``scheme://...``; ``http``/``https`` ones need a host), kept as written."""


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "missing":
        return "required, not set" if len(error["loc"]) <= 1 else "missing"
    message = str(error["msg"])
    # A bound of a Duration reads "3600s", not "datetime.timedelta(seconds=3600)".
    message = _TIMEDELTA_REPR.sub(_seconds, message)
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _placed(where: str, message: str) -> tuple[str, str]:
    """A validator's message that starts with a place inside the variable (``['orders']:
    ...``) moves that place into the name: ``NAME['orders']``."""
    if message.startswith("[") and "]: " in message:
        inside, _, rest = message.partition("]: ")
        return f"{where}{inside}]", rest
    return where, message


def _where(location: tuple[int | str, ...]) -> str:
    if not location:
        return "(settings)"
    head, *rest = location
    return str(head) + "".join(f"[{part!r}]" for part in rest)


class EnvironmentSettings(pydantic.BaseModel):
    """Base of a service's environment: each field is a variable of the same name.

    Fields take any pydantic type; `Words`, `Duration` and `Url` read the usual forms of lists,
    durations and URLs from text, and ``pydantic.Json[...]`` reads a JSON document. The model is
    frozen: the environment is read once.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read and validate the variables (``os.environ`` unless given); raises
        `EnvironmentSettingsError` naming every missing or bad one."""
        source = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name, field in cls.model_fields.items():
            variable = field.alias or name
            raw = source.get(variable, "")
            if raw.strip():
                values[variable] = raw.strip()
        try:
            return cls.model_validate(values)
        except pydantic.ValidationError as exc:
            errors: dict[str, str] = {}
            for error in exc.errors(include_url=False, include_input=False):
                where, message = _placed(_where(tuple(error["loc"])), _message(error))
                variable, _, rest = message.partition(": ")
                if not error["loc"] and rest and variable in cls.model_fields:
                    where, message = variable, rest  # a model validator naming the variable
                errors.setdefault(where, message)
            raise EnvironmentSettingsError(errors) from None
