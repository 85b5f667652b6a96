"""``nox -s demo``: the example services, installed from the index, doing their job.

1. The committed HEAD is cloned into ``.demo/checkout`` (the work tree is never touched), and its
   packages are released (or, when already tagged, published) to a fresh local index of its own.
2. Each service's ``requirements.txt`` is checked against that index; a lock whose hashes the
   index does not hold is re-locked with ``nox -s pins`` first, as a service team would.
3. One venv per service from its lock, each service's own database migrated, and the three
   services, the outbox relay and the Celery worker started on 127.0.0.1: on the embedded
   defaults (SQLite files, the filesystem broker) or, with ``--real``, on PostgreSQL (a database
   per service) and RabbitMQ from the environment.
4. The scenario: a user signs in, places an order; orders looks the user up in users with its own
   service token; the event reaches notifications through the outbox; one request id threads
   through all three services' logs. Every process runs with tracing on (unless ``--no-trace``),
   exporting to an OTLP/HTTP receiver of the demo's own on 127.0.0.1: the order's trace is
   printed as a waterfall and drawn as an SVG beside the logs.
5. The upgrade (unless ``--no-upgrade``): common-utils gets a fix fragment and is released, the
   services' pins are moved with ``nox -s pins``, the venvs re-synced, the services restarted on
   the new version and the scenario played again.

Everything started is stopped at the end, on an error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from packaging.utils import canonicalize_name

from commons_tools import git as g
from commons_tools.build import build_and_check
from commons_tools.errors import CommonsToolsError, PinError, ReleaseError, describe_os_error
from commons_tools.index import RunningIndex, start_index
from commons_tools.pins import missing_from_lock, run_pins, verify_lock_sources
from commons_tools.publish import publish_files
from commons_tools.release import publish_recorded, release
from commons_tools.simple_api import IndexTarget, project_versions
from commons_tools.stack import (
    RealBackends,
    Stack,
    free_ports,
    running,
    start_all,
)
from commons_tools.state import load_state
from commons_tools.traces import (
    ReceivedSpan,
    TraceReceiver,
    format_waterfall,
    linked_traces,
    waterfall_svg,
)
from commons_tools.workspace import SERVICES, load_workspace

Say = Callable[[str], None]
DEMO_USER = {"username": "alice", "email": "alice@example.org", "display_name": "Alice Liddell"}
USER_SCOPES = "orders:read orders:write notifications:read"
USER_AUDIENCES = "orders notifications"
NOTIFICATION_TIMEOUT = 60.0
IDENTITY = {"user.name": "Commons Demo", "user.email": "demo@example.invalid"}
# The processes one order's trace passes through, as its spans name them (service-role).
TRACED_PROCESSES = ("orders-web", "users-web", "orders-relay", "notifications-worker")
# How long the trace may take to arrive: until no span of it came for TRACE_QUIET seconds.
TRACE_QUIET = 1.0
TRACE_TIMEOUT = 15.0


class DemoError(ReleaseError):
    """A step of the demo did not do what it should; the message names the step."""


@dataclass
class ScenarioResult:
    """What one play of the scenario saw, step by step (the tests assert on it)."""

    request_id: str
    token_claims: dict[str, Any]
    order: dict[str, Any]
    orders_listed: list[dict[str, Any]]
    notification: dict[str, Any]
    notification_seconds: float
    log_lines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    service_token_issued: bool = False
    # With tracing on: the order's trace id, its spans (the demo's own request span first) and
    # the picture of it.
    trace_id: str | None = None
    trace_spans: list[ReceivedSpan] = field(default_factory=list)
    trace_picture: Path | None = None


@dataclass
class DemoResult:
    versions_before: dict[str, dict[str, str]]
    first: ScenarioResult
    runtimes: dict[str, dict[str, str]] = field(default_factory=dict)  # Python, Django, common-*
    versions_after: dict[str, dict[str, str]] | None = None
    second: ScenarioResult | None = None


# -- the packages on the index -------------------------------------------------------------------


def clone_head(repo: Path, target: Path) -> Path:
    """A fresh clone of ``repo``'s HEAD at ``target`` (its ``releases.toml`` says what was
    released; tags are not needed)."""
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    g.git(repo.parent, "clone", "--quiet", "--no-hardlinks", str(repo), str(target))
    for key, value in IDENTITY.items():
        g.git(target, "config", key, value)
    return target


@contextmanager
def own_index(checkout: Path) -> Iterator[RunningIndex]:
    """The checkout's embedded index, running for the block and found by the release tools.

    ``COMMONS_INDEX_URL`` is set aside meanwhile: the demo never publishes to a real index.
    """
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("COMMONS_INDEX")}
    home = checkout / ".index"
    shutil.rmtree(home, ignore_errors=True)
    index = start_index(home)
    state = home / "server.json"
    try:
        state.write_text(json.dumps({"url": index.url, "pid": index.process.pid}), encoding="utf-8")
        yield index
    finally:
        index.stop()
        state.unlink(missing_ok=True)
        os.environ.update(saved)


def target_of(index: RunningIndex) -> IndexTarget:
    return IndexTarget(index.url, index.simple_url, index.credentials)


def publish_current(checkout: Path, index: RunningIndex, say: Say) -> dict[str, str]:
    """Put each package's current version on the index.

    When ``releases.toml`` records releases, they are republished (rebuilt from their recorded
    trees: the bytes the services' locks pin). When it records no release of some package (of
    any, in a repository that never released; a service's new client package), the repository
    is released as its fragments ask: the new package at its first version, and with it what it
    needs of the others (a client generated against a runtime newer than the last release
    requires that runtime's next release, which the cascade writes into its range). A package
    still not on the index (it had nothing to release) is published as a build of HEAD.
    """
    target = target_of(index)
    state = load_state(checkout)
    indented: Say = lambda line: say(f"    {line}")  # noqa: E731
    if state.records:
        say(f"    republishing the {len(state.records)} release(s) recorded in releases.toml")
        publish_recorded(checkout, target, state, checkout / "dist", indented)
    unreleased = [
        p.dist_name for p in load_workspace(checkout).packages if state.last(p.dist_name) is None
    ]
    if unreleased:
        say(f"    never released: {', '.join(unreleased)}; releasing what the fragments ask for")
        release(checkout, outdir=checkout / "dist", say=indented)
    workspace = load_workspace(checkout)
    missing = [
        p for p in workspace.packages if p.version not in project_versions(target, p.dist_name)
    ]
    if missing:
        names = ", ".join(f"{p.dist_name} {p.version}" for p in missing)
        say(f"    never released in this clone: {names}; publishing a build of HEAD")
        built = build_and_check(checkout, missing, checkout / "dist", g.commit_epoch(checkout))
        publish_files(target, built, say=indented)
    return {p.dist_name: str(p.version) for p in workspace.packages}


def ensure_locks(checkout: Path, index: RunningIndex, say: Say) -> None:
    """Keep each committed lock whose ``common-*`` files the index holds; re-lock the others."""
    target = target_of(index)
    names = [p.dist_name for p in load_workspace(checkout).packages]
    stale: list[Path] = []
    for service in SERVICES:
        lock = checkout / "services" / service / "requirements.txt"
        if not lock.is_file():
            say(f"    services/{service}/requirements.txt: none yet")
            stale.append(lock.with_suffix(".in"))
            continue
        unlocked = missing_from_lock(lock.with_suffix(".in"), set(map(canonicalize_name, names)))
        if unlocked:
            say(f"    services/{service}/requirements.txt: {', '.join(unlocked)} not locked yet")
            stale.append(lock.with_suffix(".in"))
            continue
        try:
            verify_lock_sources(target, lock, names)
        except PinError:
            say(
                f"    services/{service}/requirements.txt: its common-* files are other builds "
                "than this new index holds"
            )
            stale.append(lock.with_suffix(".in"))
            continue
        say(f"    services/{service}/requirements.txt: its common-* files are on the index")
    if stale:
        say("    re-locking with `nox -s pins` against this index:")
        run_pins(checkout, stale, check=False, say=lambda line: say(f"      {line}"))
        # Committed in the clone, as a service team would, so that later releases start clean.
        g.git(checkout, "add", "--", "services")
        g.git(checkout, "commit", "--quiet", "-m", "services: locks against this index")


# -- the scenario --------------------------------------------------------------------------------


def _json(response: httpx.Response, step: str, expected: int) -> Any:
    if response.status_code != expected:
        raise DemoError(
            f"{step}: expected HTTP {expected}, got {response.status_code}: {response.text[:300]}"
        )
    return response.json()


def _claims(token: str) -> dict[str, Any]:
    """The token's payload, for display only (the services verify it; the demo just reads it)."""
    import base64

    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def create_demo_user(stack: Stack) -> None:
    stack.manage(
        "users",
        "create_user",
        DEMO_USER["username"],
        "--email",
        DEMO_USER["email"],
        "--display-name",
        DEMO_USER["display_name"],
        env={"USERS_NEW_PASSWORD": stack.demo_password},
    )


def sign_in(
    stack: Stack,
    *,
    scopes: str = USER_SCOPES,
    audiences: str = USER_AUDIENCES,
    http: httpx.Client | None = None,
) -> dict[str, Any]:
    """The demo user's token answer from users' ``/o/token/`` (password grant)."""
    response = (http or httpx).post(
        f"{stack.url('users')}/o/token/",
        data={
            "grant_type": "password",
            "username": DEMO_USER["username"],
            "password": stack.demo_password,
            "scope": scopes,
            "audience": audiences,
        },
        timeout=10,
    )
    answer: dict[str, Any] = _json(response, "sign in (users /o/token/, password grant)", 200)
    return answer


def _event_latency(order: Mapping[str, Any], notification: Mapping[str, Any]) -> float | None:
    """Seconds from the order's ``placed_at`` to the notification's ``created_at`` (the services'
    own clocks, on one machine), or ``None`` when either is missing or unreadable."""
    from datetime import datetime

    try:
        placed = datetime.fromisoformat(str(order["placed_at"]))
        created = datetime.fromisoformat(str(notification["created_at"]))
    except (KeyError, ValueError):
        return None
    return max((created - placed).total_seconds(), 0.0)


def play(
    stack: Stack,
    say: Say,
    *,
    product: str = "widget",
    quantity: int = 2,
    receiver: TraceReceiver | None = None,
) -> ScenarioResult:
    """Sign in, place an order, see it reach notifications; the evidence, step by step.

    With a ``receiver`` (the services export their spans to it), the order is placed in a trace
    the demo starts (its ``traceparent``), and that trace is shown at the end.
    """
    request_id = f"demo-{uuid.uuid4().hex[:16]}"
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    tracing = {} if receiver is None else {"traceparent": f"00-{trace_id}-{span_id}-01"}
    with httpx.Client(timeout=10) as http:
        token = sign_in(stack, http=http)
        access = token["access_token"]
        claims = _claims(access)
        audiences = claims.get("aud")
        say(
            f"  1. {DEMO_USER['username']} signs in at users: an access token for "
            f"{audiences}, scopes {claims.get('scope')!r}, {token.get('expires_in')} s"
        )
        # The order's request id is the caller's; the other calls get ids of their own.
        headers = {"Authorization": f"Bearer {access}"}
        posted_ns = time.time_ns()
        placed = http.post(
            f"{stack.url('orders')}/api/orders/",
            json={"product": product, "quantity": quantity},
            headers={**headers, "X-Request-ID": request_id, **tracing},
        )
        answered_ns = time.time_ns()
        order = _json(placed, "place an order (orders POST /api/orders/)", 201)
        say(
            f"  2. places order #{order['id']} ({quantity} x {product}) at orders "
            f"[X-Request-ID {request_id}]"
        )
        listed = _json(
            http.get(f"{stack.url('orders')}/api/orders/", headers=headers),
            "list the orders (orders GET /api/orders/)",
            200,
        )
        results: list[dict[str, Any]] = listed["results"] if isinstance(listed, dict) else listed
        started = time.monotonic()
        notification: dict[str, Any] | None = None
        while notification is None:
            page = _json(
                http.get(f"{stack.url('notifications')}/api/notifications/", headers=headers),
                "read the notifications (notifications GET /api/notifications/)",
                200,
            )
            items = page["results"] if isinstance(page, dict) else page
            notification = next((n for n in items if n.get("order_id") == order["id"]), None)
            if notification is None:
                if time.monotonic() - started > NOTIFICATION_TIMEOUT:
                    raise DemoError(
                        f"the event of order #{order['id']} did not reach notifications within "
                        f"{NOTIFICATION_TIMEOUT:.0f}s (relay and worker logs in "
                        f"{stack.workdir / 'logs'})"
                    )
                time.sleep(0.1)
        took = _event_latency(order, notification) or time.monotonic() - started
    owner = order.get("owner_name") or order.get("owner_email")
    say(f"  3. orders looked {owner!r} up at users with its own service token")
    say(
        f"  4. orders.order_placed went through the outbox and the broker to notifications: "
        f"{notification.get('message')!r} ({took * 1000:.0f} ms after the order, from its "
        "placed_at to the notification's created_at)"
    )
    result = ScenarioResult(
        request_id=request_id,
        token_claims=claims,
        order=order,
        orders_listed=results,
        notification=notification,
        notification_seconds=took,
    )
    time.sleep(0.3)  # the worker's last log line is written just after the row is committed
    for service in SERVICES:
        result.log_lines[service] = [
            r for r in stack.logs(service) if r.get("request_id") == request_id
        ]
    result.service_token_issued = any(
        r.get("message") == "service token issued" and r.get("client_id") == "orders"
        for r in stack.logs("users")
    )
    say(f"  5. request id {request_id} in the logs of all three services:")
    lines = sorted(
        (r for service in SERVICES for r in result.log_lines[service]),
        key=lambda r: str(r.get("time", "")),
    )
    for service in SERVICES:
        if not result.log_lines[service]:
            raise DemoError(f"no log line of {service} carries the request id {request_id}")
    shown: set[tuple[str, str]] = set()
    for record in lines:
        process, message = str(record.get("process", "")), str(record.get("message", ""))
        if (process, message) in shown or record.get("level") not in ("INFO", "WARNING"):
            continue
        shown.add((process, message))
        when = str(record.get("time", ""))[11:23]
        say(f"       {when}  {process:<22} {message}")
    if receiver is not None:
        demo_span = ReceivedSpan(
            service="demo",
            name="POST /api/orders/",
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=None,
            start_ns=posted_ns,
            end_ns=answered_ns,
            kind="CLIENT",
            attributes={"http.request.method": "POST", "commons.request_id": request_id},
        )
        show_trace(stack, say, receiver, demo_span, order_id=order["id"], result=result)
    return result


def show_trace(
    stack: Stack,
    say: Say,
    receiver: TraceReceiver,
    root: ReceivedSpan,
    *,
    order_id: object,
    result: ScenarioResult,
) -> None:
    """Step 6: the order's trace as the services exported it, as a waterfall and an SVG."""
    spans = receiver.settle(root.trace_id, quiet=TRACE_QUIET, timeout=TRACE_TIMEOUT)
    # A relay or a consumer may start a trace of its own, linked to the span that wrote the event.
    linked = linked_traces(receiver.spans(), root.trace_id)
    result.trace_id = root.trace_id
    result.trace_spans = [root, *spans, *linked]
    picture = stack.workdir / "logs" / f"trace-order-{order_id}.svg"
    title = f"order #{order_id}: trace {root.trace_id}"
    picture.write_text(waterfall_svg(result.trace_spans, title=title), encoding="utf-8")
    result.trace_picture = picture
    more = f" and {len(linked)} of traces linked to it (marked ~)" if linked else ""
    say(
        f"  6. the order's trace {root.trace_id}: {len(spans)} span(s){more} the services "
        f"exported to {receiver.url}, under the demo's own request:"
    )
    for line in format_waterfall(result.trace_spans):
        say(f"       {line}")
    seen = {s.process for s in [*spans, *linked]}
    silent = [p for p in TRACED_PROCESSES if p not in seen]
    if not spans:
        say(
            "     no service sent a span of this trace: their tracing is off, or what they run "
            f"makes no spans (receiver refusals: {receiver.rejected or 'none'})"
        )
    elif silent:
        say(
            f"     no span of this trace from {', '.join(silent)}: what they run makes none "
            "there yet, or does not carry the trace to them"
        )
    say(f"     picture: {picture}")


# -- the upgrade ---------------------------------------------------------------------------------


def upgrade_common_utils(checkout: Path, say: Say) -> str:
    """A fix fragment for common-utils, released to the index; the services' pins moved."""
    fragment = checkout / "packages" / "common_utils" / "changelog.d" / "+demo-upgrade.fix.md"
    fragment.write_text("Relay log lines name the broker they published to.\n", encoding="utf-8")
    g.git(checkout, "add", "--", str(fragment.relative_to(checkout)))
    g.git(checkout, "commit", "--quiet", "-m", "common-utils: a fix, to be released")
    plan = release(checkout, outdir=checkout / "dist", say=lambda line: say(f"    {line}"))
    new = next(str(r.next) for r in plan.releases if r.package.dist_name == "common-utils")
    requirements = [checkout / "services" / s / "requirements.in" for s in SERVICES]
    run_pins(checkout, requirements, check=False, say=lambda line: say(f"    {line}"))
    return new


# -- the whole run ---------------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def installed_stack(
    repo: Path,
    workdir: Path,
    *,
    real: RealBackends | None = None,
    ports: Mapping[str, int] | None = None,
    say: Say = print,
    tracing_endpoint: str | None = None,
) -> Iterator[Stack]:
    """Steps 1 to 3: HEAD's packages on a local index, the services installed from it and
    running with the demo user made; everything stopped when the block ends.

    ``tracing_endpoint``: an OTLP/HTTP endpoint every process exports its spans to (tracing off
    without one)."""
    checkout = clone_head(repo, workdir / "checkout")
    head = g.resolve(checkout, "HEAD")[:12]
    say(f"Commons demo: HEAD {head}, {'PostgreSQL + RabbitMQ' if real else 'embedded defaults'}")
    # Fresh venvs too: this run's index may hold other bytes under a version an old venv has,
    # and an installer keeps an installed version whatever the lock's hashes say.
    for folder in ("logs", "data", "broker", "venvs"):
        shutil.rmtree(workdir / folder, ignore_errors=True)
    with own_index(checkout) as index:
        say(f"\n[1] The packages, released to the local index at {index.url}")
        versions = publish_current(checkout, index, say)
        say("    on the index: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
        say("\n[2] The services' locks")
        ensure_locks(checkout, index, say)
        stack = Stack(
            checkout=checkout,
            workdir=workdir,
            index_simple_url=index.simple_url,
            real=real,
            ports=dict(ports)
            if ports
            else dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True)),
            say=say,
            tracing_endpoint=tracing_endpoint,
        )
        say("\n[3] Installed from the index and started")
        with running(stack, say=say):
            create_demo_user(stack)
            yield stack


