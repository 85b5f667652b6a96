"""A release history as a property: long random sequences of release runs stay correct.

Hypothesis plays a history of at least thirty runs of the real ``python -m commons_tools.release``
in a throw-away git copy of the workspace, publishing to a real pypiserver on 127.0.0.1: news
fragments of every type in any package, ``--package``, ``--pre`` and promotion, cascades,
``--no-publish`` and a later publishing run, a publish cut off (the index stopped before the run,
before an upload or right after one) and the re-run with the index back, and a fresh clone (with
or without its tags) that carries on. After every run it checks what a release promises:

- versions only grow (PEP 440), and a run releases exactly what its fragments, ``--package`` and
  the cascade ask for, at pre-releases exactly when ``--pre`` was given;
- every dependent's declared range admits the released version of each of its dependencies;
- each fragment's text is in no changelog while pending and exactly once, in its own package's
  CHANGELOG.md, once released; the root CHANGELOG.md lists each release once;
- the release state file, the tags, each ``__about__.py`` and the index agree; after a publishing
  run the index holds every recorded release, and every wheel there finds the versions of our
  packages it requires;
- a file name on the index never changes its bytes, and rebuilding a recorded release from the
  tree and epoch the state file gives it (``git archive``, ``python -m build``) gives
  byte-identical files;
- a failed run is one line on stderr, never a traceback, and leaves a clean work tree.

Profiles (``--release-history=quick|long``, or ``COMMONS_RELEASE_HISTORY``): ``quick`` runs in CI,
``long`` plays more and longer histories and rebuilds every recorded release. A failure prints the
numbered steps and writes them as JSON; ``--release-history-replay=FILE`` plays exactly those steps
again (see the README's testing notes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, currently_in_test_context, given, note, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from commons_tools import rehearsal
from commons_tools.index import RunningIndex, start_index

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools"

#: The packages in dependency order, their modules, folders and the packages each depends on.
CLIENTS = ("notifications", "orders", "users")  # each service's generated client, a package
PACKAGES = (
    "common-utils",
    "common-auth",
    "common-clients",
    *(f"common-clients-{service}" for service in CLIENTS),
)
MODULES = {package: package.replace("-", "_") for package in PACKAGES}
FOLDERS = {
    **{p: Path("packages") / MODULES[p] for p in PACKAGES[:3]},
    **{f"common-clients-{s}": Path("packages/common_clients/clients") / s for s in CLIENTS},
}
DEPENDS = {
    "common-utils": (),
    "common-auth": ("common-utils",),
    "common-clients": ("common-utils",),
    **{f"common-clients-{service}": ("common-clients",) for service in CLIENTS},
}
#: Fragment type -> how far it moves a version (0: nothing on its own).
BUMPS = {
    "breaking": 3,
    "feature": 2,
    "fix": 1,
    "security": 1,
    "deprecation": 1,
    "perf": 1,
    "doc": 0,
    "misc": 0,
}
PRE_ORDER = {"a": 0, "b": 1, "rc": 2}
PRE_LETTER = {"alpha": "a", "beta": "b", "rc": "rc"}
#: The release state file at the root: ``[[release]]`` entries of package, version, source (the
#: commit the run started from, the release commit's parent), tree (the package folder's tree id
#: as released) and epoch (SOURCE_DATE_EPOCH of the build).
STATE_FILE = "releases.toml"
LEGIT_REFUSAL = re.compile(r"cannot go from (\S+) back to --pre (\w+)")


@dataclass(frozen=True)
class Profile:
    """How much history to play: ``examples`` histories of ``steps`` release runs each; one
    recorded release rebuilt after every ``rebuild_every`` steps, and with ``rebuild_all`` every
    release not rebuilt yet at the end of each history."""

    examples: int
    steps: int
    rebuild_every: int
    rebuild_all: bool


#: quick (CI): hypothesis's first history, its simplest choices turned by the step number (every
#: kind of step in turn, the same history each time), and two random ones. long: that one and
#: seven random ones, twice as long, every release rebuilt.
PROFILES = {
    "quick": Profile(examples=3, steps=30, rebuild_every=3, rebuild_all=False),
    "long": Profile(examples=8, steps=60, rebuild_every=1, rebuild_all=True),
}


# -- the steps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a history: some news fragments committed, then one release run.

    ``kind`` says what else happens around the run: ``release`` (nothing else), ``promote`` (a
    ``--package`` run meant to promote a pre-release), ``cut`` (the index stops: ``down`` before the
    run, ``before`` upload number ``cut_at``, or ``after`` it), ``rerun`` (the stopped index comes
    back first), ``clone`` (the history carries on in a fresh clone, with or without its tags).
    ``rebuild`` picks the recorded release rebuilt after the step, when the profile rebuilds then.
    """

    kind: str
    fragments: tuple[tuple[str, str], ...] = ()
    packages: tuple[str, ...] = ()
    pre: str | None = None
    publish: bool = True
    cut: str | None = None
    cut_at: int = 0
    keep_tags: bool = True
    rebuild: int = 0

    def arguments(self) -> list[str]:
        args = [f"--package={name}" for name in self.packages]
        if self.pre:
            args.append(f"--pre={self.pre}")
        if not self.publish:
            args.append("--no-publish")
        return args

    def __str__(self) -> str:
        parts = [self.kind]
        if self.kind == "cut":
            parts.append(f"{self.cut}" + (f" upload {self.cut_at}" if self.cut_at else ""))
        if self.kind == "clone":
            parts.append("keeping its tags" if self.keep_tags else "tags deleted")
        if self.fragments:
            parts.append("fragments " + ", ".join(f"{p}:{t}" for p, t in self.fragments))
        parts.append("release " + " ".join(self.arguments()) if self.arguments() else "release")
        return "; ".join(parts)


