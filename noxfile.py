"""The one entry point for developers, CI and releases: ``nox -l`` lists the sessions.

``nox -s ci`` is what CI runs: lint, typecheck, the changelog gate, the check that generated
clients match their specs, the tests of every package on each supported pair (Django 5.2 on
Python 3.11, Django 6.1 on Python 3.13) and on the newest release of every dependency, the example
services' tests, the repository's own tests, and the reproducible build. A session whose Python
this machine lacks is left out of ``ci``, which says so; asked for by name, it is an error.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import NamedTuple

import nox
import nox.command

ROOT = Path(__file__).parent
WORKSPACE = nox.project.load_toml(ROOT / "pyproject.toml")
SERVICES = ("users", "orders", "notifications")  # the example services (commons_tools.workspace)


def _members() -> tuple[str, ...]:
    """Every workspace package's folder: the root pyproject's ``[tool.uv.workspace] members``
    (``packages/common_utils``, ..., ``packages/common_clients/clients/users``), as the release
    tooling finds them (commons_tools.workspace)."""
    globs = WORKSPACE["tool"]["uv"]["workspace"]["members"]
    found = {
        folder.relative_to(ROOT).as_posix()
        for pattern in globs
        for folder in ROOT.glob(pattern)
        if (folder / "pyproject.toml").is_file()
    }
    return tuple(sorted(found))


MEMBERS = _members()
# The packages with tests of their own (packages/<name>/tests): the hand-written ones. A generated
# client package is checked by clients-check, typecheck and the build's import of its wheel.
PACKAGES = tuple(
    Path(member).name
    for member in MEMBERS
    if member.count("/") == 1 and (ROOT / member / "tests").is_dir()
)


class Pair(NamedTuple):
    """A supported Django series as CI tests it: on one Python, with its own django-stubs."""

    python: str
    django: str  # the requirement that picks the series
    typecheck: str  # the dependency group (pyproject.toml) with the stubs of this series


# The supported pairs CI tests: Django 5.2 LTS on the oldest Python we support, Django 6.1 on the
# newest (Django 6.x needs Python 3.12+). The READMEs' support tables say the same.
DJANGO_PAIRS = {
    "5.2": Pair("3.11", "django>=5.2,<5.3", "typecheck"),
    "6.1": Pair("3.13", "django>=6.1,<6.2", "typecheck-django6"),
}
# The example services and the demo run on the newest pair (services/*/requirements.in ask for
# its Django); tests-latest takes the newest Python too.
NEWEST_PYTHON = DJANGO_PAIRS["6.1"].python
TOOLS_REQUIREMENTS = ROOT / "tools" / "requirements.txt"

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["ci"]


def _has_python(version: str) -> bool:
    """Whether nox can find a Python ``version`` on this machine (as it will look for it)."""
    try:
        from python_discovery import get_interpreter  # nox's own interpreter discovery
    except ImportError:  # an older nox: an interpreter named python3.X on PATH that runs
        found = shutil.which(f"python{version}")
        probe = (
            subprocess.run([found, "-c", ""], capture_output=True, check=False) if found else None
        )
        return probe is not None and probe.returncode == 0
    return get_interpreter(version) is not None


def _package_extras(member: str) -> list[str]:
    """Every optional extra a package declares, so its tests see all of its integrations."""
    pyproject = nox.project.load_toml(ROOT / member / "pyproject.toml")
    return sorted(pyproject["project"].get("optional-dependencies", {}))


def _test_group(member: str) -> list[str]:
    pyproject = nox.project.load_toml(ROOT / member / "pyproject.toml")
    if "test" not in pyproject.get("dependency-groups", {}):
        return []
    return list(nox.project.dependency_groups(pyproject, "test"))


def _editable_packages() -> list[str]:
    """``-e <folder>[every extra]`` for each workspace package (the generated clients too)."""
    args: list[str] = []
    for member in MEMBERS:
        extras = _package_extras(member)
        suffix = f"[{','.join(extras)}]" if extras else ""
        args += ["-e", f"{member}{suffix}"]
    return args


def _install_args(*, with_tests: bool = True) -> list[str]:
    """Every workspace package editable, with all its extras (and test dependencies)."""
    args = _editable_packages()
    if with_tests:
        for member in MEMBERS:
            args += _test_group(member)
    args += ["pytest", "pytest-xdist"]  # every test session runs on xdist workers (_run_pytest)
    return args


def _install_packages(session: nox.Session, *, with_tests: bool = True) -> None:
    """Install every workspace package editable, with all its extras (and test dependencies).

    They go in one install command, so that the resolver takes ``common-*`` from this workspace
    and never from a public index that has a package of the same name.
    """
    session.install(*_install_args(with_tests=with_tests))


def _install_tools(session: nox.Session) -> None:
    """The requirements of the repository's own tooling (``tools/commons_tools``)."""
    if TOOLS_REQUIREMENTS.is_file():
        session.install("-r", str(TOOLS_REQUIREMENTS))
    else:
        session.install("packaging", "build", "twine", "towncrier")
    session.env["PYTHONPATH"] = str(ROOT / "tools")


