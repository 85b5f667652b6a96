"""``nox -s bench -- clients`` still measures what the issue asks, run here at a tiny size.

The figures are not judged here (a shared CI machine is no place to time anything); what is
checked is that the benchmark runs: the generated client against the hand-written one call for
call (it asserts both give the same result) on both transports, the import time, and the
generator's side of the generation comparison on a real document. The baseline of that comparison,
openapi-python-client, comes from its index and is left to the benchmark session.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from openapi_corpus import DOCUMENTS, CorpusUnavailable, fetch

ROOT = Path(__file__).resolve().parents[3]
BENCHMARKS = ROOT / "benchmarks"
ROW = re.compile(
    r"^(MockTransport|loopback server): (retrieve|create)(?: \(bare\)|, cache hit)?"
    r"\s+([\d.]+)\s+([\d.]+)"
    r"\s+([\d.]+)$",
    re.MULTILINE,
)
# The telemetry rows, indented under their phase ("no SDK", then "SDK, batch").
TELEMETRY_ROW = re.compile(
    r"^  (MockTransport|loopback server): (retrieve|create)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$",
    re.MULTILINE,
)


def _script(name: str) -> Path:
    script = BENCHMARKS / name
    if not script.is_file():
        pytest.skip(f"{script} is not here (a source distribution holds the package alone)")
    return script


@pytest.mark.slow
def test_the_client_benchmark_reports_per_call_ratios_and_import_time() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(_script("bench_clients.py")),
            *("--rounds", "1", "--calls", "20", "--codegen-rounds", "0", "--instructions", "0"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = ROW.findall(result.stdout)
    assert len(rows) == 9, result.stdout
    for *_, ours, theirs, ratio in rows:
        assert float(ours) > 0
        assert float(theirs) > 0
        assert float(ratio) == pytest.approx(float(ours) / float(theirs), rel=0.01)
    assert re.search(r"^import inventory_client\s+[\d.]+$", result.stdout, re.MULTILINE)
    # Telemetry against the same client with telemetry = False: without, then with the SDK; then
    # the named baseline, OpenTelemetry's httpx instrumentation on the hand-written client.
    phases = re.findall(r"^(no SDK|SDK, batch)(:[^\n]*?)? {2,}", result.stdout, re.MULTILINE)
    assert [phase for phase, _ in phases] == ["no SDK", "SDK, batch", "SDK, batch"], result.stdout
    assert "httpx instrumentation" in phases[2][1], result.stdout
    telemetry = TELEMETRY_ROW.findall(result.stdout)
    assert len(telemetry) == 12, result.stdout
    added = re.findall(
        r"^  .+ \+ *(-?[\d.]+) us against \+ *(-?[\d.]+) us: (-?[\d.]+|inf)x$", result.stdout, re.M
    )
    assert len(added) == 4, result.stdout
    for *_, traced, absent, ratio in telemetry:
        assert float(traced) > 0
        assert float(absent) > 0
        assert float(ratio) == pytest.approx(float(traced) / float(absent), rel=0.01)


@pytest.mark.slow
def test_the_generation_benchmark_generates_a_real_document(tmp_path: Path) -> None:
    (document,) = [d for d in DOCUMENTS if d.name == "train-travel"]
    try:
        path = fetch(document, ROOT / ".cache" / "openapi-docs")
    except CorpusUnavailable as exc:
        pytest.skip(f"third-party OpenAPI documents cannot be fetched here: {exc}")
    result = subprocess.run(
        [
            sys.executable,
            str(_script("bench_codegen.py")),
            *("--generate", str(path), str(tmp_path / "out")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / "models.py").is_file()
    assert re.search(r"models: (\d+)/\1$", result.stderr, re.MULTILINE), result.stderr
