"""Ctrl-C during the demo stops every process it started: servers, relay, worker and index."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 900.0


def processes_under(folder: Path) -> set[int]:
    """The processes whose working directory or command line lies in ``folder``."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = str((entry / "cwd").readlink())
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(folder)) or str(folder) in cmdline:
            found.add(int(entry.name))
    found.discard(os.getpid())
    return found


def test_ctrl_c_stops_everything_the_demo_started(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    demo = subprocess.Popen(
        [
            *(sys.executable, "-m", "commons_tools.demo", "--keep", "--no-upgrade"),
            *("--workdir", str(workdir), "--repo", str(REPO)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "tools"), "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    said: list[str] = []

    def read() -> None:
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while not any(line.startswith("  logs in ") for line in said):
            assert demo.poll() is None, "".join(said)
            assert time.monotonic() < deadline, "".join(said)
            try:
                said.append(lines.get(timeout=1))
            except queue.Empty:
                continue
        urls = re.findall(r"(http://127\.0\.0\.1:\d+)/api/schema/", "".join(said))
        assert len(urls) == 3, "".join(said)
        for url in urls:
            assert httpx.get(f"{url}/healthz/live/").status_code == 200
        started = processes_under(workdir)
        # three web servers (each a gunicorn master and workers), the relay, the worker, the index
        assert len(started) >= 6, started

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 130
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    reader.join(timeout=30)
    assert demo.stdout is not None
    demo.stdout.close()
    while not lines.empty():
        said.append(lines.get())
    output = "".join(said)
    assert "stopped users-web, orders-web, orders-relay, notifications-web" in output, output
    assert "Interrupted: every process the demo started was stopped." in output
    left = processes_under(workdir)
    assert not left, f"still running after Ctrl-C: {left}"
    for url in urls:
        try:
            httpx.get(f"{url}/healthz/live/", timeout=2)
        except httpx.TransportError:
            continue
        raise AssertionError(f"{url} still answers after Ctrl-C")