# The tests run on pytest-xdist workers, one per core (``-n auto``): much of their time is spent
# waiting on servers, brokers and subprocesses, so a second worker shortens a session even on two
# cores. COMMONS_TEST_WORKERS sets another count (``0``: no workers, the tests run in the pytest
# process itself, as ``-- -n 0`` does for one run, e.g. under pdb). Tests must be worker-safe:
# names of databases, vhosts, queues, key prefixes and folders carry something unique per worker
# process (see the conftest files), ports are free ports, never fixed ones.
WORKERS_VARIABLE = "COMMONS_TEST_WORKERS"
# Packages whose tests run in the pytest process itself: common-auth's take seconds, and each
# worker would start its own session issuers (django-oauth-toolkit in a subprocess, authlib), which
# costs more than two workers save (alone on a loaded machine: 113 s in one process, 142 s on two).
IN_ONE_PROCESS = frozenset({"common_auth"})


def _xdist_args(session: nox.Session, *, dist: str = "worksteal") -> list[str]:
    """``-n N --dist MODE`` as COMMONS_TEST_WORKERS asks (``auto`` when unset), or nothing for 0.

    ``worksteal`` rebalances the long tests that end a run; ``loadfile`` keeps each test file on
    one worker (its tests share an expensive session fixture or one resource).
    """
    workers = os.environ.get(WORKERS_VARIABLE, "").strip() or "auto"
    if workers not in ("auto", "logical") and not workers.isdigit():
        session.error(
            f"{WORKERS_VARIABLE}={workers!r}: expected a number of test workers, 'auto' or 0"
        )
    if workers.isdigit() and int(workers) == 0:
        return []
    return ["-n", workers, "--dist", dist]


def _run_pytest(
    session: nox.Session,
    *paths: str,
    env: dict[str, str] | None = None,
    dist: str = "worksteal",
    workers: bool = True,
) -> None:
    # ``python -m`` so that a pytest outside the session's venv can never stand in for its own.
    # The worker options come first: ``-- -n 0`` (or any -n) given to nox wins over them.
    session.run(
        "python",
        "-m",
        "pytest",
        *(_xdist_args(session, dist=dist) if workers else []),
        *paths,
        *session.posargs,
        env=env,
    )


# The packages' tests turn every warning into an error (pytest's filterwarnings in pyproject.toml).
# This carries deprecations (Django's RemovedInDjango* warnings are DeprecationWarning and
# PendingDeprecationWarning subclasses) to what runs before pytest's filters and to the Django
# projects the tests start in subprocesses, so a deprecated use in Commons fails there too.
DEPRECATIONS_ARE_ERRORS = {
    "PYTHONWARNINGS": "error::DeprecationWarning,error::PendingDeprecationWarning"
}