def run_demo(
    repo: Path,
    workdir: Path,
    *,
    real: RealBackends | None = None,
    upgrade: bool = True,
    ports: Mapping[str, int] | None = None,
    say: Say = print,
    keep_running: Callable[[Stack], None] | None = None,
    trace: bool = True,
) -> DemoResult:
    """The whole demo (the module docstring); the evidence of each step, or a DemoError."""
    with ExitStack() as started:
        receiver = started.enter_context(TraceReceiver()) if trace else None
        stack = started.enter_context(
            installed_stack(
                repo,
                workdir,
                real=real,
                ports=ports,
                say=say,
                tracing_endpoint=None if receiver is None else receiver.url,
            )
        )
        runtimes = {s: stack.runtime(s) for s in SERVICES}
        for service, runtime in runtimes.items():
            say(f"  {service:<14} runs " + ", ".join(f"{k} {v}" for k, v in runtime.items()))
        before = {s: stack.installed_versions(s) for s in SERVICES}
        say("\n[4] The scenario")
        result = DemoResult(
            versions_before=before, first=play(stack, say, receiver=receiver), runtimes=runtimes
        )
        if upgrade:
            say("\n[5] An upgrade: a common-utils fix released and rolled out")
            new = upgrade_common_utils(stack.checkout, say)
            stack.stop()
            for service in SERVICES:
                stack.install(service)
            start_all(stack, say=say)
            after = {s: stack.installed_versions(s) for s in SERVICES}
            for service, installed in after.items():
                old = before[service].get("common-utils")
                say(f"  {service:<14} common-utils {old} -> {installed.get('common-utils')}")
                if installed.get("common-utils") != new:
                    raise DemoError(f"{service} still runs common-utils {old}, not {new}")
            result.versions_after = after
            say("  the scenario again, on the new version:")
            result.second = play(stack, say, product="gadget", quantity=1, receiver=receiver)
        if keep_running is not None:
            keep_running(stack)
    say("\nDone: every process stopped.")
    return result


