"""RFC 9457 problem details: the one shape of every error the Commons services answer.

A problem is a JSON object served as ``application/problem+json``::

    {"type": "https://commons.invalid/problems/not_found", "title": "Not Found", "status": 404,
     "detail": "No Order matches the given query.", "instance": "/api/orders/7/",
     "request_id": "3f9c..."}

``type`` is stable per kind of error (`problem_type` of a short code such as ``not_found``), so a
caller branches on it; ``title`` is the HTTP reason phrase unless the error names its own;
``detail`` and ``instance`` are about this occurrence; anything else is an extension member
(``errors`` of a validation problem, ``request_id``). Standard library only: the Django and DRF
glue lives in ``common_utils.django`` and ``common_utils.drf``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar

# What every Commons problem ``type`` starts with; the code of the error follows.
_TYPE_BASE = "https://commons.invalid/problems/"

_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


def problem_type(code: str) -> str:
    """The stable ``type`` URI of the errors with this code (``not_found`` ->
    ``https://commons.invalid/problems/not_found``)."""
    return _TYPE_BASE + code


def status_title(status: int) -> str:
    """The HTTP reason phrase of a status (``404`` -> ``"Not Found"``), ``"Error"`` if unknown."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@dataclass(frozen=True)
class Problem:
    """One problem details document (RFC 9457); `Problem.of` builds one from an error code."""

    MEDIA_TYPE: ClassVar[str] = "application/problem+json"

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clash = sorted(_MEMBERS & set(self.extensions))
        if clash:
            raise ValueError(f"problem extensions may not redefine {', '.join(clash)}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"a problem's status is a 4xx or 5xx, not {self.status}")

    @classmethod
    def of(
        cls,
        code: str,
        status: int,
        *,
        detail: str | None = None,
        title: str | None = None,
        instance: str | None = None,
        **extensions: Any,
    ) -> Problem:
        """The problem of type ``problem_type(code)``; its title defaults to the status phrase."""
        return cls(
            type=problem_type(code),
            title=title or status_title(status),
            status=status,
            detail=detail,
            instance=instance,
            extensions=extensions,
        )

    @property
    def code(self) -> str:
        """The code this problem's type was made from (the type itself for a foreign one)."""
        return self.type.removeprefix(_TYPE_BASE)

    def with_members(self, **members: Any) -> Problem:
        """This problem with ``instance`` and/or extension members set where not already set."""
        instance = self.instance or members.pop("instance", None)
        members.pop("instance", None)
        extra = {k: v for k, v in members.items() if k not in self.extensions and v is not None}
        return Problem(
            type=self.type,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            extensions={**self.extensions, **extra},
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: the standard members (those set) first, then the extensions."""
        document: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            document["detail"] = self.detail
        if self.instance is not None:
            document["instance"] = self.instance
        document.update(self.extensions)
        return document

    def to_json(self) -> bytes:
        """The document as UTF-8 JSON."""
        return json.dumps(self.to_dict(), ensure_ascii=False, default=str).encode()
