"""diff_specs on a real API evolution: GitHub Enterprise Server 3.17 -> 3.18, from npm."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from common_clients.codegen import ChangeKind, diff_specs, load_spec
from openapi_corpus import DOCUMENTS, CorpusUnavailable, Document, fetch

CACHE = Path(__file__).resolve().parents[3] / ".cache" / "openapi-docs"


def _fetch(name: str) -> Path:
    (document,) = [d for d in DOCUMENTS if d.name == name]
    try:
        return fetch(document, CACHE)
    except CorpusUnavailable as exc:
        pytest.skip(f"third-party OpenAPI documents cannot be fetched here: {exc}")


def _document(name: str) -> Document:
    (document,) = [d for d in DOCUMENTS if d.name == name]
    return document


@pytest.mark.slow
def test_github_enterprise_server_release_diff() -> None:
    old = load_spec(_fetch("ghes-3.17"))
    new = load_spec(_fetch("ghes-3.18"))
    started = time.perf_counter()
    changes = diff_specs(old, new)
    elapsed = time.perf_counter() - started
    kinds = Counter(change.kind for change in changes)
    old_ops = {(op.method, op.path) for op in old.operations()}
    new_ops = {(op.method, op.path) for op in new.operations()}
    # Operations added between the releases are each reported, and classed compatible.
    assert kinds[ChangeKind.OPERATION_ADDED] >= len(new_ops - old_ops) > 0
    added = [c for c in changes if c.kind == ChangeKind.OPERATION_ADDED]
    assert not any(c.breaking for c in added)
    # Every change is reported once.
    assert len({(c.kind, c.pointer, c.message) for c in changes}) == len(changes)
    assert elapsed < 60  # a sanity bound for a 1000-operation document, not a benchmark
    # A release diffed against itself has nothing to report.
    assert diff_specs(new, load_spec(_fetch("ghes-3.18"))) == []
    assert _document("ghes-3.18").openapi == new.version
