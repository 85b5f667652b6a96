"""The release plan: which packages release, at which versions and why, and the cascade.

The strongest pending fragment decides a package's bump (``breaking`` -> major, or minor while the
major is 0; ``feature`` -> minor; ``fix``/``security``/``deprecation``/``perf`` -> patch;
``doc``/``misc`` alone -> nothing). Then, in dependency order, every dependent whose declared range
no longer admits a dependency's new version gets the range rewritten and at least a patch release.

A rewritten range is ``>=NEW,<NEXT_BREAKING``: from the new version up to the next version that
may break, i.e. the next major (``>=1.3.0,<2``) or, while the major is 0, the next minor
(``>=0.2.0,<0.3``): the same shape the packages declare by hand.

``--pre rc|beta|alpha`` makes PEP 440 pre-releases: the bump applies to the last final version's
number and the pre-release counts up (``1.3.0rc1``, ``1.3.0rc2``; ``1.3.0b2`` -> ``1.3.0rc1``). A
package at a pre-release named with ``--package`` and without fragments is promoted (``1.3.0rc2``
-> ``1.3.0``, or to the next pre-release with ``--pre``).

A package that was never released (no entry in ``releases.toml``) releases the version its
``__about__.py`` already holds, the first time it has anything to release: the declared ranges of
its dependents were written for that version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from commons_tools.errors import PlanError, WorkspaceError
from commons_tools.fragments import Bump, Fragment, pending_fragments, strongest_bump
from commons_tools.state import ReleaseState, load_state
from commons_tools.workspace import Package, Workspace

#: ``--pre`` name -> PEP 440 pre-release letter, in release order.
PRE_KINDS = {"alpha": "a", "beta": "b", "rc": "rc"}
_PRE_ORDER = {"a": 0, "b": 1, "rc": 2}


@dataclass(frozen=True)
class RangeChange:
    """A dependent's requirement on a workspace package, before and after the cascade."""

    dependency: str
    old: Requirement
    new: Requirement

    @property
    def old_text(self) -> str:
        return requirement_text(self.old)

    @property
    def new_text(self) -> str:
        return requirement_text(self.new)


#: Lower bounds first, as people write ranges: ``>=0.1.0,<0.2``.
_OPERATOR_ORDER = {">=": 0, ">": 1, "==": 2, "===": 2, "~=": 3, "<=": 4, "<": 5, "!=": 6}


def requirement_text(requirement: Requirement) -> str:
    """A requirement as people write it: ``common-utils[x]>=0.2.0,<0.3; marker``."""
    specifiers = sorted(
        requirement.specifier, key=lambda s: (_OPERATOR_ORDER[s.operator], s.version)
    )
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    marker = f"; {requirement.marker}" if requirement.marker else ""
    return f"{requirement.name}{extras}{','.join(map(str, specifiers))}{marker}"


@dataclass(frozen=True)
class PlannedRelease:
    """One package that this run releases."""

    package: Package
    current: Version
    next: Version
    fragments: tuple[Fragment, ...]
    range_changes: tuple[RangeChange, ...]
    why: str

    @property
    def tag(self) -> str:
        return self.package.tag(self.next)


@dataclass(frozen=True)
class HeldPackage:
    """A package that this run leaves at its version, and why."""

    package: Package
    current: Version
    why: str


@dataclass(frozen=True)
class Plan:
    """Releases in dependency order, and the packages that stay where they are."""

    releases: tuple[PlannedRelease, ...]
    held: tuple[HeldPackage, ...]

    def table(self) -> str:
        """The plan as a small aligned table, one package a row."""
        rows = [("package", "current", "next", "why")]
        rows += [(r.package.dist_name, str(r.current), str(r.next), r.why) for r in self.releases]
        rows += [(h.package.dist_name, str(h.current), "-", h.why) for h in self.held]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = []
        for name, current, new, why in rows:
            arrow = "  " if new in ("next", "-") else "->"
            lines.append(
                f"{name:<{widths[0]}}  {current:>{widths[1]}} {arrow} {new:<{widths[2]}}  {why}"
            )
        lines.insert(1, "-" * min(100, max(len(line) for line in lines)))
        return "\n".join(lines)

    @property
    def commit_message(self) -> str:
        """``Release common-auth 1.3.0, common-utils 0.2.0`` (names sorted)."""
        parts = sorted(f"{r.package.dist_name} {r.next}" for r in self.releases)
        return f"Release {', '.join(parts)}"


def effective_bump(version: Version, bump: Bump) -> Bump:
    """A major bump is a minor one while the major version is 0."""
    return Bump.MINOR if bump is Bump.MAJOR and version.major == 0 else bump


def _triple(version: Version) -> tuple[int, int, int]:
    major, minor, micro = (*version.release, 0, 0)[:3]
    return major, minor, micro


def _apply(version: Version, bump: Bump) -> Version:
    major, minor, micro = _triple(version)
    if bump is Bump.MAJOR:
        return Version(f"{major + 1}.0.0")
    if bump is Bump.MINOR:
        return Version(f"{major}.{minor + 1}.0")
    if bump is Bump.PATCH:
        return Version(f"{major}.{minor}.{micro + 1}")
    return Version(f"{major}.{minor}.{micro}")


def _implied_bump(base: Version) -> Bump:
    """The bump that led to ``base`` (the final version a pre-release is heading for)."""
    major, minor, micro = _triple(base)
    if micro:
        return Bump.PATCH
    if minor or major == 0:
        return Bump.MINOR
    return Bump.MAJOR


