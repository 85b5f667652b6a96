"""The exception tree of common-utils: one root, so callers can catch at the level they care about.

CommonUtilsError
 +-- InvalidRequestIdError        (ValueError) an X-Request-ID unsafe in a header
 +-- InvalidTraceparentError      (ValueError) a traceparent that breaks W3C trace context
 +-- EventError
 |    +-- UnknownEventTypeError   (LookupError) no event class for a type and version
 |    +-- EventRegistrationError  two classes claim one type and version
 |    +-- InvalidEventError       (ValueError) an envelope or its data does not validate
 |    +-- ReplayError             a dead letter or parked outbox row could not be replayed
 |    +-- EventConfigError        (ValueError) no Celery app, or one the settings do not describe
 +-- OutboxError
 |    +-- NoTransactionError      publish() outside transaction.atomic() on the event's database
 +-- DatabaseConfigError          (ValueError) a database URL or routing setting is wrong
 +-- EnvironmentSettingsError     (ValueError) environment variables missing or wrong, all named
 +-- TracingConfigError           (ValueError) tracing asked for what this process cannot do
 +-- MissingExtraError            (ImportError) an optional extra is not installed
 +-- BoundariesError              manage.py boundaries cannot report
      +-- BoundariesInputError    (ValueError) a services map, baseline or query record is bad
"""

from __future__ import annotations

from collections.abc import Mapping


class CommonUtilsError(Exception):
    """The root of every error raised by common-utils."""


class InvalidRequestIdError(CommonUtilsError, ValueError):
    """A request id is empty, too long or holds characters unsafe in a header or a log line."""


class InvalidTraceparentError(CommonUtilsError, ValueError):
    """A ``traceparent`` value does not follow W3C trace context."""


class EventError(CommonUtilsError):
    """The root of errors about event envelopes and their registry."""


class UnknownEventTypeError(EventError, LookupError):
    """No event class is registered for an event type and version."""


class EventRegistrationError(EventError):
    """Two event classes claim the same type and version, or a class lacks its type."""


class InvalidEventError(EventError, ValueError):
    """An event envelope, or its ``data``, does not validate."""


class ReplayError(EventError):
    """A dead letter or a parked outbox row could not be replayed (the message names which)."""


class EventConfigError(EventError, ValueError):
    """Events are misconfigured: no Celery app named, or one whose broker the settings deny."""


class OutboxError(CommonUtilsError):
    """The root of errors about the transactional outbox."""


class NoTransactionError(OutboxError):
    """``publish()`` was called outside ``transaction.atomic()`` on the outbox's database."""


class DatabaseConfigError(CommonUtilsError, ValueError):
    """A database URL or a database routing setting is malformed."""


class EnvironmentSettingsError(CommonUtilsError, ValueError):
    """Environment variables are missing or wrong; ``errors`` maps each variable (with the key
    inside it, ``NAME['key']``) to what is wrong with it, and the message lists them all."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        count = len(self.errors)
        lines = "".join(f"\n  {variable}: {message}" for variable, message in self.errors.items())
        noun = "variable is" if count == 1 else "variables are"
        super().__init__(f"{count} environment {noun} missing or wrong:{lines}")


class TracingConfigError(CommonUtilsError, ValueError):
    """The environment asks for tracing that ``configure_tracing`` cannot set up: another exporter
    or protocol than OTLP over HTTP, or the ``tracing`` extra is not installed. The message names
    the variable and its value."""


class BoundariesError(CommonUtilsError):
    """The root of errors of ``manage.py boundaries`` and its query recording."""


class BoundariesInputError(BoundariesError, ValueError):
    """A file handed to ``manage.py boundaries`` is unreadable, too big, a symlink or malformed.

    The message names the file and, where there is one, the key or line that is wrong.
    """


class MissingExtraError(CommonUtilsError, ImportError):
    """A feature needs an optional extra of common-utils that is not installed."""