@dataclass(frozen=True)
class View:
    """What the step strategy may know of the history so far."""

    at_pre: tuple[str, ...]
    index_up: bool


def _turn(draw: Any, options: Sequence[Any], number: int) -> Any:
    """One of ``options``, counted on from the step number: hypothesis tries the simplest choices
    first, and turning them by the step number makes that first history a varied one too (each
    kind, package, type and option in turn) rather than thirty runs of one step."""
    return options[(draw(st.integers(0, len(options) - 1)) + number) % len(options)]


@st.composite
def steps(draw: Any, number: int, view: View) -> Step:
    """The strategy of step ``number`` of a history in the state ``view`` describes."""
    kinds = ["release", "release", "cut", "release", "promote", "release", "clone"]
    if not view.at_pre:
        kinds.remove("promote")
    if not view.index_up:
        kinds = ["rerun", "release", "rerun", "clone"]
    kind = _turn(draw, kinds, number)
    count = _turn(draw, (1, 2, 0, 1, 3), number) if kind not in ("rerun", "promote") else 0
    fragments = tuple(
        (
            _turn(draw, PACKAGES, number + 2 * i),
            _turn(draw, tuple(BUMPS), 3 * number + i),
        )
        for i in range(count)
    )
    rebuild = draw(st.integers(0, 50))
    if kind == "rerun":
        return Step(kind, rebuild=rebuild)
    if kind == "promote":
        package = _turn(draw, view.at_pre, number)
        pre = _turn(draw, (None, None, "rc"), number)
        return Step(
            kind, packages=(package,), pre=pre, publish=draw(st.booleans()), rebuild=rebuild
        )
    selections: list[tuple[str, ...]] = [(), ()]
    selections += [(p,) for p in PACKAGES]
    selections += [(PACKAGES[0], PACKAGES[2]), (PACKAGES[1],)]
    packages = _turn(draw, selections, number // 2)
    pre = _turn(draw, (None, "rc", None, "beta", None, "alpha"), number // 3)
    if kind == "cut":
        cut = _turn(draw, ("after", "before", "down"), number // 4)
        cut_at = 0 if cut == "down" else _turn(draw, (1, 2, 3, 4), number)
        return Step(kind, fragments, packages, pre, True, cut, cut_at, rebuild=rebuild)
    publish = _turn(draw, (True, False, True), number) if kind == "release" else True
    keep_tags = _turn(draw, (True, False), number // 7) if kind == "clone" else True
    return Step(kind, fragments, packages, pre, publish, keep_tags=keep_tags, rebuild=rebuild)


def tool_environment() -> dict[str, str]:
    """The environment of a tools run: no index settings of the caller's, the tools importable,
    and this venv's bin first on PATH, so that builds take uv (and its one shared cache) as their
    installer, as under nox."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "COMMONS_INDEX"))}
    env["PYTHONPATH"] = str(TOOLS)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


# -- reading the repository, independently of the tools --------------------------------------

_VERSION_LINE = re.compile(r'^__version__\s*=\s*"(?P<version>[^"]+)"\s*$', re.MULTILINE)


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {repo}: {result.stderr.strip()}")
    return result.stdout.strip()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def about_version(repo: Path, package: str) -> Version:
    module = MODULES[package]
    text = (repo / FOLDERS[package] / "src" / module / "__about__.py").read_text("utf-8")
    match = _VERSION_LINE.search(text)
    assert match is not None, f"{package}: no __version__ line"
    return Version(match["version"])


def declared_ranges(repo: Path, package: str) -> dict[str, Requirement]:
    """The requirements of ``package`` (at the work tree) on the other packages."""
    pyproject = repo / FOLDERS[package] / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    found: dict[str, Requirement] = {}
    for text in project.get("dependencies", []):
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name in PACKAGES:
            found[name] = requirement
    return found


def tags_of(repo: Path) -> dict[str, str]:
    """Every tag and the commit it names."""
    listing = git(
        repo, "for-each-ref", "refs/tags", "--format=%(refname:short) %(*objectname) %(objectname)"
    )
    tags = {}
    for line in listing.splitlines():
        name, *ids = line.split()
        tags[name] = ids[0]  # the peeled commit of an annotated tag comes first
    return tags


def artifact_names(package: str, version: Version) -> tuple[str, str]:
    stem = f"{MODULES[package]}-{version}"
    return (f"{stem}-py3-none-any.whl", f"{stem}.tar.gz")


def parse_artifact(name: str) -> tuple[str, Version]:
    if name.endswith(".whl"):
        dist, version, *_ = parse_wheel_filename(name)
    else:
        dist, version = parse_sdist_filename(name)
    return canonicalize_name(dist), version


def wheel_requirements(path: Path) -> list[Requirement]:
    with zipfile.ZipFile(path) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode("utf-8")
    return [
        Requirement(line.removeprefix("Requires-Dist:").strip())
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    ]


# -- the history -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One release the history made (or started from): what, and the commit that holds it."""

    package: str
    version: Version
    commit: str

    @property
    def tag(self) -> str:
        return f"{self.package}-v{self.version}"

    @property
    def files(self) -> tuple[str, str]:
        return artifact_names(self.package, self.version)


@dataclass
class Fragment:
    token: str
    package: str
    type: str
    filename: str
    text: str


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Snapshot:
    """The repository just before a release run."""

    head: str
    versions: dict[str, Version]
    ranges: dict[str, dict[str, Requirement]]
    pending: dict[str, list[Fragment]]
    index_up: bool


class HistoryFailure(AssertionError):
    """A promise of the release pipeline broken at a step; the message has every step so far."""


class History:
    """The repository, the index, and the model of what must be true of them."""

    def __init__(
        self, tree: bytes, folder: Path, stopping_proxy: Callable[..., Any], profile: Profile
    ) -> None:
        self.folder = folder
        self.profile = profile
        self.stopping_proxy = stopping_proxy
        self.repo = rehearsal.make_rehearsal(tree, folder / "repo", released=True)
        self._as_the_workspace_has_it(tree)
        self.home = folder / "index"
        self.index: RunningIndex = start_index(self.home)
        self.clones = 0
        self.log: list[str] = []
        self.steps: list[Step] = []
        self.fragments: dict[str, Fragment] = {}
        self.counter = itertools.count(1)
        tags = tags_of(self.repo)
        self.records: list[Record] = [
            Record(p, about_version(self.repo, p), tags[f"{p}-v{about_version(self.repo, p)}"])
            for p in PACKAGES
        ]
        #: Tags that must exist: those of the releases made (or kept) in this clone.
        self.expected_tags = {r.tag for r in self.records}
        #: File name -> sha256, as first built or seen on the index: the bytes it must keep.
        self.known_sha: dict[str, str] = {}
        self.rebuilt: set[str] = set()
        self.run_seconds: list[float] = []

    # -- set-up and tear-down -----------------------------------------------------------------

    def _as_the_workspace_has_it(self, tree: bytes) -> None:
        """The rehearsal keeps each changelog.d/ with a ``.gitkeep``; the workspace may not: take
        it out where the committed workspace has none, so that a history meets what users meet."""
        with tarfile.open(fileobj=io.BytesIO(tree)) as archive:
            names = set(archive.getnames())
        removed = False
        for folder in FOLDERS.values():
            keep = f"{folder.as_posix()}/changelog.d/.gitkeep"
            if keep not in names and (self.repo / keep).exists():
                (self.repo / keep).unlink()
                removed = True
        if removed:
            git(self.repo, "add", "-A")
            git(self.repo, "commit", "--quiet", "-m", "changelog.d as the workspace has it")

    def close(self) -> None:
        self.index.stop()

    # -- playing -------------------------------------------------------------------------------

    def view(self) -> View:
        at_pre = tuple(p for p in PACKAGES if about_version(self.repo, p).is_prerelease)
        return View(at_pre=at_pre, index_up=self.index_up)

    @property
    def index_up(self) -> bool:
        return self.index.process.poll() is None

    def fail(self, message: str) -> HistoryFailure:
        steps = "\n".join(self.log)
        recorded = json.dumps([dataclasses.asdict(s) for s in self.steps])
        # Outside pytest's temporary folders, which other pytest runs clean away.
        replay = Path(tempfile.gettempdir()) / f"failed-release-history-{os.getpid()}.json"
        replay.write_text(recorded, encoding="utf-8")
        return HistoryFailure(
            f"{message}\n\nThe history so far (replay it with "
            f"--release-history-replay={replay}):\n{steps}\n\nThe steps as JSON:\n{recorded}"
        )

    def play(self, number: int, step: Step) -> None:
        self.steps.append(step)
        self.log.append(f"{number:>3}. {step}")
        if currently_in_test_context():  # not when a recorded history is replayed
            note(f"step {number}: {step}")
        if step.kind == "clone":
            self.fresh_clone(keep_tags=step.keep_tags)
        if step.kind == "rerun" and not self.index_up:
            self.index = start_index(self.home)
        if step.kind == "cut" and step.cut == "down":
            self.index.stop()
        self.write_fragments(step.fragments)
        before = self.snapshot()
        with self.index_url(step) as url:
            outcome = self.run(step, url)
        self.log[-1] += f"  -> exit {outcome.returncode} in {outcome.seconds:.1f} s"
        if outcome.returncode:
            self.log[-1] += f": {outcome.stderr.strip()[-300:]}"
        self.judge(step, before, outcome)
        self.check(published=step.publish and outcome.returncode == 0)
        if self.profile.rebuild_every and number % self.profile.rebuild_every == 0:
            fresh = [r for r in self.records if r.tag not in self.rebuilt] or self.records
            self.rebuild(fresh[step.rebuild % len(fresh)])

    @contextmanager
    def index_url(self, step: Step) -> Iterator[str]:
        if step.kind == "cut" and step.cut in ("before", "after") and self.index_up:
            proxy = self.stopping_proxy(self.index, step.cut_at, before=step.cut == "before")
            yield proxy.url
            return
        yield self.index.url

    def run(self, step: Step, url: str) -> Outcome:
        env = tool_environment()
        env["COMMONS_INDEX_URL"] = url
        env["TWINE_USERNAME"] = self.index.credentials.username
        env["TWINE_PASSWORD"] = self.index.credentials.password
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "commons_tools.release", *step.arguments()],
            cwd=self.repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        seconds = time.perf_counter() - started
        self.run_seconds.append(seconds)
        return Outcome(result.returncode, result.stdout, result.stderr, seconds)

    def write_fragments(self, fragments: Sequence[tuple[str, str]]) -> None:
        """Write each fragment as the README says (``echo ... > packages/X/changelog.d/...``: the
        folder must be there) and commit them."""
        for package, kind in fragments:
            n = next(self.counter)
            token = f"hf{n:04d}x"
            module = MODULES[package]
            filename = f"+h{n}.{kind}.md"
            text = f"Changed `{module}.thing_{n}` ({kind}; history fragment {token})."
            target = self.repo / FOLDERS[package] / "changelog.d" / filename
            try:
                with target.open("x", encoding="utf-8") as handle:
                    handle.write(f"{text}\n")
            except FileNotFoundError:
                raise self.fail(
                    f"{target.parent.relative_to(self.repo)} is gone: the README's "
                    f"`echo '...' > {target.relative_to(self.repo)}` fails"
                ) from None
            self.fragments[token] = Fragment(token, package, kind, filename, text)
        if fragments:
            git(self.repo, "add", "-A")
            git(self.repo, "commit", "--quiet", "-m", f"Changes with {len(fragments)} fragment(s)")

    def fresh_clone(self, *, keep_tags: bool) -> None:
        self.clones += 1
        clone = self.folder / f"clone-{self.clones}"
        subprocess.run(
            ["git", "clone", "--quiet", str(self.repo), str(clone)], check=True, capture_output=True
        )
        for key, value in {
            **rehearsal.IDENTITY,
            "commit.gpgsign": "false",
            "tag.gpgsign": "false",
        }.items():
            git(clone, "config", key, value)
        if keep_tags:
            self.expected_tags = set(tags_of(clone))
        else:
            for tag in tags_of(clone):
                git(clone, "tag", "--delete", tag)
            self.expected_tags = set()
        self.repo = clone

    # -- judging one run -----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        pending: dict[str, list[Fragment]] = {p: [] for p in PACKAGES}
        for fragment in self.fragments.values():
            if self._fragment_path(fragment).exists():
                pending[fragment.package].append(fragment)
        return Snapshot(
            head=git(self.repo, "rev-parse", "HEAD"),
            versions={p: about_version(self.repo, p) for p in PACKAGES},
            ranges={p: declared_ranges(self.repo, p) for p in PACKAGES},
            pending=pending,
            index_up=self.index_up,
        )

    def _fragment_path(self, fragment: Fragment) -> Path:
        return self.repo / FOLDERS[fragment.package] / "changelog.d" / fragment.filename

    def judge(self, step: Step, before: Snapshot, outcome: Outcome) -> None:
        said = outcome.stdout + outcome.stderr
        if "Traceback" in said:
            raise self.fail(f"the release run ended in a traceback:\n{said[-3000:]}")
        commits = git(self.repo, "rev-list", f"{before.head}..HEAD").split()
        if len(commits) > 1:
            raise self.fail(f"one release run made {len(commits)} commits")
        released = self._released(before, commits)
        index_died = before.index_up and not self.index_up
        if outcome.returncode != 0:
            self._judge_failure(step, before, outcome, released, index_died)
        elif index_died:
            raise self.fail(
                "the index stopped during the publish, yet the run exited 0:\n"
                + outcome.stdout[-2000:]
            )
        elif step.publish and not before.index_up:
            raise self.fail("a publishing run exited 0 while the index was down")
        else:
            self._judge_plan(step, before, released, outcome)
        for package, version in released.items():
            record = Record(package, version, commits[0])
            self.records.append(record)
            self.expected_tags.add(record.tag)
            for name in record.files:
                built = self.repo / "dist" / name
                if not built.is_file():
                    raise self.fail(f"the release of {package} {version} left no {name} in dist/")
                self.known_sha.setdefault(name, sha256(built))

    def _released(self, before: Snapshot, commits: list[str]) -> dict[str, Version]:
        """What the run's commit released: its subject, checked against the versions released
        before and against the ``__about__.py`` files."""
        after = {p: about_version(self.repo, p) for p in PACKAGES}
        moved = {p: v for p, v in after.items() if v != before.versions[p]}
        if not commits:
            if moved:
                raise self.fail(f"versions moved without a release commit: {moved}")
            return {}
        subject = git(self.repo, "log", "-1", "--format=%s")
        parts = [part.rsplit(" ", 1) for part in subject.removeprefix("Release ").split(", ")]
        if not subject.startswith("Release ") or any(len(part) != 2 for part in parts):
            raise self.fail(f"the run made a commit that is no release: {subject!r}")
        named = {canonicalize_name(name): Version(version) for name, version in parts}
        for package, version in named.items():
            earlier = [r for r in self.records if r.package == package]
            newest = max(earlier, key=lambda r: r.version, default=None)
            if newest is not None and version <= newest.version:
                raise self.fail(
                    f"{subject!r}: {package} {version} after {newest.version} (released at "
                    f"{newest.commit[:12]}): versions only grow"
                )
        if named != moved:
            raise self.fail(f"the release commit says {subject!r}, the versions moved {moved}")
        return moved

    def _judge_failure(
        self,
        step: Step,
        before: Snapshot,
        outcome: Outcome,
        released: dict[str, Version],
        index_died: bool,
    ) -> None:
        lines = [line for line in outcome.stderr.splitlines() if line.strip()]
        if len(lines) != 1 or not lines[0].startswith("release: "):
            raise self.fail(f"a failed run must say one line, it said:\n{outcome.stderr[-3000:]}")
        line = lines[0]
        refusal = LEGIT_REFUSAL.search(line)
        if refusal is not None:
            current = Version(refusal[1])
            wanted = PRE_LETTER[refusal[2]]
            if current.pre is None or PRE_ORDER[wanted] >= PRE_ORDER[current.pre[0]]:
                raise self.fail(f"a refusal without reason: {line}")
            if current not in before.versions.values() or step.pre != refusal[2] or released:
                raise self.fail(f"a refusal that does not fit the run: {line}")
            return
        index_failure = step.publish and (not before.index_up or index_died)
        if not index_failure:
            raise self.fail(f"the run failed although nothing stood in its way: {line}")
        if not before.index_up and released:
            raise self.fail(f"with the index down the run still released {released}: {line}")

    def _judge_plan(
        self, step: Step, before: Snapshot, released: dict[str, Version], outcome: Outcome
    ) -> None:
        """A run that succeeded released exactly what it was asked to, at the right kind."""
        selected = step.packages or PACKAGES
        for package in PACKAGES:
            fragments = before.pending[package]
            bump = max((BUMPS[f.type] for f in fragments), default=0)
            if package in selected and bump and package not in released:
                raise self.fail(
                    f"{package} had {', '.join(f.filename for f in fragments)} pending and was "
                    f"selected, but the run released {released or 'nothing'}:\n{outcome.stdout}"
                )
        for package, version in released.items():
            old = before.versions[package]
            if version.is_prerelease != (step.pre is not None):
                raise self.fail(f"{package} {old} -> {version} in a run with --pre={step.pre}")
            bump = max((BUMPS[f.type] for f in before.pending[package]), default=0)
            asked = package in selected and (
                bump or (old.is_prerelease and package in step.packages)
            )
            cascade = [
                dependency
                for dependency, requirement in before.ranges[package].items()
                if dependency in released
                and not requirement.specifier.contains(released[dependency], prereleases=True)
            ]
            if not asked and not cascade:
                raise self.fail(f"{package} {old} -> {version}: nothing asked for it")

    # -- what must hold after every step -------------------------------------------------------

    def check(self, *, published: bool) -> None:
        status = git(self.repo, "status", "--porcelain")
        if status:
            raise self.fail(f"the work tree is not clean after the run:\n{status}")
        self._check_versions_and_tags()
        self._check_state_file()
        self._check_ranges()
        self._check_changelogs()
        self._check_index(complete=published and self.index_up)
        self._check_dist()

    def latest(self, package: str) -> Record:
        return max((r for r in self.records if r.package == package), key=lambda r: r.version)

    def _check_versions_and_tags(self) -> None:
        for package in PACKAGES:
            latest = self.latest(package)
            if about_version(self.repo, package) != latest.version:
                raise self.fail(
                    f"{package}'s __about__.py says {about_version(self.repo, package)}, "
                    f"its latest release is {latest.version}"
                )
        by_tag = {r.tag: r for r in self.records}
        tags = tags_of(self.repo)
        for tag, commit in tags.items():
            record = by_tag.get(tag)
            if record is None:
                raise self.fail(f"tag {tag} names no release the history made")
            if commit != record.commit:
                raise self.fail(
                    f"tag {tag} is at {commit[:12]}, the release at {record.commit[:12]}"
                )
        missing = sorted(self.expected_tags - set(tags))
        if missing:
            raise self.fail(f"releases without their tag: {', '.join(missing)}")

    def recorded_state(self) -> dict[tuple[str, Version], dict[str, Any]]:
        """The entries of the release state file, by (package, version); each seen once."""
        path = self.repo / STATE_FILE
        if not path.is_file() or path.is_symlink():
            raise self.fail(f"no {STATE_FILE} at the root: the release state is not recorded")
        entries = tomllib.loads(path.read_text("utf-8")).get("release", [])
        found: dict[tuple[str, Version], dict[str, Any]] = {}
        for entry in entries:
            key = (canonicalize_name(entry["package"]), Version(entry["version"]))
            if key in found:
                raise self.fail(f"{STATE_FILE} records {key[0]} {key[1]} twice")
            found[key] = entry
        return found

    def _check_state_file(self) -> None:
        """The state file records exactly the releases made: each from the release commit's
        parent, with the package's tree as that commit holds it."""
        state = self.recorded_state()
        made = {(r.package, r.version): r for r in self.records}
        if set(state) != set(made):
            extra = sorted(f"{p} {v}" for p, v in set(state) - set(made))
            lacking = sorted(f"{p} {v}" for p, v in set(made) - set(state))
            raise self.fail(
                f"{STATE_FILE} disagrees with the releases made: it also has "
                f"{extra or 'nothing'}, it lacks {lacking or 'nothing'}"
            )
        for key, entry in state.items():
            record = made[key]
            parent = git(self.repo, "rev-parse", f"{record.commit}^")
            tree = git(self.repo, "rev-parse", f"{record.commit}:{FOLDERS[key[0]].as_posix()}")
            if entry["source"] != parent or entry["tree"] != tree:
                raise self.fail(
                    f"{STATE_FILE}: {key[0]} {key[1]} has source {entry['source'][:12]} and tree "
                    f"{entry['tree'][:12]}; its release commit {record.commit[:12]} has parent "
                    f"{parent[:12]} and tree {tree[:12]}"
                )

    def _check_ranges(self) -> None:
        for package in PACKAGES:
            for dependency, requirement in declared_ranges(self.repo, package).items():
                version = self.latest(dependency).version
                if not requirement.specifier.contains(version, prereleases=True):
                    raise self.fail(
                        f"{package} requires {requirement}, but {dependency} is released at "
                        f"{version}"
                    )

    def _check_changelogs(self) -> None:
        logs = {p: (self.repo / FOLDERS[p] / "CHANGELOG.md").read_text("utf-8") for p in PACKAGES}
        root = (self.repo / "CHANGELOG.md").read_text("utf-8")
        for fragment in self.fragments.values():
            pending = self._fragment_path(fragment).exists()
            for package, text in logs.items():
                count = text.count(fragment.token)
                wanted = 1 if package == fragment.package and not pending else 0
                if count != wanted:
                    where = "pending" if pending else "released"
                    raise self.fail(
                        f"{fragment.filename} of {fragment.package} ({where}) is {count} time(s) "
                        f"in {package}'s CHANGELOG.md, expected {wanted}"
                    )
            if fragment.token in root:
                raise self.fail(f"{fragment.filename}'s text is in the root CHANGELOG.md")
        for record in self.records[len(PACKAGES) :]:
            line = f"- {record.package}=={record.version}\n"
            if root.count(line) != 1:
                raise self.fail(
                    f"the root CHANGELOG.md lists {line.strip()} {root.count(line)} times"
                )

    def _check_index(self, *, complete: bool) -> None:
        stored = {p.name: p for p in self.index.storage.iterdir() if p.is_file()}
        recorded = {name: r for r in self.records for name in r.files}
        for name, path in stored.items():
            if name not in recorded:
                raise self.fail(f"the index holds {name}, which no release recorded")
            digest = sha256(path)
            known = self.known_sha.setdefault(name, digest)
            if digest != known:
                raise self.fail(
                    f"the index holds {name} with sha256 {digest[:16]}, it was {known[:16]}"
                )
        if not complete:
            return
        missing = sorted(set(recorded) - set(stored))
        if missing:
            raise self.fail(
                f"after a publishing run the index lacks recorded releases: {', '.join(missing)}"
            )
        on_index: dict[str, list[Version]] = {}
        for name in stored:
            dist, version = parse_artifact(name)
            on_index.setdefault(dist, []).append(version)
        for name, path in stored.items():
            if not name.endswith(".whl"):
                continue
            for requirement in wheel_requirements(path):
                dist = canonicalize_name(requirement.name)
                if dist in PACKAGES and not any(
                    requirement.specifier.contains(v, prereleases=True)
                    for v in on_index.get(dist, [])
                ):
                    raise self.fail(f"{name} requires {requirement}, which the index cannot give")

    def _check_dist(self) -> None:
        dist = self.repo / "dist"
        if not dist.is_dir():
            return
        for path in dist.iterdir():
            known = self.known_sha.get(path.name)
            if known is not None and sha256(path) != known:
                raise self.fail(f"dist/{path.name} was built again with other bytes")

    # -- rebuilding ------------------------------------------------------------------------------

    def rebuild(self, record: Record) -> None:
        """Build ``record`` again as its entry in the state file says anyone can: the package's
        recorded tree out of git (``git archive``, in a folder that no outer ``.gitignore``
        reaches), ``python -m build`` at the recorded SOURCE_DATE_EPOCH: the same bytes."""
        entry = self.recorded_state()[(record.package, record.version)]
        archive = subprocess.run(
            ["git", "archive", "--format=tar", entry["tree"]],
            cwd=self.repo,
            capture_output=True,
            check=True,
        ).stdout
        with tempfile.TemporaryDirectory(prefix="history-rebuild-", dir=self.folder) as scratch:
            (Path(scratch) / ".git").mkdir()
            source = Path(scratch) / "package"
            with tarfile.open(fileobj=io.BytesIO(archive)) as members:
                members.extractall(source, filter="data")
            out = Path(scratch) / "out"
            result = subprocess.run(
                [sys.executable, "-m", "build", "--installer=uv", f"--outdir={out}", str(source)],
                env={**tool_environment(), "SOURCE_DATE_EPOCH": str(entry["epoch"])},
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise self.fail(
                    f"{record.package} {record.version} does not rebuild from tree "
                    f"{entry['tree'][:12]}: {result.stdout[-1500:]}{result.stderr[-1500:]}"
                )
            for name in record.files:
                digest = sha256(out / name)
                known = self.known_sha.setdefault(name, digest)
                if digest != known:
                    raise self.fail(
                        f"{name} rebuilt from tree {entry['tree'][:12]} at epoch {entry['epoch']} "
                        f"has sha256 {digest[:16]}, the release built {known[:16]}"
                    )
        self.rebuilt.add(record.tag)

    def rebuild_the_rest(self) -> None:
        for record in self.records:
            if record.tag not in self.rebuilt:
                self.rebuild(record)


# -- the tests -------------------------------------------------------------------------------


@pytest.fixture
def history_profile(request: pytest.FixtureRequest) -> Profile:
    return PROFILES[request.config.getoption("--release-history")]


def _play(history: History, numbered: Iterator[tuple[int, Step]], profile: Profile) -> None:
    try:
        for number, step in numbered:
            history.play(number, step)
        if profile.rebuild_all:
            history.rebuild_the_rest()
    finally:
        history.close()
    runs = history.run_seconds
    print(
        f"\nrelease history: {len(runs)} runs, {sum(runs):.0f} s in the runs "
        f"(mean {sum(runs) / len(runs):.1f} s), {len(history.records)} releases, "
        f"{len(history.rebuilt)} rebuilt"
    )
    print("\n".join(history.log))


def test_a_long_random_release_history_keeps_every_promise(
    history_profile: Profile,
    committed_tree: bytes,
    stopping_proxy: Callable[..., Any],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    replay = request.config.getoption("--release-history-replay")
    if replay:
        recorded = [
            Step(
                **{
                    **s,
                    "fragments": tuple(map(tuple, s["fragments"])),
                    "packages": tuple(s["packages"]),
                }
            )
            for s in json.loads(Path(replay).read_text("utf-8"))
        ]
        history = History(committed_tree, tmp_path / "replay", stopping_proxy, history_profile)
        _play(history, enumerate(recorded, start=1), history_profile)
        return
    examples = itertools.count(1)

    @settings(
        max_examples=history_profile.examples,
        stateful_step_count=history_profile.steps,
        deadline=None,
        # One example takes minutes: shrinking would take hours. The steps are printed instead.
        phases=(Phase.explicit, Phase.generate),
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def play(data: st.DataObject) -> None:
        history = History(
            committed_tree, tmp_path / f"history-{next(examples)}", stopping_proxy, history_profile
        )

        def numbered() -> Iterator[tuple[int, Step]]:
            for number in range(1, history_profile.steps + 1):
                yield number, data.draw(steps(number, history.view()), label=f"step {number}")

        _play(history, numbered(), history_profile)

    play()