@nox.session
@nox.parametrize(
    ("python", "package", "django"),
    [
        nox.param(pair.python, package, django, id=f"{package}-django{django}")
        for package in PACKAGES
        for django, pair in DJANGO_PAIRS.items()
    ],
)
def tests(session: nox.Session, package: str, django: str) -> None:
    """Run one package's tests against one Django series, on the Python CI pairs it with."""
    _install_packages(session)
    session.install(DJANGO_PAIRS[django].django)
    workers = package not in IN_ONE_PROCESS
    _run_pytest(session, f"packages/{package}/tests", env=DEPRECATIONS_ARE_ERRORS, workers=workers)


# The dependencies whose newest release tests-latest takes and names (with everything else).
LATEST_NAMED = (
    "django",
    "djangorestframework",
    "celery",
    "kombu",
    "pydantic",
    "httpx",
    "pyjwt",
    "drf-spectacular",
    "opentelemetry-api",
)


@nox.session(python=NEWEST_PYTHON, name="tests-latest")
def tests_latest(session: nox.Session) -> None:
    """Every package's tests on the newest release of every dependency (upgraded on each run).

    A new upstream release that breaks Commons fails here the day it is out; the versions it ran
    on are printed first. Tests marked ``slow`` (benchmark runs, third-party documents, relays
    killed mid-batch) stay with the two pinned pairs, which keeps ``ci`` within its time.
    """
    session.install("--upgrade", "--resolution", "highest", *_install_args())
    script = (
        "import importlib.metadata as m, sys; "
        "print('tests-latest runs on Python ' + sys.version.split()[0] + ', ' + ', '.join("
        f"n + ' ' + m.version(n) for n in {list(LATEST_NAMED)!r}))"
    )
    session.run("python", "-c", script)
    failed: list[str] = []
    for package in PACKAGES:  # one pytest each: every package's tests configure Django their way
        try:
            _run_pytest(
                session,
                f"packages/{package}/tests",
                "-m",
                "not slow",
                env=DEPRECATIONS_ARE_ERRORS,
                workers=package not in IN_ONE_PROCESS,
            )
        except nox.command.CommandFailed:
            failed.append(package)
    if failed:
        session.error(f"tests-latest: the tests of {', '.join(failed)} failed on these versions")


