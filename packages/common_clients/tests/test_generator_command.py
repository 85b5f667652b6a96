"""``common-clients generate`` as a team outside this repository runs it, on its own document.

Each test runs the command (or the function behind it) into a temporary folder and checks the
result the way its users will meet it: imported in a fresh interpreter, with nothing but the
public runtime under it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from common_clients.codegen._cli import main as cli

CATALOG: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Catalog", "version": "1"},
    "paths": {
        "/items/{id}/": {
            "get": {
                "operationId": "items_retrieve",
                "tags": ["items"],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": {
                        "description": "the item",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}
                        },
                    }
                },
            }
        },
        "/things/": {
            "get": {
                "operationId": "things_list",
                "tags": ["things"],
                "responses": {
                    "200": {
                        "description": "one of two things",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                        },
                    }
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Item": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            },
            "Bolt": {
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"type": "string", "enum": ["bolt"]}},
            },
            "Nut": {
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"type": "string", "enum": ["nut"]}},
            },
            "Thing": {
                "oneOf": [
                    {"$ref": "#/components/schemas/Bolt"},
                    {"$ref": "#/components/schemas/Nut"},
                ],
                "discriminator": {
                    "propertyName": "kind",
                    "mapping": {
                        "bolt": "#/components/schemas/Bolt",
                        "nut": "#/components/schemas/Nut",
                    },
                },
            },
        }
    },
}


def _document(tmp_path: Path, document: dict[str, Any] = CATALOG) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document))
    return path


def _imported_modules(folder: Path) -> set[str]:
    """Every module the ``.py`` files under ``folder`` import from."""
    modules: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module)
            elif isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
    return modules


@pytest.mark.parametrize(
    ("package", "folder"),
    [("catalog_client", "catalog_client"), ("acme.clients.catalog", "acme/clients/catalog")],
)
def test_the_package_option_names_what_the_output_imports_as(
    tmp_path: Path, package: str, folder: str
) -> None:
    out = tmp_path / "out"
    arguments = ["generate", str(_document(tmp_path)), "--out", str(out), "--name", "catalog"]
    assert cli([*arguments, "--package", package]) == 0
    assert (out / folder / "_client.py").is_file()
    probe = (
        f"from {package} import CatalogClient\n"
        f"from {package}.models import Bolt, Item, Thing\n"
        "from pydantic import TypeAdapter\n"
        "assert CatalogClient.service_name == 'catalog'\n"
        "assert Item(id=1, name='x').name == 'x'\n"
        "assert isinstance(TypeAdapter(Thing).validate_python({'kind': 'bolt'}), Bolt)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=out, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_without_a_package_the_output_imports_as_the_service_name(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli(["generate", str(_document(tmp_path)), "--out", str(out), "--name", "catalog"]) == 0
    result = subprocess.run(
        [sys.executable, "-c", "import catalog; catalog.CatalogClient"],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_generated_code_imports_only_the_public_runtime(tmp_path: Path) -> None:
    out = tmp_path / "out"
    arguments = ["generate", str(_document(tmp_path)), "--out", str(out), "--name", "catalog"]
    assert cli([*arguments, "--package", "catalog_client"]) == 0
    ours = {m for m in _imported_modules(out) if m.split(".")[0] == "common_clients"}
    assert ours == {"common_clients", "common_clients.runtime"}
    models = (out / "catalog_client" / "models.py").read_text()
    assert "class _Model" not in models
    assert "def _discriminate" not in models


def test_a_package_name_that_is_no_identifier_is_refused(tmp_path: Path, capsys: Any) -> None:
    arguments = ["generate", str(_document(tmp_path)), "--out", str(tmp_path), "--name", "catalog"]
    assert cli([*arguments, "--package", "catalog-client"]) == 2
    assert "'catalog-client' is not a dotted Python identifier" in capsys.readouterr().err
