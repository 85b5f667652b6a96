"""``nox -s specs``: the services' OpenAPI documents, exported and compared with the committed ones.

Each service's document is what drf-spectacular exports from its code
(``manage.py spectacular --validate``). The committed copy in ``packages/common_clients/specs/``
is what the typed clients are generated from, so a stale copy means a stale client: the check
fails naming the files and how to update them (``nox -s specs -- --write``, then
``nox -s clients``).
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

from commons_tools.errors import CommonsToolsError, ReleaseError
from commons_tools.processes import run, tail
from commons_tools.workspace import SERVICES


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
            f"specs: stale: {', '.join(stale)}; run `nox -s specs -- --write` and "
            "`nox -s clients`, then commit them with a common-clients news fragment",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
