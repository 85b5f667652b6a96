"""Where the package index is, and what it holds: the PEP 503/691 simple API, read-only.

The index comes from the environment: ``COMMONS_INDEX_URL`` is its upload URL (for pypiserver, its
root), ``COMMONS_INDEX_SIMPLE_URL`` its simple API when that is not ``<upload URL>simple/``, and the
credentials are the usual twine variables ``TWINE_USERNAME`` / ``TWINE_PASSWORD`` (or user info in
the URL). No URL shown to a person ever carries a password.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from commons_tools.errors import IndexUnavailable
from commons_tools.index import Credentials

URL_VARIABLE = "COMMONS_INDEX_URL"
SIMPLE_URL_VARIABLE = "COMMONS_INDEX_SIMPLE_URL"
#: PEP 691 JSON first, PEP 503 HTML (all pypiserver speaks) as the fallback.
ACCEPT = ", ".join(
    (
        "application/vnd.pypi.simple.v1+json",
        "application/vnd.pypi.simple.v1+html;q=0.2",
        "text/html;q=0.1",
    )
)
TIMEOUT = 30.0


@dataclass(frozen=True)
class IndexTarget:
    """An index to publish to and read from; ``repr()`` and ``display`` never show the password."""

    upload_url: str
    simple_url: str
    credentials: Credentials | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        return redact(self.upload_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IndexTarget | None:
        """The index the environment names, or None when ``COMMONS_INDEX_URL`` is unset."""
        env = os.environ if env is None else env
        raw = env.get(URL_VARIABLE, "").strip()
        if not raw:
            return None
        parts = urllib.parse.urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise IndexUnavailable(f"{URL_VARIABLE}={redact(raw)} is not an http(s) URL")
        username = env.get("TWINE_USERNAME") or urllib.parse.unquote(parts.username or "")
        password = env.get("TWINE_PASSWORD") or urllib.parse.unquote(parts.password or "")
        bare = _without_userinfo(raw)
        upload = bare if bare.endswith("/") else f"{bare}/"
        simple = env.get(SIMPLE_URL_VARIABLE, "").strip() or f"{upload}simple/"
        credentials = Credentials(username, password) if username and password else None
        return cls(
            upload_url=upload,
            simple_url=simple if simple.endswith("/") else f"{simple}/",
            credentials=credentials,
        )


def redact(url: str) -> str:
    """``url`` without any user or password in it."""
    return _without_userinfo(url)


def _without_userinfo(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def index_request(target: IndexTarget, url: str, *, accept: str = ACCEPT) -> urllib.request.Request:
    """A GET of ``url`` carrying the target's credentials (if any) as HTTP basic auth."""
    request = urllib.request.Request(url, headers={"Accept": accept})  # noqa: S310
    if target.credentials is not None:
        pair = f"{target.credentials.username}:{target.credentials.password}".encode()
        request.add_header("Authorization", f"Basic {base64.b64encode(pair).decode()}")
    return request


def no_answer(url: str, exc: OSError) -> IndexUnavailable:
    """The error of an index that did not answer at ``url`` (shown without credentials)."""
    reason = getattr(exc, "reason", exc)
    return IndexUnavailable(f"the index {redact(url)} does not answer ({reason})")


def check_reachable(target: IndexTarget) -> None:
    """Raise :class:`IndexUnavailable` naming the index unless its simple API answers."""
    try:
        with urllib.request.urlopen(index_request(target, target.simple_url), timeout=TIMEOUT):  # noqa: S310
            return
    except urllib.error.HTTPError as exc:
        exc.close()  # the error carries the open response
        raise IndexUnavailable(
            f"the index {redact(target.simple_url)} answered HTTP {exc.code}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise no_answer(target.simple_url, exc) from None


class _Links(HTMLParser):
    """The ``<a href>`` links of a PEP 503 page, with their text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


@dataclass(frozen=True)
class IndexFile:
    """One file the index lists for a project: its name, sha256 (if given) and where it is."""

    filename: str
    sha256: str | None
    url: str


def project_files(target: IndexTarget, project: str) -> dict[str, IndexFile]:
    """Every file the index has for ``project`` by file name (empty when it has none)."""
    page = f"{target.simple_url}{canonicalize_name(project)}/"
    try:
        with urllib.request.urlopen(index_request(target, page), timeout=TIMEOUT) as response:  # noqa: S310
            body = response.read()
            content_type = response.headers.get("Content-Type", "")
            final_url = response.geturl()
    except urllib.error.HTTPError as exc:
        exc.close()  # the error carries the open response
        if exc.code == 404:
            return {}
        raise IndexUnavailable(f"the index page {redact(page)} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise no_answer(page, exc) from None
    files: dict[str, IndexFile] = {}
    if "json" in content_type:
        for entry in json.loads(body)["files"]:
            url = urllib.parse.urljoin(final_url, entry["url"])
            sha = entry.get("hashes", {}).get("sha256")
            files[entry["filename"]] = IndexFile(entry["filename"], sha, url)
        return files
    parser = _Links()
    parser.feed(body.decode("utf-8", errors="replace"))
    for href, text in parser.links:
        url = urllib.parse.urljoin(final_url, href)
        path, _, fragment = url.partition("#")
        name = urllib.parse.unquote(path.rsplit("/", 1)[-1]) or text
        algorithm, _, digest = fragment.partition("=")
        files[name] = IndexFile(name, digest if algorithm == "sha256" else None, path)
    return files


def file_sha256(target: IndexTarget, entry: IndexFile) -> str:
    """The sha256 of a listed file: from the link when given, else by downloading it."""
    if entry.sha256:
        return entry.sha256
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(  # noqa: S310
            index_request(target, entry.url, accept="*/*"), timeout=TIMEOUT
        ) as response:
            while chunk := response.read(1 << 16):
                digest.update(chunk)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise IndexUnavailable(f"cannot download {redact(entry.url)} ({reason})") from None
    return digest.hexdigest()


def file_version(filename: str) -> Version | None:
    """The version a wheel or sdist file name carries; None for any other name."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename):
        pass
    return None


def project_versions(target: IndexTarget, project: str) -> list[Version]:
    """The versions the index has files of for ``project``, oldest first."""
    found = (file_version(name) for name in project_files(target, project))
    return sorted({version for version in found if version is not None})
