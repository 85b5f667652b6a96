"""The embedded default package index: pypiserver on 127.0.0.1, with its storage under ``.index/``.

``nox -s index`` runs it in the foreground until Ctrl-C and prints its URL; a release started while
no index is configured (``COMMONS_INDEX_URL`` unset) uses the running one, or starts one of its own
for the length of the publish. Three settings matter and are not negotiable:

- uploads need the credentials in ``.index/credentials.json`` (made on first start, readable by its
  owner only, never printed); reading is open, as on any simple index;
- no ``-o``: a file name the index has is never overwritten;
- ``--disable-fallback``: a name the index does not have is *not* redirected to PyPI, so a service
  that asks this index for ``common-utils`` gets ours or nothing (the public name is taken).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

from commons_tools.errors import CommonsToolsError, IndexUnavailable

INDEX_DIRNAME = ".index"
USERNAME = "commons"
READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Credentials:
    """An upload user and password; the password never shows in ``repr()``."""

    username: str
    password: str = field(repr=False)


def index_home(repo: Path) -> Path:
    """Where the embedded index keeps its packages, password file and state: ``<repo>/.index``."""
    return repo / INDEX_DIRNAME


def ensure_credentials(home: Path) -> Credentials:
    """The embedded index's upload credentials, made (with its htpasswd file) on first use."""
    home.mkdir(parents=True, exist_ok=True)
    stored = home / "credentials.json"
    htpasswd = home / "htpasswd"
    if stored.is_file() and htpasswd.is_file():
        data = json.loads(stored.read_text(encoding="utf-8"))
        return Credentials(username=data["username"], password=data["password"])
    credentials = Credentials(username=USERNAME, password=secrets.token_urlsafe(24))
    with warnings.catch_warnings():
        # passlib 1.7.4 imports the stdlib ``crypt`` module, deprecated since Python 3.11.
        warnings.simplefilter("ignore", DeprecationWarning)
        from passlib.apache import HtpasswdFile

    passwords = HtpasswdFile(new=True)
    passwords.set_password(credentials.username, credentials.password)
    _write_private(htpasswd, passwords.to_string())
    payload = {"username": credentials.username, "password": credentials.password}
    _write_private(stored, json.dumps(payload).encode())
    return credentials


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file only its owner can read (created so, not chmod-ed after)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether a pypiserver at ``url`` (ending in ``/``) says it is healthy."""
    try:
        with urllib.request.urlopen(f"{url}health", timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class RunningIndex:
    """A pypiserver process this program started; a context manager that stops it."""

    url: str
    home: Path
    process: subprocess.Popen[bytes]
    credentials: Credentials = field(repr=False)

    @property
    def simple_url(self) -> str:
        return f"{self.url}simple/"

    @property
    def storage(self) -> Path:
        return self.home / "packages"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> RunningIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_index(home: Path, *, port: int = 0) -> RunningIndex:
    """Start pypiserver over ``home/packages`` on 127.0.0.1 (a free port unless ``port``).

    Returns once the server answers its health endpoint; raises :class:`IndexUnavailable` if it
    exits or stays silent, with the end of its log.
    """
    credentials = ensure_credentials(home)
    storage = home / "packages"
    storage.mkdir(parents=True, exist_ok=True)
    attempts = 1 if port else 3
    last_words = ""
    for _ in range(attempts):
        chosen = port or free_port()
        log_path = home / "server.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pypiserver",
                    "run",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(chosen),
                    "--authenticate",
                    "update",
                    "--passwords",
                    str(home / "htpasswd"),
                    "--disable-fallback",
                    "--hash-algo",
                    "sha256",
                    str(storage),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        running = RunningIndex(
            url=f"http://127.0.0.1:{chosen}/", home=home, process=process, credentials=credentials
        )
        try:
            ready = _await_ready(running)
        except BaseException:  # Ctrl-C while waiting: leave no server behind
            running.stop()
            raise
        if ready:
            return running
        running.stop()
        last_words = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-3:])
    raise IndexUnavailable(f"the embedded index in {home} did not start: {last_words}")


def _await_ready(running: RunningIndex) -> bool:
    """Poll the health endpoint until it answers, the process exits or the time is up."""
    attempts = int(READY_TIMEOUT / 0.05)
    for _ in range(attempts):
        if answers(running.url, timeout=0.5):
            return True
        try:
            running.process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        return False
    return False


def running_embedded_index(repo: Path) -> str | None:
    """The URL of an embedded index that ``nox -s index`` runs for ``repo``, if it answers."""
    state = index_home(repo) / "server.json"
    if not state.is_file():
        return None
    url = json.loads(state.read_text(encoding="utf-8")).get("url")
    return url if isinstance(url, str) and answers(url) else None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(repo: Path, port: int) -> int:
    """Run the embedded index in the foreground until Ctrl-C or SIGTERM (``nox -s index``);
    either stops the server before returning."""
    home = index_home(repo)
    # SIGTERM (what nox sends when it is itself stopped) takes the Ctrl-C path: the server stops.
    signal.signal(signal.SIGTERM, _interrupt)
    running = start_index(home, port=port)
    state = home / "server.json"
    try:
        # Everything after the start sits inside try: Ctrl-C at any point stops the server.
        payload = {"url": running.url, "pid": running.process.pid}
        state.write_text(json.dumps(payload), encoding="utf-8")
        print(f"Embedded index: {running.url}  (simple API: {running.simple_url})")
        print(f"  packages in {running.storage}; upload credentials in {home / 'credentials.json'}")
        print(f"  pip:  pip install --index-url {running.simple_url} common-utils")
        print("  Ctrl-C stops it.", flush=True)
        return running.process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        running.stop()
        state.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s index --", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="listen here (default: a free port)")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        return serve(args.repo.resolve(), args.port)
    except KeyboardInterrupt:  # before the server was up: nothing is left running
        return 130
    except CommonsToolsError as exc:
        print(f"index: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
