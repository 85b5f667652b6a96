"""The ``common-clients`` command: ``generate`` and ``diff``.

``common-clients generate SPEC --out DIR --name SERVICE [--package PKG]`` writes ``DIR/PKG/`` (the
package ``PKG``, ``SERVICE`` by default; ``a.b`` goes to ``DIR/a/b/``);
``common-clients diff OLD NEW`` lists the API changes between two versions of a document and
exits 1 when one is breaking. Whatever the input, a refusal is one line naming what and where (a
JSON pointer into the document) and exit status 2, never a traceback; warnings (deviations read
leniently, see ``--strict``) go to stderr, one line each.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from common_clients.codegen._diff import diff_specs
from common_clients.codegen._errors import CodegenError
from common_clients.codegen._extra import require_extra
from common_clients.codegen._generate import (
    check_folder,
    generate_client,
    package_folder,
    stale_files,
    write_client,
)
from common_clients.codegen._spec import load_spec

__all__ = ["main"]


def _progress(done: int, total: int) -> None:
    print(f"\r  models: {done}/{total}", end="" if done < total else "\n", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="common-clients", description="Typed httpx + pydantic clients from OpenAPI documents."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="generate one client package")
    generate.add_argument("spec", type=Path, help="the OpenAPI 3.0/3.1 document (YAML or JSON)")
    generate.add_argument(
        "--out", type=Path, required=True, help="folder to write the package into"
    )
    generate.add_argument("--name", required=True, help="the service name (a Python identifier)")
    generate.add_argument(
        "--package",
        help="dotted import name of the package, written to OUT/its/dotted/path (default: NAME)",
    )
    generate.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when the output is stale"
    )
    generate.add_argument(
        "--root",
        type=Path,
        help="the folder $refs may read files from (default: the document's own folder)",
    )
    generate.add_argument(
        "--strict",
        action="store_true",
        help="make every warning (a deviation read leniently) an error",
    )
    diff = commands.add_parser("diff", help="API changes between two versions of a document")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for any refusal, told in one line)."""
    arguments = _parser().parse_args(argv)
    try:
        require_extra()
        if arguments.command == "generate":
            return _generate(arguments)
        changes = diff_specs(load_spec(arguments.old), load_spec(arguments.new))
        for change in changes:
            print(change)
        breaking = sum(change.breaking for change in changes)
        print(f"{len(changes)} changes, {breaking} breaking")
        return 1 if breaking else 0
    except CodegenError as exc:
        print(f"common-clients: {exc}", file=sys.stderr)
        return 2


def _generate(arguments: argparse.Namespace) -> int:
    target = package_folder(arguments.out, arguments.package or arguments.name)
    if not arguments.check:
        check_folder(target)  # before the work: a folder it may not write into is said at once
    spec = load_spec(arguments.spec, root=arguments.root, strict=arguments.strict)
    files = generate_client(
        spec, service=arguments.name, package=arguments.package, progress=_progress
    )
    for warning in spec.warnings:
        print(f"common-clients: warning: {warning}", file=sys.stderr)
    if arguments.check:
        stale = stale_files(files, target)
        for entry in stale:
            print(f"stale: {target / entry}")
        return 1 if stale else 0
    write_client(files, target)
    count = len(spec.warnings)
    warned = f", {count} warning{'' if count == 1 else 's'}" if count else ""
    print(f"wrote {len(files)} files to {target}{warned}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
