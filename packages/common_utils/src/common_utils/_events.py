"""Event envelopes with the CloudEvents 1.0 attributes, and the registry of event types.

An event type is a pydantic model for the ``data``, registered under a name and a version::

    @event_type("orders.order.placed", version=1)
    class OrderPlaced(BaseModel):
        order_id: int

    event = new_event(OrderPlaced(order_id=7), source="/orders", subject="order/7")

The CloudEvents ``type`` is ``<name>.v<version>`` (``orders.order.placed.v1``), so a consumer that
knows only version 1 never mistakes version 2 for it. The envelope also carries the request context
as the CloudEvents distributed-tracing extension (``traceparent``, and ``tracestate`` when the
trace has one: ``publish()`` puts its span's context there) and a ``requestid`` extension, so the
consumer's logs and spans join the producer's.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar, cast

import pydantic

from common_utils._context import current_request_context
from common_utils._errors import EventRegistrationError, InvalidEventError, UnknownEventTypeError

DataT = TypeVar("DataT", bound=pydantic.BaseModel)
ModelT = TypeVar("ModelT", bound=type[pydantic.BaseModel])

_NAME_RE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")


def _new_event_id() -> str:
    return str(uuid.uuid4())


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(pydantic.BaseModel, Generic[DataT]):
    """One event: the CloudEvents 1.0 context attributes around a typed ``data``.

    Immutable. Build one with ``new_event()``; read one with ``parse_event()``.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    id: str = pydantic.Field(default_factory=_new_event_id, min_length=1, max_length=200)
    source: str = pydantic.Field(min_length=1)
    type: str = pydantic.Field(min_length=1)
    specversion: Literal["1.0"] = "1.0"
    time: pydantic.AwareDatetime = pydantic.Field(default_factory=_utcnow)
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    # Extensions (lower-case alphanumeric names, as CloudEvents requires).
    traceparent: str | None = None
    # W3C tracestate (vendor trace data), carried beside traceparent when the trace has one: the
    # distributed-tracing extension's second attribute. Absent from the JSON when there is none.
    tracestate: str | None = None
    requestid: str | None = None
    # Order per aggregate (set by the outbox's ``publish(..., key=...)``): the CloudEvents
    # partitioning extension's key, the event's number within it (1, 2, 3 … in commit order),
    # and the last number of each event type before it, as ``type:n`` words.
    partitionkey: str | None = pydantic.Field(default=None, min_length=1, max_length=200)
    keysequence: int | None = pydantic.Field(default=None, ge=1)
    keyprior: str | None = pydantic.Field(
        default=None, max_length=20_000, pattern=r"^\S+:[0-9]+( \S+:[0-9]+)*$"
    )
    data: DataT

    def prior_in(self, types: Iterable[str]) -> int:
        """The number of the last event of this key before this one whose type is in ``types``.

        0 when there is none (or the event has no key).
        """
        wanted = set(types)
        last = 0
        for word in (self.keyprior or "").split():
            event_type, _, number = word.rpartition(":")  # the pattern above holds
            if event_type in wanted:
                last = max(last, int(number))
        return last

    @pydantic.model_validator(mode="after")
    def _key_has_sequence(self) -> Envelope[DataT]:
        if (self.partitionkey is None) != (self.keysequence is None):
            raise ValueError("partitionkey and keysequence come together or not at all")
        return self

    def to_json(self) -> str:
        """Return the event in the CloudEvents JSON format (structured mode)."""
        return self.model_dump_json(exclude_none=True)


