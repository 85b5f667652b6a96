"""The example services as a running system: one venv per service, its settings, its processes.

`Stack` takes a checkout (``services/<name>/`` with a locked ``requirements.txt``) and an index
that holds the ``common-*`` releases the locks name. It makes a venv per service from its lock
(hashes required, the private index asked first), migrates each service's own database, starts
the web servers, the outbox relay and the Celery worker on 127.0.0.1, waits until each answers
its readiness check, and stops them all again (SIGTERM to each process group, SIGKILL after a
grace period), also when the caller is interrupted.

Backends: the embedded defaults (a SQLite file per service, the filesystem broker in a shared
folder) or, with `RealBackends`, one fresh PostgreSQL database per service and RabbitMQ.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from commons_tools.errors import PinError, ReleaseError
from commons_tools.pins import SERVICE_CONFIG, service_python
from commons_tools.processes import run, tail, uv_command
from commons_tools.workspace import SERVICES

Say = Callable[[str], None]

DEFAULT_PORTS = {"users": 8101, "orders": 8102, "notifications": 8103}
READY_TIMEOUT = 90.0
STOP_GRACE = 10.0
# The scopes and audience orders' service account may ask users for.
ORDERS_CLIENT = {"scopes": ["users:read"], "audiences": ["users"]}
NOTIFICATIONS_QUEUE = "notifications.events"


class StackError(ReleaseError):
    """A service could not be installed, migrated or started; the message names it."""


@dataclass(frozen=True)
class RealBackends:
    """PostgreSQL (a server URL; one database per service is made on it) and RabbitMQ."""

    postgres_url: str
    amqp_url: str

    def database_url(self, database: str) -> str:
        parts = urlsplit(self.postgres_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


@dataclass
class Process:
    """One started process of a service, with its log file."""

    service: str
    role: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def label(self) -> str:
        return f"{self.service}-{self.role}"

    def alive(self) -> bool:
        return self.popen.poll() is None


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports of 127.0.0.1 (all held open until each is chosen)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def log_tail(path: Path, count: int = 8) -> str:
    if not path.is_file():
        return "(no log)"
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return "\n    ".join(lines[-count:]) or "(empty log)"


def get_status(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status a GET of ``url`` answers, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


@dataclass
class Stack:
    """The three example services of ``checkout``, installed from ``index_simple_url``."""

    checkout: Path
    workdir: Path
    index_simple_url: str
    real: RealBackends | None = None
    ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    say: Say = print
    users_lookup: str = "http"
    # An OTLP/HTTP endpoint (``commons_tools.traces.TraceReceiver.url``): every process of every
    # service exports its spans there (common-utils' configure_tracing); None: tracing stays off.
    tracing_endpoint: str | None = None
    processes: list[Process] = field(default_factory=list)
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    demo_password: str = field(default_factory=lambda: secrets.token_urlsafe(12), repr=False)
    _secrets: dict[str, str] = field(default_factory=dict, repr=False)

    # -- where things are -------------------------------------------------------------------

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def service_dir(self, service: str) -> Path:
        return self.checkout / "services" / service

    def venv(self, service: str) -> Path:
        return self.workdir / "venvs" / service

    def python(self, service: str) -> Path:
        return self.venv(service) / "bin" / "python"

    def log_path(self, service: str, role: str) -> Path:
        return self.workdir / "logs" / f"{service}-{role}.log"

    @property
    def broker_dir(self) -> Path:
        return self.workdir / "broker"

    # -- installing ----------------------------------------------------------------------------

    def install(self, service: str) -> None:
        """Make (or update) the service's venv from its ``requirements.txt``, hashes required."""
        lock = self.service_dir(service) / "requirements.txt"
        if not lock.is_file():
            raise StackError(f"{lock}: no lock; run `nox -s pins -- {lock.with_suffix('.in')}`")
        venv = self.venv(service)
        if not self.python(service).is_file():
            try:
                python = service_python(self.service_dir(service))
            except PinError as exc:
                raise StackError(str(exc)) from None
            if python is None:
                config = self.service_dir(service) / SERVICE_CONFIG
                raise StackError(f"{config}: names no Python ([tool.uv.pip] python-version)")
            made = run([*uv_command(), "venv", "--quiet", "--python", python, str(venv)])
            if made.returncode != 0:
                raise StackError(
                    f"{service}: could not make its venv on Python {python} (its "
                    f"[tool.uv.pip] python-version): {tail(made, 3)}"
                )
        synced = run(
            [
                *uv_command(),
                "pip",
                "sync",
                "--quiet",
                "--python",
                str(self.python(service)),
                "--require-hashes",
                "--index",
                f"commons={self.index_simple_url}",
                "--index-strategy",
                "first-index",
                str(lock),
            ]
        )
        if synced.returncode != 0:
            raise StackError(f"{service}: its requirements.txt did not install: {tail(synced, 6)}")

    def installed_versions(self, service: str) -> dict[str, str]:
        """The ``common-*`` distributions in the service's venv and their versions."""
        return {k: v for k, v in self.runtime(service).items() if k.startswith("common-")}

    def runtime(self, service: str) -> dict[str, str]:
        """What the service runs on: ``Python`` and ``Django`` first, then each ``common-*``."""
        script = (
            "import importlib.metadata as m, json, platform; print(json.dumps({'Python': "
            "platform.python_version(), 'Django': m.version('django'), **{d.metadata['Name']: "
            "d.version for d in m.distributions() if d.metadata['Name'].startswith('common-')}}))"
        )
        result = run([str(self.python(service)), "-c", script])
        if result.returncode != 0:
            raise StackError(f"{service}: could not read its installed versions: {tail(result, 3)}")
        found: dict[str, str] = json.loads(result.stdout)
        ours = sorted((k, v) for k, v in found.items() if k.startswith("common-"))
        return {"Python": found["Python"], "Django": found["Django"], **dict(ours)}

    # -- configuring ---------------------------------------------------------------------------

    def _secret(self, name: str) -> str:
        return self._secrets.setdefault(name, secrets.token_urlsafe(32))

    def _django_hash(self, secret: str) -> str:
        script = (
            "import sys; from django.conf import settings; settings.configure(); "
            "from django.contrib.auth.hashers import make_password; "
            "print(make_password(sys.stdin.read()))"
        )
        result = subprocess.run(
            [str(self.python("users")), "-c", script],
            input=secret,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"users: could not hash the orders client secret: {tail(result, 3)}")
        return result.stdout.strip()

    def _signing_key(self) -> str:
        script = (
            "from common_auth import SigningKey; print(SigningKey.generate('ES256').private_pem())"
        )
        result = run([str(self.python("users")), "-c", script])
        if result.returncode != 0:
            raise StackError(f"users: could not make a signing key: {tail(result, 3)}")
        return result.stdout.strip()

    def _database_url(self, service: str) -> str:
        if self.real is None:
            return f"sqlite:///{self.workdir / 'data' / f'{service}.sqlite3'}"
        return self.real.database_url(f"commons_demo_{service}")

    def configure(self) -> None:
        """Every service's environment: URLs, fresh secrets, its database and the broker."""
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        users = self.url("users")
        base = {
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "INFO",
            "AUTH_ISSUER": users,
            "AUTH_JWKS_URL": f"{users}/.well-known/jwks.json",
            "PYTHONUNBUFFERED": "1",
        }
        if self.real is None:
            self.broker_dir.mkdir(parents=True, exist_ok=True)
            broker = {"COMMONS_BROKER_DIR": str(self.broker_dir)}
        else:
            broker = {"CELERY_BROKER_URL": self.real.amqp_url}
        if self.tracing_endpoint is not None:
            base |= {
                "OTEL_EXPORTER_OTLP_ENDPOINT": self.tracing_endpoint,
                # A batch every 100 ms rather than 5 s: the demo reads a trace right after it.
                "OTEL_BSP_SCHEDULE_DELAY": "100",
            }
        orders_secret = self._secret("orders-client")
        accounts = {"orders": {"secret_hash": self._django_hash(orders_secret), **ORDERS_CLIENT}}
        self.env = {
            "users": {
                **base,
                **self._tracing_name("users"),
                "DJANGO_SECRET_KEY": self._secret("users"),
                "DATABASE_URL": self._database_url("users"),
                "AUTH_AUDIENCE": "users",
                "USERS_SIGNING_KEY": self._signing_key(),
                "USERS_SERVICE_ACCOUNTS": json.dumps(accounts),
            },
            "orders": {
                **base,
                **self._tracing_name("orders"),
                **broker,
                "DJANGO_SECRET_KEY": self._secret("orders"),
                "DATABASE_URL": self._database_url("orders"),
                "AUTH_AUDIENCE": "orders",
                "USERS_URL": users,
                "USERS_TOKEN_URL": f"{users}/o/token/",
                "USERS_CLIENT_ID": "orders",
                "USERS_CLIENT_SECRET": orders_secret,
                "USERS_SCOPE": "users:read",
                "USERS_AUDIENCE": "users",
                "ORDERS_USERS_LOOKUP": self.users_lookup,
            },
            "notifications": {
                **base,
                **self._tracing_name("notifications"),
                **broker,
                "DJANGO_SECRET_KEY": self._secret("notifications"),
                "DATABASE_URL": self._database_url("notifications"),
                "AUTH_AUDIENCE": "notifications",
            },
        }

    def _tracing_name(self, service: str) -> dict[str, str]:
        return {} if self.tracing_endpoint is None else {"OTEL_SERVICE_NAME": service}

    def process_env(self, role: str) -> dict[str, str]:
        """What one process of a service gets on top of the service's environment: with tracing
        on, its role in its spans' resource (``commons.process``: web, relay, worker)."""
        if self.tracing_endpoint is None:
            return {}
        return {"OTEL_RESOURCE_ATTRIBUTES": f"commons.process={role}"}

    def reset_backends(self) -> None:
        """Fresh databases (and, on RabbitMQ, an empty notifications queue) for this run."""
        if self.real is None:
            for service in SERVICES:
                (self.workdir / "data" / f"{service}.sqlite3").unlink(missing_ok=True)
            shutil.rmtree(self.broker_dir, ignore_errors=True)
            self.broker_dir.mkdir(parents=True, exist_ok=True)
            return
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(self.real.postgres_url, autocommit=True) as connection:
                for service in SERVICES:
                    name = sql.Identifier(f"commons_demo_{service}")
                    connection.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name)
                    )
                    connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
        except psycopg.Error as exc:
            raise StackError(f"PostgreSQL at the --real URL: {exc}".strip()) from exc
        from kombu import Connection, Queue
        from kombu.exceptions import OperationalError

        try:
            # Events left by an earlier run would reach this run's fresh databases.
            with Connection(self.real.amqp_url, connect_timeout=5) as broker:
                no_queue_yet = suppress(*broker.channel_errors)  # then nothing to purge
                with no_queue_yet:
                    Queue(NOTIFICATIONS_QUEUE, no_declare=True)(broker.default_channel).purge()
        except (OSError, OperationalError) as exc:
            raise StackError(f"RabbitMQ at the --real URL: {exc}") from exc

    # -- running -------------------------------------------------------------------------------

    def manage(self, service: str, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Run ``manage.py ARGS`` of a service in its venv; its output, or a StackError."""
        result = subprocess.run(
            [str(self.python(service)), "manage.py", *args],
            cwd=self.service_dir(service),
            env={**os.environ, **self.env[service], **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            command = " ".join(args[:1])
            raise StackError(f"{service}: manage.py {command} failed: {tail(result, 6)}")
        return result.stdout

    def commands(self, service: str) -> dict[str, list[str]]:
        """The processes of a service, by role."""
        bin_dir = self.venv(service) / "bin"
        web = [
            str(bin_dir / "gunicorn"),
            f"{service}_service.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.ports[service]}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ]
        roles = {"web": web}
        if service == "orders":
            roles["relay"] = [str(self.python(service)), "manage.py", "outbox_relay"]
            if self.real is None:
                # SQLite has no LISTEN/NOTIFY: the relay polls, briefly, so events stay quick.
                roles["relay"] += ["--poll-interval", "0.05"]
        if service == "notifications":
            roles["worker"] = [
                str(bin_dir / "celery"),
                "--app",
                "notifications_service",
                "worker",
                "--queues",
                NOTIFICATIONS_QUEUE,
                "--concurrency",
                "1",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ]
        return roles

    def _spawn(
        self, service: str, role: str, command: list[str], env: Mapping[str, str] | None = None
    ) -> Process:
        """Start one process of ``service``, its output appended to its log file."""
        log_path = self.log_path(service, role)
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                command,
                cwd=self.service_dir(service),
                env={**os.environ, **self.env[service], **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches us; we stop them in order
            )
        process = Process(service, role, popen, log_path)
        self.processes.append(process)
        return process

    def start(self, service: str) -> None:
        for role, command in self.commands(service).items():
            self._spawn(service, role, command, self.process_env(role))

    def start_variant(self, service: str, *, port: int, env: Mapping[str, str]) -> str:
        """Another web server of ``service`` on ``port`` with ``env`` on top of its own; its URL.

        It shares the service's database and is stopped with the service.
        """
        command = self.commands(service)["web"]
        command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
        process = self._spawn(service, f"web-{port}", command, env)
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        while get_status(f"{url}/healthz/ready/") != 200:
            if not process.alive() or time.monotonic() - started > READY_TIMEOUT:
                raise StackError(
                    f"{service} on port {port} did not start:\n    {log_tail(process.log)}"
                )
            time.sleep(0.1)
        return url

    def wait_ready(self, service: str) -> float:
        """Seconds until the service's readiness check answered 200; a StackError otherwise."""
        started = time.monotonic()
        ready = f"{self.url(service)}/healthz/ready/"
        while time.monotonic() - started < READY_TIMEOUT:
            for process in self.processes:
                if process.service == service and not process.alive():
                    raise StackError(
                        f"{process.label} exited with {process.popen.returncode}:\n    "
                        f"{log_tail(process.log)}"
                    )
            if get_status(ready, timeout=2.0) == 200:
                return time.monotonic() - started
            time.sleep(0.1)
        raise StackError(
            f"{service} did not become ready at {ready} within {READY_TIMEOUT:.0f}s:\n    "
            f"{log_tail(self.log_path(service, 'web'))}"
        )

    def stop(self, services: Sequence[str] = SERVICES) -> list[str]:
        """Stop the processes of ``services`` (SIGTERM, then SIGKILL); the labels stopped."""
        chosen = [p for p in self.processes if p.service in services]
        for process in chosen:
            if process.alive():
                with suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in chosen:
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()
        self.processes = [p for p in self.processes if p not in chosen]
        return [p.label for p in chosen]

    def logs(self, service: str) -> list[dict[str, object]]:
        """The JSON log records every process of ``service`` wrote (other lines skipped)."""
        records: list[dict[str, object]] = []
        for path in sorted((self.workdir / "logs").glob(f"{service}-*.log")):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if not line.startswith("{"):
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    record.setdefault("process", path.stem)
                    records.append(record)
        return records


@contextmanager
def running(stack: Stack, *, say: Say = print) -> Iterator[Stack]:
    """Install, configure, migrate and start the whole stack; stop it on the way out."""
    for service in SERVICES:
        stack.install(service)
        say(f"  {service:<14} venv from services/{service}/requirements.txt")
    stack.configure()
    stack.reset_backends()
    for service in SERVICES:
        stack.manage(service, "migrate_all", "--noinput")
    say("  migrated each service's own database")
    try:
        yield start_all(stack, say=say)
    finally:
        stopped = stack.stop()
        if stopped:
            say(f"  stopped {', '.join(stopped)}")


def start_all(stack: Stack, *, say: Say = print) -> Stack:
    for service in SERVICES:
        stack.start(service)
    for service in SERVICES:
        took = stack.wait_ready(service)
        roles = ", ".join(stack.commands(service))
        say(f"  {service:<14} ready at {stack.url(service)} ({roles}; {took:.1f}s)")
    return stack
