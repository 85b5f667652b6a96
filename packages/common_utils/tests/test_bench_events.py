"""The events benchmark (``nox -s bench -- events``) runs, checks its deliveries and reports.

The figures themselves are measured by ``nox -s bench``; here a small run proves that the
benchmark still works end to end (outbox -> relay -> broker -> consumer against plain
``send_task``, and the cost of ``publish()``), so the comparison it prints stays available.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_events.py"
NUMBER = r"(\d+(?:\.\d+)?)"


@pytest.mark.slow
def test_the_events_benchmark_delivers_every_event_once_and_prints_both_figures() -> None:
    if not BENCH.is_file():
        pytest.skip(f"{BENCH} is not here (the repository's benchmarks are not in the sdist)")
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            *("--events", "60", "--rounds", "3", "--transactions", "60", "--latency-events", "20"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    out = done.stdout
    assert (
        "checked: 180 events, each handled once by the baseline and once by the outbox batched, "
        "180 more once one a message; 20 latency events"
    ) in out
    baseline = re.search(rf"send_task -> worker \(baseline\)\s+{NUMBER}\s+1\.00", out)
    outbox = re.search(rf"outbox, 100 events a message\s+{NUMBER}\s+{NUMBER}", out)
    single = re.search(rf"outbox, one event a message\s+{NUMBER}\s+{NUMBER}", out)
    added = re.search(rf"publish\(\) adds\s+(-?\d+)\s+\({NUMBER}x\)", out)
    assert baseline, out
    assert outbox, out
    assert single, out
    assert added, out
    assert float(baseline.group(1)) > 0
    assert float(outbox.group(1)) > 0
    assert float(single.group(1)) > 0
    assert float(added.group(2)) > 0
    # The two closing lines, for scripts: p50 <= p99, and the ratio is the two rates' quotient.
    *_, latency_line, throughput_line = out.strip().splitlines()
    latency = re.fullmatch(rf"latency: p50 {NUMBER} ms, p99 {NUMBER} ms", latency_line)
    throughput = re.fullmatch(
        rf"throughput: {NUMBER} events/s against {NUMBER}, ratio {NUMBER}", throughput_line
    )
    assert latency, out
    assert throughput, out
    assert 0 < float(latency.group(1)) <= float(latency.group(2))
    rate, baseline_rate, ratio = (float(throughput.group(i)) for i in (1, 2, 3))
    assert ratio == pytest.approx(rate / baseline_rate, rel=0.05, abs=0.01)
