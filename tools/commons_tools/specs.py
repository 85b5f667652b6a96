"""``nox -s specs``: the services' OpenAPI documents, exported and compared with the committed ones.

Each service's document is what drf-spectacular exports from its code
(``manage.py spectacular --validate``). The committed copy in ``packages/common_clients/specs/``
is what the typed clients are generated from, so a stale copy means a stale client: the check
fails naming the files and how to update them (``nox -s specs -- --write``, then
``nox -s clients``).

``--write`` also writes the news fragment of the service's client package
(``packages/common_clients/clients/<service>/changelog.d/+<service>-api.<type>.md``): the document
is compared with the one the client's last release was made from (``releases.toml``; before a
first release, the committed one), and the comparison picks the type, so the client's version says
what changed in the API: a breaking change -> ``breaking``, added operations, fields or any other
compatible change -> ``feature``, a document that differs in nothing a client sees (descriptions,
examples) -> ``doc``. The fragment lists the changes and is rewritten on every ``--write``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import secrets
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from commons_tools import git as g
from commons_tools.errors import CommonsToolsError, ReleaseError
from commons_tools.processes import run, tail
from commons_tools.state import load_state
from commons_tools.workspace import SERVICES, Package, load_workspace


class SpecError(ReleaseError):
    """A service's document could not be exported; the message names the service."""


def export_env(scratch: Path) -> dict[str, str]:
    """Settings that let every service load for an export: throwaway secrets, scratch storage."""
    from common_auth import SigningKey

    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": f"sqlite:///{scratch / 'export.sqlite3'}",
        "COMMONS_BROKER_DIR": str(scratch / "broker"),
        "AUTH_ISSUER": "http://127.0.0.1:8101",
        "USERS_SIGNING_KEY": SigningKey.generate("ES256").private_pem(),
        "USERS_SERVICE_ACCOUNTS": json.dumps({}),
        "USERS_URL": "http://127.0.0.1:8101",
        "USERS_TOKEN_URL": "http://127.0.0.1:8101/o/token/",
        "USERS_CLIENT_ID": "orders",
        "USERS_CLIENT_SECRET": secrets.token_urlsafe(16),
    }


def export(repo: Path, service: str, scratch: Path) -> str:
    """The OpenAPI document (YAML) the service's code describes."""
    output = scratch / f"{service}.yaml"
    result = run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--file", str(output)],
        cwd=repo / "services" / service,
        env=export_env(scratch),
    )
    if result.returncode != 0 or not output.is_file():
        raise SpecError(f"services/{service}: the export failed: {tail(result, 6)}")
    return output.read_text(encoding="utf-8")


def check_or_write(repo: Path, services: Sequence[str], *, write: bool) -> list[str]:
    """Export each service; write the committed copy or list the stale ones (with a diff)."""
    stale: list[str] = []
    with tempfile.TemporaryDirectory(prefix="commons-specs-") as folder:
        scratch = Path(folder)
        for service in services:
            exported = export(repo, service, scratch)
            committed_path = repo / "packages" / "common_clients" / "specs" / f"{service}.yaml"
            committed = (
                committed_path.read_text(encoding="utf-8") if committed_path.is_file() else ""
            )
            name = committed_path.relative_to(repo).as_posix()
            if exported == committed:
                print(f"{name}: up to date")
                continue
            stale.append(name)
            if write:
                committed_path.write_text(exported, encoding="utf-8")
                print(f"{name}: written from services/{service}")
                fragment = write_fragment(repo, committed_path, committed)
                if fragment is not None:
                    print(f"{fragment.relative_to(repo).as_posix()}: written")
                continue
            diff = difflib.unified_diff(
                committed.splitlines(),
                exported.splitlines(),
                name,
                f"services/{service}",
                n=1,
                lineterm="",
            )
            print("\n".join(list(diff)[:40]))
    return stale


#: The most changes a fragment lists; the rest are counted.
LISTED_CHANGES = 12


def client_of(repo: Path, spec: Path) -> Package | None:
    """The workspace package generated from the document ``spec`` (None: no package is)."""
    for package in load_workspace(repo).packages:
        if package.spec is not None and package.spec == spec.resolve():
            return package
    return None


def released_text(repo: Path, package: Package, spec: Path) -> str | None:
    """The document as the package's last release was made from it (None: never released)."""
    record = load_state(repo).last(package.dist_name)
    if record is None:
        return None
    return g.show(repo, record.source, spec.resolve().relative_to(repo).as_posix())


def fragment_for(service: str, old_text: str, new_text: str) -> tuple[str, str] | None:
    """The type and text of the news fragment for a document going from ``old_text`` to
    ``new_text`` (None when they are the same, or when there was no document before)."""
    if old_text == new_text or not old_text.strip():
        return None
    from common_clients.codegen import SpecError as DocumentError
    from common_clients.codegen import diff_specs, parse_spec

    try:
        changes = diff_specs(
            parse_spec(old_text, source=f"{service} (before)"),
            parse_spec(new_text, source=f"{service} (now)"),
        )
    except DocumentError as exc:
        raise SpecError(f"{service}: the two documents could not be compared: {exc}") from None
    if not changes:
        return "doc", (
            f"The `{service}` API's document changed in its descriptions or examples only; the "
            "client's docstrings follow it.\n"
        )
    breaking = [c for c in changes if c.breaking]
    shown = [*breaking, *(c for c in changes if not c.breaking)][:LISTED_CHANGES]
    listed = "; ".join(
        f"{'breaking: ' if c.breaking else ''}{c.message}"
        + (f" (`{c.operation}`)" if c.operation else "")
        for c in shown
    )
    more = f"; and {len(changes) - len(shown)} more" if len(changes) > len(shown) else ""
    text = (
        f"The `{service}` API changed ({len(changes)} change(s), {len(breaking)} breaking): "
        f"{listed}{more}.\n"
    )
    return ("breaking" if breaking else "feature"), text


def write_fragment(repo: Path, spec: Path, committed: str) -> Path | None:
    """Write (or remove) the API-change fragment of the client generated from ``spec``, which
    was just written; ``committed`` is the document's text before. The path written, if any."""
    package = client_of(repo, spec)
    if package is None:
        return None
    service = spec.stem
    before = released_text(repo, package, spec)
    if before is None:
        before = committed
    for old in package.changelog_dir.glob(f"+{service}-api.*.md"):
        old.unlink()
    made = fragment_for(service, before, spec.read_text(encoding="utf-8"))
    if made is None:
        return None
    kind, text = made
    path = package.changelog_dir / f"+{service}-api.{kind}.md"
    path.write_text(text, encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s specs --", description=__doc__)
    parser.add_argument("services", nargs="*", default=list(SERVICES), help="default: all")
    parser.add_argument("--write", action="store_true", help="update the committed documents")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.services) - set(SERVICES))
    if unknown:
        print(f"specs: unknown service(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        stale = check_or_write(args.repo.resolve(), args.services, write=args.write)
    except CommonsToolsError as exc:
        print(f"specs: {exc}", file=sys.stderr)
        return 1
    if stale and not args.write:
        print(
            f"specs: stale: {', '.join(stale)}; run `nox -s specs -- --write` (it writes each "
            "changed client's news fragment) and `nox -s clients`, then commit them",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
