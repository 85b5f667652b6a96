"""Whole clients generated from real third-party OpenAPI documents (3.0 and 3.1, up to 1471 ops).

Each document (pinned npm package, see ``openapi_corpus``) goes through
``generate_client``; the packages are written to one folder, imported, instantiated, checked to
have one method per operation in every resource (nothing silently dropped), and type-checked by
one ``mypy --strict`` run. The GitHub Enterprise Server documents are left to the models tests:
they repeat GitHub's.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from common_clients.codegen import load_spec
from common_clients.codegen._generate import generate_client
from common_clients.codegen._operations import plan_resources
from openapi_corpus import DOCUMENTS, CorpusUnavailable, Document, fetch

CACHE = Path(__file__).resolve().parents[3] / ".cache" / "openapi-docs"
CHOSEN = [d for d in DOCUMENTS if d.valid and not d.name.startswith("ghes-")]


def _package(document: Document) -> str:
    return "thirdparty_" + document.name.replace("-", "_").replace(".", "_")


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every chosen document's client package, in one folder that is on ``sys.path``."""
    folder = tmp_path_factory.mktemp("clients")
    for document in CHOSEN:
        try:
            path = fetch(document, CACHE)
        except CorpusUnavailable as exc:
            pytest.skip(f"third-party OpenAPI documents cannot be fetched here: {exc}")
        package = _package(document)
        files = generate_client(path, service=package, package=package, spec_label=document.name)
        for relative, source in files.items():
            target = folder / package / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))


@pytest.mark.slow
@pytest.mark.parametrize("document", CHOSEN, ids=[d.name for d in CHOSEN])
def test_client_imports_with_a_method_per_operation(document: Document, clients: Path) -> None:
    spec = load_spec(fetch(document, CACHE))
    package = importlib.import_module(_package(document))
    (client_name,) = [
        name for name in package.__all__ if name.endswith("Client") and not name.startswith("Async")
    ]
    client = getattr(package, client_name)(base_url="http://127.0.0.1:9")
    try:
        resources = plan_resources(spec)
        assert sum(len(r.operations) for r in resources) == len(list(spec.operations()))
        for resource in resources:
            cls = type(getattr(client, resource.attribute))
            methods = [
                name
                for name, value in vars(cls).items()
                if callable(value) and not name.startswith("_") and name != "with_raw_response"
            ]
            assert len(methods) == len(resource.operations), resource.tag
    finally:
        client.close()


@pytest.mark.slow
def test_clients_pass_mypy_strict(clients: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
        + [_package(document) for document in CHOSEN],
        capture_output=True,
        text=True,
        check=False,
        cwd=clients,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