def _wait_for_ctrl_c(stack: Stack) -> None:
    print("\nThe services keep running (Ctrl-C stops them):", flush=True)
    for service in SERVICES:
        print(f"  {service:<14} {stack.url(service)}/api/schema/", flush=True)
    print(f"  logs in {stack.workdir / 'logs'}", flush=True)
    while all(p.alive() for p in stack.processes):
        time.sleep(0.5)
    gone = [p.label for p in stack.processes if not p.alive()]
    raise DemoError(f"stopped by itself: {', '.join(gone)}")


def real_backends_from_env(env: Mapping[str, str]) -> RealBackends:
    postgres = env.get("COMMONS_DEMO_POSTGRES_URL") or env.get("COMMONS_TEST_POSTGRES_URL")
    amqp = env.get("COMMONS_DEMO_AMQP_URL") or env.get("COMMONS_TEST_AMQP_URL")
    if not postgres or not amqp:
        missing = [
            name
            for name, value in (
                ("COMMONS_DEMO_POSTGRES_URL", postgres),
                ("COMMONS_DEMO_AMQP_URL", amqp),
            )
            if not value
        ]
        raise DemoError(f"--real needs {' and '.join(missing)} (or the COMMONS_TEST_ ones)")
    return RealBackends(postgres_url=postgres, amqp_url=amqp)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s demo --", description=__doc__)
    parser.add_argument("--real", action="store_true", help="PostgreSQL and RabbitMQ from the env")
    parser.add_argument("--no-upgrade", action="store_true", help="skip the upgrade scenario")
    parser.add_argument("--keep", action="store_true", help="keep the services up until Ctrl-C")
    parser.add_argument(
        "--fixed-ports", action="store_true", help="8101-8103 instead of free ports"
    )
    parser.add_argument("--no-trace", action="store_true", help="run the services with tracing off")
    parser.add_argument("--workdir", type=Path, help="where the demo works (default: .demo/)")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    workdir = args.workdir.resolve() if args.workdir else repo / ".demo"
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        real = real_backends_from_env(os.environ) if args.real else None
        run_demo(
            repo,
            workdir,
            real=real,
            upgrade=not args.no_upgrade,
            ports={"users": 8101, "orders": 8102, "notifications": 8103}
            if args.fixed_ports
            else None,
            keep_running=_wait_for_ctrl_c if args.keep else None,
            trace=not args.no_trace,
        )
    except KeyboardInterrupt:
        print("\nInterrupted: every process the demo started was stopped.", file=sys.stderr)
        return 130
    except CommonsToolsError as exc:
        print(f"\ndemo: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"\ndemo: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