class EventRegistry:
    """Maps CloudEvents types to the pydantic models of their ``data``.

    ``common_utils.events`` is the process-wide registry the decorators use; make your own to
    keep tests apart.
    """

    def __init__(self) -> None:
        self._by_type: dict[str, type[pydantic.BaseModel]] = {}
        self._by_model: dict[type[pydantic.BaseModel], str] = {}

    def register(self, name: str, *, version: int = 1) -> Callable[[ModelT], ModelT]:
        """Return a class decorator registering a data model as ``<name>.v<version>``."""
        if not _NAME_RE.fullmatch(name):
            raise EventRegistrationError(
                f"event name {name!r} must be lower-case words joined by '.', '_' or '-'"
            )
        if version < 1:
            raise EventRegistrationError(
                f"event {name!r}: version must be 1 or more, not {version}"
            )
        ce_type = f"{name}.v{version}"

        def decorate(model: ModelT) -> ModelT:
            existing = self._by_type.get(ce_type)
            if existing is not None and existing is not model:
                raise EventRegistrationError(
                    f"event type {ce_type!r} is already registered to "
                    f"{existing.__module__}.{existing.__qualname__}"
                )
            self._by_type[ce_type] = model
            self._by_model[model] = ce_type
            return model

        return decorate

    def type_of(self, model: type[pydantic.BaseModel]) -> str:
        """Return the CloudEvents type a data model is registered under."""
        try:
            return self._by_model[model]
        except KeyError:
            raise UnknownEventTypeError(
                f"{model.__module__}.{model.__qualname__} is not registered as an event type"
            ) from None

    def model_of(self, ce_type: str) -> type[pydantic.BaseModel]:
        """Return the data model registered for a CloudEvents type."""
        try:
            return self._by_type[ce_type]
        except KeyError:
            raise UnknownEventTypeError(
                f"no event class is registered for type {ce_type!r}"
            ) from None

    def __contains__(self, ce_type: object) -> bool:
        """Whether the CloudEvents type ``ce_type`` (``orders.order.placed.v1``) is registered."""
        return ce_type in self._by_type

    def types(self) -> list[str]:
        """Return every registered CloudEvents type, sorted."""
        return sorted(self._by_type)

    def new_event(
        self,
        data: DataT,
        *,
        source: str,
        subject: str | None = None,
        id: str | None = None,  # noqa: A002 - the CloudEvents attribute is called id
        time: datetime | None = None,
    ) -> Envelope[DataT]:
        """Wrap ``data`` in an envelope of its registered type, stamped with the request context."""
        ctx = current_request_context()
        fields: dict[str, Any] = {
            "source": source,
            "type": self.type_of(type(data)),
            "subject": subject,
            "data": data,
            "requestid": None if ctx is None else ctx.request_id,
            "traceparent": None if ctx is None else ctx.traceparent,
        }
        if id is not None:
            fields["id"] = id
        if time is not None:
            fields["time"] = time
        try:
            # Parametrised at run time so that pydantic validates data against its own model.
            envelope_cls: Any = Envelope.__class_getitem__(type(data))
            return cast("Envelope[DataT]", envelope_cls(**fields))
        except pydantic.ValidationError as exc:
            raise InvalidEventError(f"event {fields['type']!r}: {_describe(exc)}") from None

    def parse_event(self, raw: str | bytes | Mapping[str, Any]) -> Envelope[pydantic.BaseModel]:
        """Read an event in the CloudEvents JSON format and validate its ``data`` by its type.

        Raises ``UnknownEventTypeError`` for an unregistered type, ``InvalidEventError`` for
        anything else that does not validate (the message names the field).
        """
        try:
            doc = json.loads(raw) if isinstance(raw, str | bytes) else dict(raw)
        except ValueError as exc:
            raise InvalidEventError(f"event is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise InvalidEventError(f"event must be a JSON object, not {type(doc).__name__}")
        ce_type = doc.get("type")
        if not isinstance(ce_type, str):
            raise InvalidEventError("event has no 'type' attribute")
        model = self.model_of(ce_type)
        try:
            envelope_cls: Any = Envelope.__class_getitem__(model)
            envelope = cast("Envelope[pydantic.BaseModel]", envelope_cls.model_validate(doc))
        except pydantic.ValidationError as exc:
            raise InvalidEventError(
                f"event {doc.get('id')!r} of type {ce_type!r}: {_describe(exc)}"
            ) from None
        return envelope


def _describe(exc: pydantic.ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors()
    )


events = EventRegistry()
"""The process-wide event registry."""


def event_type(name: str, *, version: int = 1) -> Callable[[ModelT], ModelT]:
    """Register a pydantic model as the ``data`` of event type ``<name>.v<version>``."""
    return events.register(name, version=version)


def new_event(
    data: DataT,
    *,
    source: str,
    subject: str | None = None,
    id: str | None = None,  # noqa: A002 - the CloudEvents attribute is called id
    time: datetime | None = None,
) -> Envelope[DataT]:
    """Wrap registered ``data`` in a new envelope (see ``EventRegistry.new_event``)."""
    return events.new_event(data, source=source, subject=subject, id=id, time=time)


def parse_event(raw: str | bytes | Mapping[str, Any]) -> Envelope[pydantic.BaseModel]:
    """Read and validate an event with the process-wide registry (``EventRegistry.parse_event``)."""
    return events.parse_event(raw)