@nox.session(python="3.11", name="tests-repo")
def tests_repo(session: nox.Session) -> None:
    """Run the repository's own tests (tests/): the tooling, the release pipeline, end to end."""
    _install_packages(session)
    _install_tools(session)
    session.install("pytest", "-r", "tests/requirements.txt")
    # One file's tests on one worker: each demo run (a session fixture of tests/services, minutes
    # per backend) happens once, and the tests that start `nox -s index` from this repository
    # (its .nox/index venv) never run at once. (pytest-xdist's loadgroup ignores xdist_group
    # marks under pytest 9, so files are the unit.)
    # tests/template: the template session runs those.
    _run_pytest(session, "tests", "--ignore=tests/template", dist="loadfile")


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository."""
    session.install(*nox.project.dependency_groups(WORKSPACE, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
@nox.parametrize(
    ("python", "django"),
    [nox.param(pair.python, django, id=f"django{django}") for django, pair in DJANGO_PAIRS.items()],
)
def typecheck(session: nox.Session, django: str) -> None:
    """mypy --strict over the packages and their tests, with the stubs of one Django series.

    The tools and the repository's tests are checked on the oldest pair, the services (which ask
    for Django 6.1) on the newest.
    """
    pair = DJANGO_PAIRS[django]
    services = pair.python == NEWEST_PYTHON  # the services ask for the newest pair's Django
    if services:
        _install_services(session)
    _install_packages(session)
    _install_tools(session)
    # The repository's tests import their own requirements (hypothesis): mypy must see them.
    session.install(
        *nox.project.dependency_groups(WORKSPACE, pair.typecheck),
        pair.django,
        "nox",
        "pytest",
        *([] if services else ["-r", "tests/requirements.txt"]),
    )
    mypy = ["mypy", "--python-version", pair.python]
    sources = [f"{member}/src" for member in MEMBERS]
    session.run(*mypy, *sources, *([] if services else ["tools", "noxfile.py"]))
    # Each service is its own mypy run from its folder: the django-stubs plugin loads its
    # settings, which read the environment (throwaway values, as for the OpenAPI export).
    for service in SERVICES if services else ():
        with session.chdir(ROOT / "services" / service):
            env = _service_export_env(session)
            session.run(*mypy, ".", env=env)
    # Test folders repeat module names across packages, so each is its own mypy run; test
    # functions may stay unannotated, everything else is as strict as the packages.
    relaxed = ["--allow-untyped-defs", "--allow-incomplete-defs", "--check-untyped-defs"]
    test_dirs = [f"packages/{p}/tests" for p in PACKAGES] + ([] if services else ["tests"])
    for test_dir in test_dirs:
        if any(Path(test_dir).rglob("*.py")):
            # The test folder is a root of its own: test projects inside it import as top-level.
            session.run(*mypy, *relaxed, test_dir, env={"MYPYPATH": test_dir})


@nox.session(python="3.11")
def changelog(session: nox.Session) -> None:
    """The changelog gate: changed package source needs a news fragment (``-- --base REF``)."""
    _install_packages(session, with_tests=False)  # common-clients[codegen] compares API documents
    _install_tools(session)
    session.run("python", "-m", "commons_tools.gate", *session.posargs)


@nox.session(python="3.11")
def build(session: nox.Session) -> None:
    """Reproducible wheels and sdists of every package into dist/, then twine check."""
    _install_tools(session)
    session.run("python", "-m", "commons_tools.build", *session.posargs)


def _generate_clients(session: nox.Session, *args: str) -> None:
    _install_packages(session, with_tests=False)  # common-clients[codegen]
    _install_tools(session)
    # Generated code is formatted by ruff: the repository's pinned ruff, so that the committed
    # clients and a regeneration agree byte for byte whatever ruff the extra would admit.
    session.install(*nox.project.dependency_groups(WORKSPACE, "lint"))
    session.run("python", "-m", "commons_tools.clients", *args, *session.posargs)


@nox.session(python="3.11")
def clients(session: nox.Session) -> None:
    """Regenerate each service's client package from ``packages/common_clients/specs/``.

    The packages are ``packages/common_clients/clients/<service>/``; ``-- --new SERVICE`` makes
    the package of a new service's client (its document in specs/ first).
    """
    _generate_clients(session)


@nox.session(python="3.11", name="clients-check")
def clients_check(session: nox.Session) -> None:
    """Fail, naming the files, when a committed client differs from what its spec generates."""
    _generate_clients(session, "--check")


@nox.session(python="3.11")
def release(session: nox.Session) -> None:
    """Release what the news fragments ask for: plan, changelogs, build, commit, tags, publish.

    ``-- --dry-run`` prints the plan only; also ``--pre rc|beta|alpha``, ``--package NAME``,
    ``--no-publish``. Publishes to ``COMMONS_INDEX_URL`` (twine credentials from the environment)
    or, when unset, to the embedded index.
    """
    # The packages' own dependencies, for the import check of the freshly built wheels.
    _install_packages(session)
    _install_tools(session)
    session.run("python", "-m", "commons_tools.release", *session.posargs)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@nox.session(python="3.11")
def index(session: nox.Session) -> None:
    """The embedded package index (pypiserver on 127.0.0.1, storage in .index/) until Ctrl-C.

    SIGTERM to nox stops it as Ctrl-C does: nox passes it on as SIGTERM and waits for the index
    to stop its pypiserver (without the handler, nox would die and leave both running).
    """
    _install_tools(session)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        session.run("python", "-m", "commons_tools.index", *session.posargs, terminate_timeout=15)
    finally:
        signal.signal(signal.SIGTERM, previous)


@nox.session(python="3.11")
def pins(session: nox.Session) -> None:
    """Move services' common-* pins to the newest releases and re-lock with hashes.

    ``-- PATH/requirements.in ...`` rewrites and locks; ``-- --check PATH ...`` only reports.
    """
    _install_tools(session)
    session.run("python", "-m", "commons_tools.pins", *session.posargs)


def _install_services(session: nox.Session) -> None:
    """The workspace packages (editable) with what the example services need besides them.

    One install command: the services' ``common-*`` pins are met by this work tree, never by a
    public index.
    """
    args = _editable_packages()
    for service in SERVICES:
        args += ["-r", f"services/{service}/requirements.in"]
    session.install(*args)


def _service_export_env(session: nox.Session) -> dict[str, str]:
    """Settings that let a service's Django load without its real secrets (commons_tools.specs)."""
    script = (
        "import json, tempfile, pathlib; from commons_tools.specs import export_env; "
        "print(json.dumps(export_env(pathlib.Path(tempfile.mkdtemp()))))"
    )
    output = session.run("python", "-c", script, silent=True)
    assert isinstance(output, str)
    env: dict[str, str] = json.loads(output.strip().splitlines()[-1])
    return env


