"""How the generator writes Python: one ``__all__`` order (ruff's), one ruff run, text as data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from common_clients.codegen import generate_client, parse_spec
from common_clients.codegen._source import docstring, format_sources, literal_source, sort_all

NAMES_WITH_DIGITS = [
    "Pet10",
    "Pet2",
    "Pet",
    "Pet02",
    "pet_10",
    "pet_9",
    "V1Item",
    "V10Item",
    "V9Item",
    "MAX_2",
    "MAX_10",
    "A",
    "a1b2",
    "a1b10",
]


def _ruff_sort_violations(tmp_path: Path, names: list[str]) -> str:
    module = tmp_path / "exported.py"
    module.write_text(f"__all__ = {names!r}\n")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select=RUF022", str(module)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout if result.returncode else ""


def test_sort_all_orders_names_with_digits_as_ruff_does(tmp_path: Path) -> None:
    ordered = sort_all(NAMES_WITH_DIGITS)
    assert _ruff_sort_violations(tmp_path, ordered) == ""
    assert ordered.index("Pet2") < ordered.index("Pet10")
    assert ordered.index("V9Item") < ordered.index("V10Item")
    assert ordered[:2] == ["MAX_2", "MAX_10"]
    # A plain sort puts Pet10 before Pet2, which ruff rejects: the test above could fail.
    assert _ruff_sort_violations(tmp_path, sorted(NAMES_WITH_DIGITS)) != ""


def test_every_generated_all_is_in_ruffs_order_when_names_carry_digits(tmp_path: Path) -> None:
    tags = ["pets2", "pets10", "v1", "v10", "v9"]
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            f"/{tag}/": {
                "get": {
                    "operationId": f"{tag}_list",
                    "tags": [tag],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": f"#/components/schemas/Item{tag}"}
                                }
                            },
                        }
                    },
                }
            }
            for tag in tags
        },
        "components": {
            "schemas": {
                f"Item{tag}": {"type": "object", "properties": {"id": {"type": "integer"}}}
                for tag in tags
            }
        },
    }
    files = generate_client(parse_spec(json.dumps(document)), service="digits", package="digits")
    for relative, source in files.items():
        path = tmp_path / "digits" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select=RUF022,I",
            "--line-length=100",
            "--config=lint.isort.known-first-party=['digits', 'common_clients']",
            "digits",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "text", ['"""', "'''", "\\", 'end"', "a\x00b", "\u2028", "{x}", "é \U0001f600", "\\N{BULLET}"]
)
def test_text_stays_text_in_literals_and_docstrings(text: str) -> None:
    source = f"VALUE = {literal_source(text)}\n\n\ndef f() -> None:\n{docstring(text, '    ')}"
    namespace: dict[str, object] = {}
    exec(compile(format_sources({"m.py": source})["m.py"], "m.py", "exec"), namespace)  # noqa: S102
    assert namespace["VALUE"] == text
    assert isinstance(getattr(namespace["f"], "__doc__", None), str)