def next_version(current: Version, bump: Bump, pre: str | None = None) -> Version:
    """The version after ``current`` for ``bump``; a pre-release of it when ``pre`` is given.

    ``bump`` may be ``Bump.NONE`` only when ``current`` is a pre-release (promotion).
    """
    if pre is not None and pre not in PRE_KINDS:
        raise PlanError(f"--pre {pre!r}: expected one of {', '.join(PRE_KINDS)}")
    letter = PRE_KINDS[pre] if pre else None
    if current.pre is None:
        if bump is Bump.NONE:
            raise PlanError(f"{current} is a final version: nothing to promote")
        target = _apply(current, effective_bump(current, bump))
        return Version(f"{target}{letter}1") if letter else target
    base = Version(current.base_version)
    wanted = effective_bump(base, bump)
    target = _apply(base, wanted) if wanted > _implied_bump(base) else base
    if letter is None:
        return target
    if target != base:
        return Version(f"{target}{letter}1")
    current_letter, number = current.pre
    if _PRE_ORDER[letter] < _PRE_ORDER[current_letter]:
        raise PlanError(f"cannot go from {current} back to --pre {pre}")
    if letter == current_letter:
        return Version(f"{base}{letter}{number + 1}")
    return Version(f"{base}{letter}1")


def first_version(current: Version, pre: str | None = None) -> Version:
    """The first release of a package at ``current``: that version (a pre-release of it with
    ``pre``)."""
    if pre is None or current.pre is not None:
        return current
    return Version(f"{current}{PRE_KINDS[pre]}1")


def compatible_range(version: Version) -> str:
    """``>=NEW,<NEXT_BREAKING`` for a dependency now at ``version``."""
    upper = f"{version.major + 1}" if version.major else f"0.{version.minor + 1}"
    return f">={version},<{upper}"


def _rewritten(requirement: Requirement, version: Version) -> Requirement:
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    marker = f"; {requirement.marker}" if requirement.marker else ""
    return Requirement(f"{requirement.name}{extras}{compatible_range(version)}{marker}")


def _describe_fragments(current: Version, fragments: Sequence[Fragment]) -> str:
    strongest = max(fragments, key=lambda f: f.bump).type
    count = f"{len(fragments)} fragment{'s' if len(fragments) != 1 else ''}"
    if strongest == "breaking" and current.major == 0:
        return f"breaking, minor while 0.x ({count})"
    return f"{strongest} ({count})"


def make_plan(
    workspace: Workspace,
    *,
    pre: str | None = None,
    only: Sequence[str] = (),
    state: ReleaseState | None = None,
) -> Plan:
    """Plan a release run over ``workspace``; ``only`` limits it to the named packages.

    Dependents pulled in by the cascade release even when ``only`` does not name them: a
    dependency that moved outside their declared range would leave them uninstallable.
    ``state`` is the workspace's ``releases.toml`` (read when not given).
    Raises :class:`PlanError` for an unknown package, a malformed fragment or a bad ``pre``.
    """
    if state is None:
        state = load_state(workspace.repo)
    if pre is not None and pre not in PRE_KINDS:
        raise PlanError(f"--pre {pre!r}: expected one of {', '.join(PRE_KINDS)}")
    try:
        selected = {workspace.get(name).dist_name for name in only}
    except WorkspaceError as exc:
        raise PlanError(str(exc)) from None
    problems = []
    pending: dict[str, list[Fragment]] = {}
    for package in workspace.packages:
        fragments, errors = pending_fragments(package)
        pending[package.dist_name] = fragments
        problems += [
            f"malformed fragment {_shown(error.path, workspace.repo)}: {error.reason}"
            for error in errors
        ]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PlanError(f"{problems[0]}{more}")

    new_versions: dict[str, Version] = {}
    releases: list[PlannedRelease] = []
    held: list[HeldPackage] = []
    for package in workspace.packages:
        current = package.version
        fragments = pending[package.dist_name]
        changes = tuple(
            RangeChange(target.dist_name, requirement, _rewritten(requirement, new_versions[name]))
            for requirement, target in workspace.internal_requirements(package)
            if (name := target.dist_name) in new_versions
            and not requirement.specifier.contains(new_versions[name], prereleases=True)
        )
        is_selected = not selected or package.dist_name in selected
        bump = strongest_bump(fragments) if is_selected or changes else Bump.NONE
        reasons = [_describe_fragments(current, fragments)] if bump else []
        if changes:
            bump = max(bump, Bump.PATCH)
            moved = ", ".join(f"{c.dependency} {new_versions[c.dependency]}" for c in changes)
            reasons.append(f"cascade: {moved} outside {'; '.join(c.old_text for c in changes)}")
        promote = bump is Bump.NONE and current.pre is not None and package.dist_name in selected
        if bump is Bump.NONE and not promote:
            held.append(HeldPackage(package, current, _why_held(fragments, is_selected)))
            continue
        if promote:
            reasons.append(f"promotes {current}")
        if state.last(package.dist_name) is None:
            reasons.insert(0, "first release")
            new = first_version(current, pre)
        else:
            new = next_version(current, bump, pre)
        new_versions[package.dist_name] = new
        releases.append(
            PlannedRelease(package, current, new, tuple(fragments), changes, "; ".join(reasons))
        )
    return Plan(tuple(releases), tuple(held))


def _shown(path: Path, repo: Path) -> str:
    """``path`` relative to the repository when it lies inside it."""
    return path.relative_to(repo).as_posix() if path.is_relative_to(repo) else str(path)


def _why_held(fragments: Sequence[Fragment], is_selected: bool) -> str:
    if not is_selected:
        return "not selected (--package)"
    if fragments:
        return f"doc/misc fragments only ({len(fragments)}): nothing to release"
    return "no pending fragments"
