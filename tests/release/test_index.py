"""The embedded index and the sha-aware publish, on small hand-made wheels."""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from commons_tools.errors import (
    CredentialError,
    IndexUnavailable,
    PackageIndexError,
    PublishConflict,
)
from commons_tools.index import Credentials, RunningIndex, answers, free_port
from commons_tools.publish import (
    check_credentials,
    publish_files,
    require_unpublished,
    upload_with_twine,
)
from commons_tools.simple_api import IndexTarget, file_sha256, project_files, project_versions

REPO = Path(__file__).resolve().parents[2]


def test_identical_files_are_skipped_and_different_bytes_refused(
    index: RunningIndex, tmp_path: Path, tiny_wheel: Callable[..., Path], index_target: IndexTarget
) -> None:
    wheel = tiny_wheel(tmp_path / "a", "demo-pkg", "1.0.0", "A = 1\n")
    target = index_target

    first = publish_files(target, [wheel], say=lambda _: None)
    second = publish_files(target, [wheel], say=lambda _: None)
    other = tiny_wheel(tmp_path / "b", "demo-pkg", "1.0.0", "A = 2\n")
    with pytest.raises(PublishConflict, match=r"demo_pkg-1\.0\.0-py3-none-any\.whl is already on"):
        publish_files(target, [other], say=lambda _: None)

    assert first.uploaded == [wheel.name]
    assert second.skipped == [wheel.name]
    assert second.uploaded == []
    assert (index.storage / wheel.name).read_bytes() == wheel.read_bytes()
    assert [str(v) for v in project_versions(target, "demo-pkg")] == ["1.0.0"]


def test_the_index_itself_never_overwrites_a_file(
    index: RunningIndex, tmp_path: Path, tiny_wheel: Callable[..., Path], index_target: IndexTarget
) -> None:
    wheel = tiny_wheel(tmp_path / "a", "demo-pkg", "1.0.0", "A = 1\n")
    other = tiny_wheel(tmp_path / "b", "demo-pkg", "1.0.0", "A = 2\n")
    publish_files(index_target, [wheel], say=lambda _: None)

    # Straight to twine, past the sha comparison: pypiserver runs without overwrite (-o).
    with pytest.raises(PackageIndexError, match=r"uploading demo_pkg-1\.0\.0-py3-none-any\.whl"):
        upload_with_twine(index_target, [other])

    assert (index.storage / wheel.name).read_bytes() == wheel.read_bytes()
    assert index.credentials.password not in (index.home / "server.log").read_text()


def test_a_planned_version_the_index_has_is_refused_whatever_its_files(
    index: RunningIndex, tmp_path: Path, tiny_wheel: Callable[..., Path], index_target: IndexTarget
) -> None:
    wheel = tiny_wheel(tmp_path, "demo-pkg", "1.0.0", "A = 1\n")
    publish_files(index_target, [wheel], say=lambda _: None)

    require_unpublished(index_target, [("demo-pkg", Version("1.0.1")), ("other", Version("1"))])
    with pytest.raises(
        PublishConflict, match=r"^demo-pkg 1\.0\.0 is already on .* \(demo_pkg-1\.0\.0-py3-none"
    ):
        require_unpublished(index_target, [("demo-pkg", Version("1.0.0"))])


def test_simple_page_links_carry_the_sha256(
    index: RunningIndex, tmp_path: Path, tiny_wheel: Callable[..., Path], index_target: IndexTarget
) -> None:
    wheel = tiny_wheel(tmp_path, "demo-pkg", "2.0.0", "B = 1\n")
    publish_files(index_target, [wheel], say=lambda _: None)

    listed = project_files(index_target, "Demo_Pkg")

    assert listed[wheel.name].sha256 is not None
    assert len(listed[wheel.name].sha256 or "") == 64