@nox.session(python=NEWEST_PYTHON, name="tests-services")
def tests_services(session: nox.Session) -> None:
    """Each example service's own tests (``services/<name>/tests``), run from its folder."""
    _install_services(session)
    session.install("pytest", "pytest-django")
    for service in SERVICES:
        with session.chdir(ROOT / "services" / service):
            # One process: each service's suite is short, and its live servers are its own.
            _run_pytest(session, workers=False)


# copier renders templates/service/ (copier.yml at the root points there); the made service's own
# dependencies come from its lock, in a venv of its own that the guide's commands make.
TEMPLATE_REQUIREMENTS = ("copier==9.19.1", "pytest")


@nox.session(python=NEWEST_PYTHON)
def template(session: nox.Session) -> None:
    """The service template and the guide: ``docs/splitting.md`` run as written (tests/template).

    In a temporary folder: ``manage.py boundaries`` on the example monolith, a service made from
    the template with ``copier copy``, installed from its hash-locked lock (the ``common-*``
    releases rebuilt from ``releases.toml`` into an index on disk), its tests (schemathesis
    among them), ``mypy --strict``, its client generated, its first event relayed, ``copier
    update``; then an update from one template commit to the next, and the example services
    checked against what the template makes of their names. The made services need uv on PATH.
    """
    _install_packages(session, with_tests=False)  # the monolith's environment: common-utils
    _install_tools(session)  # rebuilding the recorded releases
    # ruff as the repository pins it: the made services' lint (tests/template).
    session.install(*TEMPLATE_REQUIREMENTS, *nox.project.dependency_groups(WORKSPACE, "lint"))
    _run_pytest(session, "tests/template", "-p", "no:cacheprovider")


@nox.session(python=NEWEST_PYTHON)
def specs(session: nox.Session) -> None:
    """Fail when a service's OpenAPI document in common-clients' specs/ is stale.

    ``-- --write`` updates them (then ``nox -s clients`` regenerates the clients).
    """
    _install_services(session)
    _install_tools(session)
    session.run("python", "-m", "commons_tools.specs", *session.posargs)


