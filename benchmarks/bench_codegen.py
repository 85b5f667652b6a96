"""Benchmark of the client generator on the largest document (``nox -s bench -- codegen``).

Generation time and peak memory of common-clients' generator on GitHub Enterprise Cloud's OpenAPI
document (1471 operations, 1083 schemas, 14 MB; pinned npm package, checked by sha256), against
the baseline, openapi-python-client on the same document. The baseline runs from its own venv,
made here with uv (``.bench/openapi-python-client/``), so its pins never meet ours.

Each run is a fresh process, timed from outside and measured by its peak resident set size
(``getrusage(RUSAGE_CHILDREN)`` in a one-child wrapper). Runs alternate between the two tools and
the median of each is reported. Goal: at most 0.3 of the baseline's time and 0.5 of its peak
memory.

Both sides do the same job: the document loaded and validated, a whole client written out
(models, one method per operation, sync and async), formatted by ruff.

Run: ``python benchmarks/bench_codegen.py [--rounds 3] [--document github-ghec]``. About 2 min.
``nox -s bench -- clients`` runs it too (:func:`compare`), after the per-call and import figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common_clients.codegen import load_spec
from common_clients.codegen._generate import generate_client, write_client

# The document corpus lives beside common-clients' tests, out
# of its wheel: that folder is put on the path (of this process and of the ones it starts).
TESTS = Path(__file__).resolve().parents[1] / "packages" / "common_clients" / "tests"
sys.path.insert(0, str(TESTS))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))

from openapi_corpus import DOCUMENTS, CorpusUnavailable, fetch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "openapi-docs"
BASELINE_VERSION = "0.29.1"
BASELINE_VENV = ROOT / ".bench" / "openapi-python-client"
TIME_GOAL = 0.30  # ours / baseline, wall time
MEMORY_GOAL = 0.50  # ours / baseline, peak resident set size

# Runs a command as its only child and reports its wall time and peak RSS as JSON on stderr.
_WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
result = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
elapsed = time.perf_counter() - started
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
warnings = result.stderr.count("WARNING")
print(json.dumps({"seconds": elapsed, "peak_kb": peak_kb, "code": result.returncode,
                  "warnings": warnings, "tail": result.stderr[-400:]}), file=sys.stderr)
"""


def generate_ours(document: Path, output: Path) -> None:
    """One generation, as the command ``--generate`` runs it in a fresh process."""
    files = generate_client(
        document,
        service="bench",
        package="bench",
        progress=lambda done, total: print(f"models: {done}/{total}", file=sys.stderr),
    )
    write_client(files, output)


def _measure(command: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command], capture_output=True, text=True, check=True
    )
    report: dict[str, Any] = json.loads(result.stderr.strip().splitlines()[-1])
    if report["code"] != 0:
        raise SystemExit(f"{command[0]} failed ({report['code']}): {report['tail']}")
    return report


def _baseline() -> Path:
    executable = BASELINE_VENV / "bin" / "openapi-python-client"
    if executable.is_file():
        return executable
    uv = [sys.executable, "-m", "uv"] if _has_module("uv") else ["uv"]
    subprocess.run([*uv, "venv", "-q", "--python", sys.executable, str(BASELINE_VENV)], check=True)
    subprocess.run(
        [
            *uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(BASELINE_VENV / "bin" / "python"),
            f"openapi-python-client=={BASELINE_VERSION}",
        ],
        check=True,
    )
    return executable


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--document", default="github-ghec")
    parser.add_argument(
        "--generate", nargs=2, metavar=("DOCUMENT", "OUTPUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.generate:
        generate_ours(Path(args.generate[0]), Path(args.generate[1]))
        return
    compare(args.document, args.rounds)


def compare(document_name: str, rounds: int) -> None:
    """Generate ``document_name`` with both tools ``rounds`` times each and print the table."""
    (document,) = [d for d in DOCUMENTS if d.name == document_name]
    try:
        path = fetch(document, CACHE)
    except CorpusUnavailable as exc:
        raise SystemExit(f"cannot fetch {document.package}: {exc}") from exc
    spec = load_spec(path)
    operations = sum(1 for _ in spec.operations())
    baseline = _baseline()

    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(rounds):
            out = Path(scratch) / f"ours-{round_}"
            ours.append(_measure([sys.executable, __file__, "--generate", str(path), str(out)]))
            out = Path(scratch) / f"theirs-{round_}"
            theirs.append(
                _measure(
                    [
                        str(baseline),
                        "generate",
                        "--path",
                        str(path),
                        "--output-path",
                        str(out),
                        "--meta",
                        "none",
                    ]
                )
            )
            print(
                f"round {round_ + 1}/{rounds}: ours {ours[-1]['seconds']:.1f} s,"
                f" openapi-python-client {theirs[-1]['seconds']:.1f} s",
                file=sys.stderr,
            )
        shutil.rmtree(scratch, ignore_errors=True)

    our_time = statistics.median(r["seconds"] for r in ours)
    their_time = statistics.median(r["seconds"] for r in theirs)
    our_mem = statistics.median(r["peak_kb"] for r in ours) / 1024
    their_mem = statistics.median(r["peak_kb"] for r in theirs) / 1024
    print()
    print(
        f"Generation of {document.package}@{document.version} {document.member}"
        f" ({operations} operations, {len(spec.schemas)} schemas), median of {rounds},"
        f" {os.cpu_count()} cores"
    )
    print()
    rows = [
        ("common-clients generate", our_time, our_mem),
        (f"openapi-python-client {BASELINE_VERSION} (baseline)", their_time, their_mem),
    ]
    print(f"| {'generator':<42} | {'time (s)':>9} | {'peak RSS (MiB)':>15} |")
    print(f"| {'-' * 42} | {'-' * 8}: | {'-' * 14}: |")
    for name, seconds, mebibytes in rows:
        print(f"| {name:<42} | {seconds:>9.2f} | {mebibytes:>15.0f} |")
    ratio = "ratio (ours / baseline)"
    print(f"| {ratio:<42} | {our_time / their_time:>9.2f} | {our_mem / their_mem:>15.2f} |")
    print()
    time_met = "met" if our_time / their_time <= TIME_GOAL else "NOT met"
    memory_met = "met" if our_mem / their_mem <= MEMORY_GOAL else "NOT met"
    print(
        f"goal: time ratio <= {TIME_GOAL:.2f} ({time_met}),"
        f" memory ratio <= {MEMORY_GOAL:.2f} ({memory_met})"
    )
    print(
        f"baseline warnings (pieces it left out of its client): {theirs[0]['warnings']};"
        " ours: none (a schema it cannot generate fails the run, naming it)"
    )


if __name__ == "__main__":
    main()