def test_a_name_the_index_lacks_is_not_redirected_to_pypi(index: RunningIndex) -> None:
    parts = urllib.parse.urlsplit(index.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.request("GET", "/simple/common-utils/")
    response = connection.getresponse()
    connection.close()

    assert response.status == 404
    assert response.getheader("Location") is None


def test_uploads_need_the_right_credentials(index: RunningIndex, index_target: IndexTarget) -> None:
    check_credentials(index_target)  # the right ones pass, and store nothing
    wrong = Credentials(index.credentials.username, "wrong")

    with pytest.raises(CredentialError, match=r"refused the upload credentials of user 'commons'"):
        check_credentials(dataclasses.replace(index_target, credentials=wrong))
    with pytest.raises(CredentialError, match="wants credentials"):
        check_credentials(IndexTarget(index.url, index.simple_url, None))
    with pytest.raises(IndexUnavailable, match=r"nowhere/ takes no uploads at that URL"):
        check_credentials(IndexTarget(f"{index.url}nowhere/", index.simple_url, wrong))
    assert list(index.storage.iterdir()) == []


def test_credentials_stay_private(index: RunningIndex, index_target: IndexTarget) -> None:
    stored = index.home / "credentials.json"

    assert stored.stat().st_mode & 0o777 == 0o600
    assert (index.home / "htpasswd").stat().st_mode & 0o777 == 0o600
    assert index.credentials.password not in repr(index)
    assert index.credentials.password not in repr(index_target)
    assert index.credentials.password not in (index.home / "htpasswd").read_text()


def test_nox_index_session_entry_point_serves_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    process = subprocess.Popen(
        [sys.executable, "-m", "commons_tools.index", "--repo", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once the server answers
        url = first.split()[2]
        state = json.loads((tmp_path / ".index" / "server.json").read_text())

        assert first.startswith("Embedded index: http://127.0.0.1:")
        assert state["url"] == url
        assert answers(url)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)  # waits, and closes the pipes
    assert not (tmp_path / ".index" / "server.json").exists()
    assert not answers(url)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_nox_index_session_stops_its_pypiserver_when_nox_is_stopped(
    stop: signal.Signals, tmp_path: Path
) -> None:
    # The issue: SIGTERM to a background `nox -s index` left pypiserver running on its port.
    port = free_port()
    nox = subprocess.Popen(
        [
            *(sys.executable, "-m", "nox", "-f", str(REPO / "noxfile.py"), "-s", "index", "--"),
            *("--repo", str(tmp_path), "--port", str(port)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the signal goes to nox alone, not to a terminal's group
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        assert nox.stdout is not None
        seen = []
        for line in nox.stdout:  # nox installs the session first; the index prints once up
            seen.append(line)
            if line.startswith("Embedded index: "):
                break
        assert answers(url), "".join(seen)
        server_pid = json.loads((tmp_path / ".index" / "server.json").read_text())["pid"]

        nox.send_signal(stop)
        nox.communicate(timeout=60)
    finally:
        if nox.poll() is None:
            os.killpg(nox.pid, signal.SIGKILL)
            nox.wait()
    assert not answers(url)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As a server binds: connections of the test itself may linger in TIME_WAIT.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # nothing listens on the port any more
        probe.listen()
    assert not _alive(server_pid)  # pypiserver itself is gone
    assert not (tmp_path / ".index" / "server.json").exists()


def test_index_from_environment_keeps_credentials_out_of_what_is_shown() -> None:
    target = IndexTarget.from_env(
        {"COMMONS_INDEX_URL": "https://ci:s3cret@pypi.internal.example/root/prod"}
    )

    assert target is not None
    assert target.upload_url == "https://pypi.internal.example/root/prod/"
    assert target.simple_url == "https://pypi.internal.example/root/prod/simple/"
    assert target.credentials == Credentials("ci", "s3cret")
    assert "s3cret" not in target.display
    assert "s3cret" not in repr(target)


def test_twine_variables_and_a_separate_simple_url_win_over_the_url() -> None:
    target = IndexTarget.from_env(
        {
            "COMMONS_INDEX_URL": "https://old:old@devpi.example/team/prod/",
            "COMMONS_INDEX_SIMPLE_URL": "https://devpi.example/team/prod/+simple",
            "TWINE_USERNAME": "team",
            "TWINE_PASSWORD": "token",
        }
    )

    assert target is not None
    assert target.simple_url == "https://devpi.example/team/prod/+simple/"
    assert target.credentials == Credentials("team", "token")
    assert IndexTarget.from_env({}) is None


def test_a_url_that_is_not_http_is_refused_without_echoing_secrets() -> None:
    with pytest.raises(IndexUnavailable, match=r"COMMONS_INDEX_URL=ftp://host/ is not an http"):
        IndexTarget.from_env({"COMMONS_INDEX_URL": "ftp://user:pw@host/"})


def test_a_pep_691_json_index_is_read_too_and_unhashed_files_are_hashed_by_download() -> None:
    sdist = b"not really a tarball, but bytes with a sha256"
    digest = "ab" * 32
    page = json.dumps(
        {
            "meta": {"api-version": "1.1"},
            "name": "common-utils",
            "files": [
                {
                    "filename": "common_utils-0.4.0-py3-none-any.whl",
                    "url": "../../files/common_utils-0.4.0-py3-none-any.whl",
                    "hashes": {"sha256": digest},
                },
                {
                    "filename": "common_utils-0.4.0.tar.gz",
                    "url": "../../files/common_utils-0.4.0.tar.gz",
                    "hashes": {},
                },
            ],
        }
    ).encode()

    class JsonIndex(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/simple/"):
                assert "application/vnd.pypi.simple.v1+json" in self.headers["Accept"]
                body, content_type = page, "application/vnd.pypi.simple.v1+json"
            else:
                body, content_type = sdist, "application/octet-stream"
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), JsonIndex)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        target = IndexTarget(base, f"{base}simple/", None)

        files = project_files(target, "common_utils")
        downloaded = file_sha256(target, files["common_utils-0.4.0.tar.gz"])
        versions = project_versions(target, "common-utils")
    finally:
        server.shutdown()
        server.server_close()

    wheel = files["common_utils-0.4.0-py3-none-any.whl"]
    assert wheel.sha256 == digest
    assert wheel.url == f"{base}files/common_utils-0.4.0-py3-none-any.whl"
    assert files["common_utils-0.4.0.tar.gz"].sha256 is None
    assert downloaded == hashlib.sha256(sdist).hexdigest()
    assert [str(v) for v in versions] == ["0.4.0"]


def test_publish_command_uploads_then_finds_everything_there(
    index: RunningIndex, tmp_path: Path, tiny_wheel: Callable[..., Path], kit: Any
) -> None:
    wheel = tiny_wheel(tmp_path / "w", "demo-pkg", "3.0.0", "C = 1\n")
    env = kit.index_env(index)

    first = kit.tool("publish", str(wheel), repo=tmp_path, env=env)
    second = kit.tool("publish", str(wheel), repo=tmp_path, env=env)
    missing = kit.tool("publish", str(tmp_path / "nope.whl"), repo=tmp_path, env=env)

    assert first.returncode == 0, first.stderr
    assert "1 uploaded, 0 already there" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "0 uploaded, 1 already there" in second.stdout
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"publish: no such file: {tmp_path / 'nope.whl'}"