@nox.session(python="3.11")
def demo(session: nox.Session) -> None:
    """The example services installed from the local index, a scenario, an upgrade (README).

    ``-- --real`` runs on PostgreSQL and RabbitMQ (``COMMONS_DEMO_POSTGRES_URL``,
    ``COMMONS_DEMO_AMQP_URL``); ``--keep`` leaves the services up until Ctrl-C;
    ``--no-upgrade`` skips the second scenario.
    """
    _install_packages(session)
    _install_tools(session)
    session.run("python", "-m", "commons_tools.demo", *session.posargs)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks: ``nox -s bench -- TOPIC ...`` runs benchmarks/bench_TOPIC.py (all by default)."""
    available = sorted(
        p.stem.removeprefix("bench_") for p in (ROOT / "benchmarks").glob("bench_*.py")
    )
    topics = session.posargs or available
    unknown = sorted(set(topics) - set(available))
    if unknown:
        session.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(available)}")
    _install_packages(session)
    _install_tools(session)
    for topic in topics:
        extra = ROOT / "benchmarks" / f"requirements-{topic}.txt"
        if extra.is_file():
            session.install("-r", str(extra))
        session.run("python", f"benchmarks/bench_{topic}.py")


# What CI runs, each with the Python it needs (the sessions on NEWEST_PYTHON: the services ask
# for Django 6.1).
CI_PLAN: dict[str, str] = {
    "lint": "3.11",
    **{f"typecheck(django{django})": pair.python for django, pair in DJANGO_PAIRS.items()},
    "changelog": "3.11",
    "clients-check": "3.11",
    "specs": NEWEST_PYTHON,
    **{
        f"tests({package}-django{django})": pair.python
        for package in PACKAGES
        for django, pair in DJANGO_PAIRS.items()
    },
    "tests-latest": NEWEST_PYTHON,
    "tests-services": NEWEST_PYTHON,
    "tests-repo": "3.11",
    "template": NEWEST_PYTHON,
    "build": "3.11",
}


def _ci_selected(argv: list[str]) -> bool:
    """Whether this nox run may run ``ci``: no sessions chosen (it is the default), or ``ci``."""
    choosing = ("-s", "-e", "--session", "--sessions", "-k", "--keywords", "-t", "--tags")
    chosen = any(arg.split("=", 1)[0] in choosing for arg in argv[1:])
    return not chosen or "ci" in argv[1:]


# A machine without one of these Pythons runs the rest, and ``ci`` names what it left out; asked
# for by name, such a session fails (nox.options.error_on_missing_interpreters). Looking for the
# interpreters takes a second, so only a run that may run ``ci`` looks.
MISSING_PYTHONS = (
    sorted({python for python in CI_PLAN.values() if not _has_python(python)})
    if _ci_selected(sys.argv)
    else []
)
CI_SESSIONS = [name for name, python in CI_PLAN.items() if python not in MISSING_PYTHONS]


# Roughly how many minutes each CI session took in a one-at-a-time CI on the 2-core CI machine:
# ``ci`` starts the longest first, so that its lanes end close together (only the order matters).
# A session missing here (a new one) counts as CI_UNKNOWN_MINUTES, which starts it early.
CI_MINUTES: dict[str, float] = {
    "tests-repo": 10,
    **{f"tests(common_utils-django{django})": 7 for django in DJANGO_PAIRS},
    "tests-latest": 4,
    "template": 4,
    **{f"typecheck(django{django})": 3 for django in DJANGO_PAIRS},
    **{f"tests(common_clients-django{django})": 3 for django in DJANGO_PAIRS},
    "tests-services": 1.5,
    "specs": 1,
    "clients-check": 0.7,
    "changelog": 0.5,
    "build": 0.5,
    **{f"tests(common_auth-django{django})": 0.4 for django in DJANGO_PAIRS},
    "lint": 0.2,
}
CI_UNKNOWN_MINUTES = 4.0
# How many CI sessions run at once (COMMONS_CI_JOBS; 1: one after the other, as nox would).
CI_JOBS_VARIABLE = "COMMONS_CI_JOBS"
CI_DEFAULT_JOBS = 2
CI_LOGS = ROOT / ".nox" / "ci-logs"


def _ci_jobs(session: nox.Session) -> int:
    value = os.environ.get(CI_JOBS_VARIABLE, "").strip() or str(CI_DEFAULT_JOBS)
    if not value.isdigit() or int(value) < 1:
        session.error(f"{CI_JOBS_VARIABLE}={value!r}: expected how many sessions run at once (1+)")
    return int(value)


class _CiRun(NamedTuple):
    """One CI session running as its own ``nox -s NAME``, its output going to its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float


