"""Publishing to an index: ask what it has, skip what is there, never replace, upload the rest.

Before each upload the index's simple page says what it has for the project. A file of the same
name and sha256 is skipped; the same name with other bytes is a :class:`PublishConflict` (a
published file is never replaced, whatever the index would allow); everything else is uploaded
with twine and then looked up again. A re-run after a half-failed publish therefore uploads exactly
what is missing. Credentials reach twine through its environment, never its command line, and are
scrubbed from anything twine says before it is shown.

``python -m commons_tools.publish FILE ...`` publishes files by hand, to the index the environment
names or else to the embedded one.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from commons_tools.errors import (
    CommonsToolsError,
    CredentialError,
    IndexUnavailable,
    PackageIndexError,
    PublishConflict,
    describe_os_error,
)
from commons_tools.index import ensure_credentials, index_home, running_embedded_index, start_index
from commons_tools.simple_api import (
    URL_VARIABLE,
    IndexFile,
    IndexTarget,
    check_reachable,
    file_sha256,
    file_version,
    index_request,
    no_answer,
    project_files,
)


@dataclass
class PublishReport:
    """What a publish did, by file name."""

    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def project_of(path: Path) -> str:
    """The normalized project name a wheel or sdist file belongs to."""
    if path.name.endswith(".whl"):
        return canonicalize_name(parse_wheel_filename(path.name)[0])
    return canonicalize_name(parse_sdist_filename(path.name)[0])


@contextmanager
def release_index(repo: Path, *, say: Callable[[str], None] = print) -> Iterator[IndexTarget]:
    """The index a release publishes to: the environment's, else the embedded one.

    When ``COMMONS_INDEX_URL`` is unset, a running ``nox -s index`` is used; if none runs, the
    embedded index is started over the same storage for as long as the block lasts.
    """
    configured = IndexTarget.from_env()
    if configured is not None:
        yield configured
        return
    home = index_home(repo)
    running_url = running_embedded_index(repo)
    if running_url is not None:
        yield IndexTarget(running_url, f"{running_url}simple/", ensure_credentials(home))
        return
    with start_index(home) as started:
        say(f"No COMMONS_INDEX_URL: started the embedded index at {started.url} for this run.")
        yield IndexTarget(started.url, started.simple_url, started.credentials)


def check_credentials(target: IndexTarget) -> None:
    """Ask the index whether it takes our upload credentials, without uploading anything.

    An upload request without a file is refused with 401/403 when the credentials are wrong and
    with 400 (no file) when they are right; nothing is ever stored. 404/405 say that nothing takes
    uploads at that URL, 5xx that the index is failing: both are :class:`IndexUnavailable`, so a
    wrong ``COMMONS_INDEX_URL`` stops a release before it writes anything.
    """
    request = index_request(target, target.upload_url, accept="*/*")
    request.data = (
        b'--x\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n--x--\r\n'
    )
    request.add_header("Content-Type", "multipart/form-data; boundary=x")
    request.method = "POST"
    try:
        with urllib.request.urlopen(request, timeout=30):  # noqa: S310
            return
    except urllib.error.HTTPError as exc:
        exc.close()  # the error carries the open response
        if exc.code in (401, 403):
            raise _credential_error(target, exc.code) from None
        if exc.code in (404, 405):
            raise IndexUnavailable(
                f"the index {target.display} takes no uploads at that URL (HTTP {exc.code}): "
                f"{URL_VARIABLE} must be its upload URL"
            ) from None
        if exc.code >= 500:
            raise IndexUnavailable(
                f"the index {target.display} fails (HTTP {exc.code} to an upload check)"
            ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise no_answer(target.upload_url, exc) from None


def require_unpublished(target: IndexTarget, versions: Sequence[tuple[str, Version]]) -> None:
    """Refuse a planned ``(project, version)`` that the index already has files of.

    Asked before a release writes anything: its build would be new bytes under a published
    version, which is never replaced, so the run would end committed and tagged but unpublishable.
    """
    for project, version in versions:
        there = sorted(
            name for name in project_files(target, project) if file_version(name) == version
        )
        if there:
            raise PublishConflict(
                f"{project} {version} is already on {target.display} ({', '.join(there)}) but not "
                "recorded in releases.toml here: a published version is never replaced; pull the "
                "release commit of the clone that released it, or release a later version"
            )


def _credential_error(target: IndexTarget, status: int) -> CredentialError:
    if target.credentials is None:
        return CredentialError(
            f"the index {target.display} wants credentials for uploads (HTTP {status}): "
            "set TWINE_USERNAME and TWINE_PASSWORD"
        )
    return CredentialError(
        f"the index {target.display} refused the upload credentials of user "
        f"{target.credentials.username!r} (HTTP {status}): check TWINE_USERNAME / TWINE_PASSWORD"
    )


def publish_files(
    target: IndexTarget, files: Sequence[Path], *, say: Callable[[str], None] = print
) -> PublishReport:
    """Publish ``files`` to ``target`` as the module docstring says.

    Every file is compared with the index before anything is uploaded, so a conflict refuses the
    whole publish; the missing files then go up in one twine run (twine sends every wheel before
    any sdist, each kind in the order given: dependencies first), and are looked up again
    afterwards.
    """
    check_reachable(target)
    report = PublishReport()
    missing = _compare(target, files, report, say)
    if missing:
        _upload_missing(target, missing, report, say)
    return report


def _compare(
    target: IndexTarget, files: Sequence[Path], report: PublishReport, say: Callable[[str], None]
) -> list[tuple[Path, str]]:
    """Skip the files the index has with the same sha256, refuse other bytes; the rest, with
    their sha256."""
    listings: dict[str, dict[str, IndexFile]] = {}
    missing: list[tuple[Path, str]] = []
    for path in files:
        project = project_of(path)
        if project not in listings:
            listings[project] = project_files(target, project)
        local = sha256_of(path)
        listed = listings[project].get(path.name)
        if listed is None:
            missing.append((path, local))
            continue
        _same_or_conflict(target, path, local, file_sha256(target, listed))
        report.skipped.append(path.name)
        say(f"  skip    {path.name} (already on the index, same sha256)")
    return missing


def _upload_missing(
    target: IndexTarget,
    missing: Sequence[tuple[Path, str]],
    report: PublishReport,
    say: Callable[[str], None],
) -> None:
    """Upload per package, stopping at the first failure; report and check what arrived."""
    by_project: dict[str, list[Path]] = {}
    for path, _ in missing:
        by_project.setdefault(project_of(path), []).append(path)
    failure: PackageIndexError | None = None
    try:
        # One twine run for every file (it stops at the first failure): one start of twine
        # instead of one per package.
        upload_with_twine(target, [path for paths in by_project.values() for path in paths])
    except PackageIndexError as exc:
        failure = exc
    try:
        # What arrived (all, or some before an error) is reported as uploaded, and checked.
        listings = {project: project_files(target, project) for project in by_project}
    except PackageIndexError:
        if failure is None:
            raise
        raise failure from None
    for path, local in missing:
        listed = listings[project_of(path)].get(path.name)
        if listed is not None:
            _same_or_conflict(target, path, local, file_sha256(target, listed))
            report.uploaded.append(path.name)
            say(f"  upload  {path.name}  sha256={local[:16]}")
    if failure is not None:
        raise failure
    absent = [path.name for path, _ in missing if path.name not in report.uploaded]
    if absent:
        raise PackageIndexError(
            f"twine reported success but {target.display} does not list {', '.join(absent)}"
        )


def _same_or_conflict(target: IndexTarget, path: Path, local: str, remote: str) -> None:
    if remote != local:
        raise PublishConflict(
            f"{path.name} is already on {target.display} with other content (sha256 "
            f"{remote[:16]} there, {local[:16]} here); a published file is never replaced: "
            "release a new version instead"
        )


def upload_with_twine(target: IndexTarget, paths: Sequence[Path]) -> None:
    """``twine upload`` the files in order, asking nothing first (:func:`publish_files` does);
    the credentials travel in twine's environment only."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TWINE_")}
    env["TWINE_NON_INTERACTIVE"] = "1"
    # No keyring look-ups: the credentials are the ones given, or none.
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    secret = ""
    if target.credentials is not None:
        env["TWINE_USERNAME"] = target.credentials.username
        env["TWINE_PASSWORD"] = target.credentials.password
        secret = target.credentials.password
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "twine",
            "--no-color",
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            target.upload_url,
            *map(str, paths),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        return
    said = result.stdout + result.stderr
    if secret:
        said = said.replace(secret, "***")
    for status in (401, 403):
        if f"{status} " in said:
            raise _credential_error(target, status)
    lines = [line.strip() for line in said.strip().splitlines() if line.strip()]
    # twine says "Uploading <file>" before each file and stops at the first that fails.
    started = [line.split()[-1] for line in lines if line.startswith("Uploading ")]
    failed = started[-1] if started else ", ".join(path.name for path in paths)
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    detail = errors[-1] if errors else " ".join(lines[-2:])
    raise PackageIndexError(f"uploading {failed} to {target.display} failed: {detail}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m commons_tools.publish", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, help="wheels and sdists to publish")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        print(f"publish: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        with release_index(args.repo.resolve()) as target:
            print(f"Publishing to {target.display}")
            report = publish_files(target, args.files)
    except CommonsToolsError as exc:
        print(f"publish: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"publish: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    print(f"{len(report.uploaded)} uploaded, {len(report.skipped)} already there")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
