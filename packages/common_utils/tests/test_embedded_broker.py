"""The embedded broker: one directory shared by the processes of several services."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue
from kombu.transport import filesystem

from common_utils import CommonUtilsError
from common_utils.django.events import (
    EMBEDDED_BROKER_URL,
    FILESYSTEM_TRANSPORT,
    embedded_broker_options,
)

PUBLISHER = textwrap.dedent(
    """
    import sys
    from kombu import Connection, Exchange
    from common_utils.django.events import (
        EMBEDDED_BROKER_URL, FILESYSTEM_TRANSPORT, embedded_broker_options,
    )

    options = embedded_broker_options(sys.argv[1])
    with Connection(
        EMBEDDED_BROKER_URL, transport=FILESYSTEM_TRANSPORT, transport_options=options
    ) as connection:
        producer = connection.Producer(exchange=Exchange("commons.events", type="topic"))
        producer.publish({"order_id": 7}, routing_key="orders.order_placed.v1")
    """
)


def test_the_options_name_folders_inside_the_directory_and_create_them(tmp_path: Path) -> None:
    options = embedded_broker_options(tmp_path / "broker")
    assert options["data_folder_in"] == options["data_folder_out"]
    for key in ("data_folder_in", "control_folder"):
        folder = Path(options[key])
        assert folder.is_dir()
        assert folder.parent == (tmp_path / "broker").resolve()


def test_a_message_published_by_another_process_reaches_a_bound_queue(tmp_path: Path) -> None:
    directory = tmp_path / "broker"
    filesystem.Transport.global_state.clear()  # bindings must come from the folder, not memory
    options = embedded_broker_options(directory)
    queue = Queue(
        "notifications.events",
        exchange=Exchange("commons.events", type="topic"),
        routing_key="orders.order_placed.v1",
    )
    with Connection(
        EMBEDDED_BROKER_URL, transport=FILESYSTEM_TRANSPORT, transport_options=options
    ) as connection:
        bound = queue.bind(connection.default_channel)
        bound.declare()
        # The publisher is another process: it knows the binding only from the shared folder.
        subprocess.run([sys.executable, "-c", PUBLISHER, str(directory)], check=True, timeout=60)
        message = bound.get(no_ack=True)
    filesystem.Transport.global_state.clear()
    assert message is not None
    assert message.payload == {"order_id": 7}


def test_a_directory_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CommonUtilsError, match="cannot create the embedded broker"):
        embedded_broker_options(blocker / "broker")