def _ci_log_path(name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-._" else "-" for c in name).strip("-")
    return CI_LOGS / f"{safe}.log"


def _ci_start(name: str) -> _CiRun:
    import time

    log = _ci_log_path(name)
    with log.open("wb") as out:  # the child holds its own copy of the file
        process = subprocess.Popen(
            [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", name],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return _CiRun(name, process, log, time.monotonic())


def _ci_report(run: _CiRun, returncode: int) -> None:
    """Print a finished session's whole output at once, between two lines naming it."""
    import time

    minutes, seconds = divmod(round(time.monotonic() - run.started), 60)
    verdict = "passed" if returncode == 0 else f"FAILED (exit status {returncode})"
    sys.stdout.flush()
    print(f"\n===== ci: {run.name} =====", flush=True)
    sys.stdout.buffer.write(run.log.read_bytes())
    print(f"===== ci: {run.name} {verdict} in {minutes}m{seconds:02d}s =====", flush=True)


def _ci_run_all(session: nox.Session, names: list[str], jobs: int) -> list[str]:
    """Run ``names`` as ``nox -s NAME`` processes, ``jobs`` at a time, longest first; each one's
    output is printed whole when it ends. Returns the names that failed."""
    import time

    CI_LOGS.mkdir(parents=True, exist_ok=True)
    waiting = sorted(names, key=lambda name: -CI_MINUTES.get(name, CI_UNKNOWN_MINUTES))
    running: list[_CiRun] = []
    failed: list[str] = []
    session.log(f"ci: {len(names)} sessions, {jobs} at a time; logs in {CI_LOGS}")
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                running.append(_ci_start(waiting.pop(0)))
                session.log(f"ci: started {running[-1].name}")
            for run in list(running):
                returncode = run.process.poll()
                if returncode is None:
                    continue
                running.remove(run)
                _ci_report(run, returncode)
                if returncode != 0:
                    failed.append(run.name)
            time.sleep(0.5)
    finally:
        for run in running:  # interrupted: stop what still runs, as Ctrl-C on nox would
            run.process.send_signal(signal.SIGINT)
        for run in running:
            try:
                run.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                run.process.kill()
                run.process.wait()
    return failed


@nox.session(python=False)
def ci(session: nox.Session) -> None:
    """Everything CI checks; ``.ci/run`` and the README's test command run this.

    The sessions run as separate ``nox -s NAME`` processes, COMMONS_CI_JOBS (default 2) at a
    time, longest first; each one's output is printed whole when it ends (and kept in
    ``.nox/ci-logs/``), and ``ci`` fails naming every session that failed. ``-- NAME ...`` runs
    only those of its sessions.
    """
    names = CI_SESSIONS
    if session.posargs:
        unknown = sorted(set(session.posargs) - set(CI_PLAN))
        if unknown:
            session.error(
                f"ci: not CI sessions: {', '.join(unknown)}; they are: {', '.join(CI_PLAN)}"
            )
        names = [name for name in CI_SESSIONS if name in session.posargs]
    failed = _ci_run_all(session, names, _ci_jobs(session))
    for python in MISSING_PYTHONS:
        skipped = [name for name, needs in CI_PLAN.items() if needs == python]
        session.warn(f"ci: no Python {python} here, so these did not run: {', '.join(skipped)}")
    if os.environ.get("CI"):
        session.log("real services: %s", _real_services_summary())
    if failed:
        logs = ", ".join(f"{name} ({_ci_log_path(name)})" for name in failed)
        session.error(f"ci: {len(failed)} of {len(names)} sessions failed: {logs}")
    session.log("ci: all of %s passed", ", ".join(names))


def _real_services_summary() -> str:
    names = ("COMMONS_TEST_POSTGRES_URL", "COMMONS_TEST_AMQP_URL", "COMMONS_TEST_REDIS_URL")
    return ", ".join(f"{name}={'set' if os.environ.get(name) else 'unset'}" for name in names)
