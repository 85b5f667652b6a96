"""Fixtures of the release pipeline's tests: throw-away git copies of the workspace, a real
pypiserver on a free port, a proxy that stops it mid-publish, and a runner for the tools."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from commons_tools import rehearsal
from commons_tools.git import git
from commons_tools.index import RunningIndex, start_index
from commons_tools.simple_api import IndexTarget

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools"


def _snapshot(repo: Path) -> dict[str, bytes]:
    """Every file of the work tree (outside .git) and its bytes."""
    return {
        path.relative_to(repo).as_posix(): path.read_bytes()
        for path in sorted(repo.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(repo).parts
    }


def _state(repo: Path) -> tuple[str, str, str, dict[str, bytes]]:
    """HEAD, the tags, ``git status`` and every work-tree file: what a stopped release leaves."""
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "tag"),
        git(repo, "status", "--porcelain", "--ignored"),
        _snapshot(repo),
    )


@pytest.fixture(scope="session")
def committed_tree() -> bytes:
    return rehearsal.committed_tree(REPO)


@pytest.fixture
def make_repo(tmp_path: Path, committed_tree: bytes) -> Callable[..., Path]:
    """``make_repo(name="repo", fragments={...}, released=True)``: a git repository holding the
    workspace, all packages at 0.1.0 with the committed ranges and, with ``released``, tagged as
    released at 0.1.0; no pending fragments but the given ones
    (``{"common-utils": {"+x.breaking.md": "text"}}``), committed after the tags."""

    def make(
        name: str = "repo",
        fragments: dict[str, dict[str, str]] | None = None,
        *,
        released: bool = True,
    ) -> Path:
        return rehearsal.make_rehearsal(
            committed_tree, tmp_path / name, fragments=fragments, released=released
        )

    return make


def _tiny_wheel(
    folder: Path, name: str, version: str, payload: str, requires: tuple[str, ...] = ()
) -> Path:
    """A minimal valid wheel of ``name`` ``version`` whose module holds ``payload``."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{stem}-py3-none-any.whl"
    info = f"{stem}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{name.replace('-', '_')}.py", payload)
        requirements = "".join(f"Requires-Dist: {r}\n" for r in requires)
        wheel.writestr(
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requirements}",
        )
        wheel.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def tiny_wheel() -> Callable[..., Path]:
    """``tiny_wheel(folder, name, version, payload, requires=())``: a minimal valid wheel, made in
    milliseconds where a test needs files on the index but not a real build."""
    return _tiny_wheel


@pytest.fixture
def index(tmp_path: Path) -> Iterator[RunningIndex]:
    """A real pypiserver (upload auth, no overwrite, no fallback) on a free 127.0.0.1 port."""
    with start_index(tmp_path / "index-home") as running:
        yield running


@pytest.fixture
def index_target(index: RunningIndex) -> IndexTarget:
    """The ``index`` fixture as the tools address it, with its upload credentials."""
    return IndexTarget(index.url, index.simple_url, index.credentials)


def index_env(running: RunningIndex | None, url: str | None = None) -> dict[str, str]:
    """The environment that points the tools at ``running`` (or at ``url``) with credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "COMMONS_INDEX"))}
    env["PYTHONPATH"] = str(TOOLS)
    if running is not None:
        env["COMMONS_INDEX_URL"] = url or running.url
        env["TWINE_USERNAME"] = running.credentials.username
        env["TWINE_PASSWORD"] = running.credentials.password
    elif url is not None:
        env["COMMONS_INDEX_URL"] = url
    return env


@pytest.fixture(name="git")
def git_fixture() -> Callable[..., str]:
    """``git(repo, *args)``: run git in a repository, return its output, fail on an error."""
    return git


@pytest.fixture(name="index_env")
def index_env_fixture() -> Callable[..., dict[str, str]]:
    """``index_env(running, url=None)``: an environment pointing the tools at an index."""
    return index_env


@dataclass
class ToolResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def tool() -> Callable[..., ToolResult]:
    """``tool("release", "--dry-run", repo=repo, env=...)``: run ``python -m commons_tools.X``."""

    def run(module: str, *args: str, repo: Path, env: dict[str, str] | None = None) -> ToolResult:
        result = subprocess.run(
            [sys.executable, "-m", f"commons_tools.{module}", *args],
            cwd=repo,
            env=env or index_env(None),
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        return ToolResult(result.returncode, result.stdout, result.stderr)

    return run


@dataclass
class ReleaseKit:
    """The usual fixtures of a release test in one: repositories, the tools, git, environments."""

    make_repo: Callable[..., Path]
    tool: Callable[..., ToolResult]
    git: Callable[..., str]
    index_env: Callable[..., dict[str, str]]
    state: Callable[[Path], tuple[str, str, str, dict[str, bytes]]]


@pytest.fixture
def kit(make_repo: Callable[..., Path], tool: Callable[..., ToolResult]) -> ReleaseKit:
    return ReleaseKit(make_repo=make_repo, tool=tool, git=git, index_env=index_env, state=_state)


class _Forwarder(BaseHTTPRequestHandler):
    """Forwards every request to the upstream index; stops the index after N uploads."""

    server: StoppingProxy

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return

    def _forward(self) -> None:
        proxy = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upload = self.command == "POST" and body is not None and b'name="content"' in body
        if upload and proxy.before:
            with proxy.lock:
                proxy.attempts += 1
                if proxy.attempts == proxy.stop_after:
                    # Stopped as this upload arrives: it never reaches the index.
                    proxy.upstream.stop()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        request = urllib.request.Request(  # noqa: S310
            f"{proxy.upstream.url.rstrip('/')}{self.path}",
            data=body,
            headers=headers,
            method=self.command,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, reply, content_type = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, reply, content_type = exc.code, exc.read(), exc.headers
        except (urllib.error.URLError, OSError):
            status, reply, content_type = 502, b"upstream index stopped", None
        if upload and not proxy.before and status == 200:
            with proxy.lock:
                proxy.uploads += 1
                if proxy.uploads == proxy.stop_after:
                    # Stopped before the client hears back: no later request can reach it.
                    proxy.upstream.stop()
        self.send_response(status)
        if content_type is not None and content_type.get("Content-Type"):
            self.send_header("Content-Type", content_type["Content-Type"])
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()


class StoppingProxy(ThreadingHTTPServer):
    """A loopback proxy in front of a real index that stops that index after ``stop_after``
    successful uploads (0: never), and counts the uploads it forwarded; with ``before``, it stops
    the index as upload number ``stop_after`` arrives, so that upload never lands."""

    def __init__(self, upstream: RunningIndex, stop_after: int, *, before: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Forwarder)
        self.upstream = upstream
        self.stop_after = stop_after
        self.before = before
        self.attempts = 0
        self.uploads = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


@pytest.fixture
def stopping_proxy() -> Iterator[Callable[..., StoppingProxy]]:
    """``stopping_proxy(index, n, before=False)``: a running :class:`StoppingProxy` (stopped
    after the test)."""
    started: list[StoppingProxy] = []

    def start(upstream: RunningIndex, stop_after: int, *, before: bool = False) -> StoppingProxy:
        proxy = StoppingProxy(upstream, stop_after, before=before)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.shutdown()
        proxy.server_close()
