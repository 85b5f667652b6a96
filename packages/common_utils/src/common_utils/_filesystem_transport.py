"""kombu's filesystem transport with messages written atomically: the embedded broker.

kombu's own filesystem transport creates a message file under its final name and then writes
it. A consumer that lists the folder in between takes an empty file (its worker dies on the JSON
error, and the publisher's bytes go to a file nobody reads), and a publisher killed mid-write
leaves a torn message. Here a message is written to a hidden temporary name, flushed to disk and
renamed into place, so a consumer sees whole messages or nothing.

Use it with Celery as ``broker_url="filesystem://"`` and
``broker_transport=common_utils.django.events.FILESYSTEM_TRANSPORT`` (plus kombu's usual
``data_folder_in`` / ``data_folder_out`` / ``control_folder`` transport options).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    """A filesystem channel whose ``_put`` is atomic."""

    # The signature is kombu's filesystem one, which itself differs from the virtual base.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        folder = Path(self.data_folder_out)
        final = folder / name
        # A leading dot and another suffix: consumers only take "<id>.<queue>.msg" names.
        temporary = folder / f".{name}.tmp"
        try:
            with temporary.open("wb") as stream:
                stream.write(dumps(payload).encode())
                stream.flush()
                os.fsync(stream.fileno())
            temporary.replace(final)
        except OSError as exc:
            raise ChannelError(f"cannot add message {name!r} to {folder!r}: {exc}") from exc


class Transport(filesystem.Transport):
    """kombu's filesystem transport, with ``Channel`` writing messages atomically."""

    Channel = Channel
