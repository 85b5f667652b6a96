"""The errors of the release tools, one tree, each a one-line message naming the thing at fault.

    ReleaseError
     ├── PlanError          the plan cannot be made: unknown package, malformed fragment, bad --pre
     ├── WorkTreeError      the repository is not ready: dirty work tree, existing tag
     ├── VerifyError        a built wheel does not install or import at its planned version
     ├── PackageIndexError  the package index cannot be used
     │    ├── IndexUnavailable   not configured, or does not answer
     │    ├── CredentialError    the index refused the upload credentials
     │    └── PublishConflict    a file or a planned version is on the index with other bytes
     └── PinError           a requirements.in cannot be moved or locked

The foundation's own errors (``WorkspaceError``, ``FragmentError``, ``BuildError``, ``GitError``)
stay where they are; the command-line entry points report them the same way.
"""

from __future__ import annotations


class ReleaseError(Exception):
    """Root of the release tools' errors; ``str()`` is the one line a person reads."""


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
