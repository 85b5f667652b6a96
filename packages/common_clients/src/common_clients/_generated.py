"""What every generated ``models.py`` stands on: the model base and the tagged-union chooser.

They live here, once, rather than re-emitted into each generated module; generated code reaches
them through :mod:`common_clients.runtime`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["GeneratedModel", "discriminate"]


class GeneratedModel(BaseModel):
    """Base of generated models: unknown fields ignored, fields settable by attribute name.

    A service adding a field never breaks a client generated before it; a model is built lazily
    (``defer_build``), so importing a client with hundreds of models stays cheap.
    """

    model_config = ConfigDict(
        extra="ignore", populate_by_name=True, defer_build=True, protected_namespaces=()
    )


def discriminate(prop: str, tags: dict[str, str]) -> Callable[[Any], str | None]:
    """A pydantic ``Discriminator`` callable: the union member named by the value of ``prop``.

    ``tags`` maps each value of ``prop`` to the ``Tag`` of its member; ``prop`` is read from a
    dict (validating JSON) or from a model (validating an instance). An unknown value gives
    ``None``, which pydantic reports as a validation error naming the tags it knows.
    """

    def tag(value: Any) -> str | None:
        raw = value.get(prop) if isinstance(value, dict) else getattr(value, prop, None)
        return tags.get(raw) if isinstance(raw, str) else None

    return tag
