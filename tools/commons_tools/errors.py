"""The errors of the repository's tools: one tree, each a one-line message naming the thing.

CommonsToolsError          the root: every main() catches it and prints its one line
 ├── WorkspaceError        the repository does not have the shape the tools expect
 ├── GitError              a git command failed
 ├── FragmentError         a malformed news fragment (names the file)
 ├── StateError            releases.toml cannot be read, or disagrees with the work tree
 ├── BuildError            a package did not build, or twine check refused it
 ├── TraceError            the trace receiver cannot start, or a body it was sent is not OTLP
 └── ReleaseError          a release step failed
      ├── PlanError          the plan cannot be made: unknown package, malformed fragment, bad --pre
      ├── WorkTreeError      the repository is not ready: dirty work tree, version released before
      ├── VerifyError        a built wheel does not install or import at its planned version
      ├── PackageIndexError  the package index cannot be used
      │    ├── IndexUnavailable   not configured, or does not answer
      │    ├── CredentialError    the index refused the upload credentials
      │    └── PublishConflict    a file or a planned version is on the index with other bytes
      └── PinError           a requirements.in cannot be moved or locked
"""

from __future__ import annotations

from pathlib import Path


class CommonsToolsError(Exception):
    """Root of the tools' errors; ``str()`` is the one line a person reads."""


class WorkspaceError(CommonsToolsError):
    """The repository does not have the shape the tools expect; the message names the file."""


class GitError(CommonsToolsError):
    """A git command failed; the message carries the command and what git said."""


class FragmentError(CommonsToolsError):
    """A malformed fragment; ``str()`` names the file and what is wrong with it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class StateError(CommonsToolsError):
    """The release state file (``releases.toml``) cannot be read or disagrees with the packages."""


class BuildError(CommonsToolsError):
    """A package did not build; the message names it and carries the backend's last words."""


class TraceError(CommonsToolsError):
    """The trace receiver cannot listen, or an export request it got cannot be decoded."""


class ReleaseError(CommonsToolsError):
    """A step of the release run failed."""


class PlanError(ReleaseError):
    """The release plan cannot be made from what the workspace holds."""


class WorkTreeError(ReleaseError):
    """The repository is not in a state a release may start from."""


class VerifyError(ReleaseError):
    """A freshly built wheel does not install, import or carry its planned version."""


class PackageIndexError(ReleaseError):
    """The package index cannot be used."""


class IndexUnavailable(PackageIndexError):
    """No index is configured, or the configured one does not answer."""


class CredentialError(PackageIndexError):
    """The index refused the upload credentials (HTTP 401/403)."""


class PublishConflict(PackageIndexError):
    """A file of the same name, or any file of a version about to be released, is already on the
    index with different content."""


class PinError(ReleaseError):
    """A service's requirements.in cannot be moved to the released versions or locked."""


def describe_os_error(exc: OSError) -> str:
    """An operating-system error as one line naming the file it concerns."""
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason
