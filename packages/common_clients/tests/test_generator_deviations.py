"""Deviations from OpenAPI that other generators tolerate: generated, with a warning naming each.

drf-spectacular and hand-written documents in the wild carry a response ``$ref`` that points to
nothing, OpenAPI 3.1's ``type: "null"`` in a 3.0 document, a ``null`` schema. Each is read the way
other generators read it (``Any``, nullable), the command prints one warning line per JSON pointer,
and ``--strict`` turns the first of them into the error.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from common_clients.codegen import SpecError, SpecWarning, generate_client, parse_spec
from common_clients.codegen._cli import main as cli

DEVIANT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "1"},
    "paths": {
        "/orders/": {
            "post": {
                "operationId": "orders_create",
                "requestBody": {"content": {"application/json": {"schema": None}}},
                "responses": {
                    "201": {
                        "description": "created",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}
                        },
                    }
                },
            },
            "get": {
                "operationId": "orders_list",
                "parameters": [{"$ref": "#/components/parameters/Missing"}],
                "responses": {
                    "200": {
                        "description": "the orders",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Order"}}
                        },
                    }
                },
            },
        }
    },
    "components": {
        "schemas": {
            "Order": {
                "type": "object",
                "required": ["id", "note", "coupon"],
                "properties": {
                    "id": {"type": "integer"},
                    "note": {"type": ["string", "null"]},
                    "coupon": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "extra": None,
                },
            }
        }
    },
}
WARNINGS = [
    "#/paths/~1orders~1/post/requestBody/content/application~1json/schema: a null schema",
    "#/components/schemas/Order/properties/extra: a null schema",
    '#/components/schemas/Order/properties/note/type: type "null" is OpenAPI 3.1',
    '#/components/schemas/Order/properties/coupon/anyOf/1/type: type "null" is OpenAPI 3.1',
    "#/paths/~1orders~1/post/responses/201/content/application~1json/schema:"
    " $ref '#/components/schemas/Gone' points to nothing",
    "#/paths/~1orders~1/get/parameters/0: $ref '#/components/parameters/Missing' points to nothing",
    "#/paths/~1orders~1/get/parameters/0: parameter left out",
]


def test_each_deviation_is_generated_with_a_warning_naming_its_pointer(tmp_path: Path) -> None:
    spec = parse_spec(json.dumps(DEVIANT), source="shop.json")
    files = generate_client(spec, service="shop", package="shop_client")
    messages = [str(warning) for warning in spec.warnings]
    assert all(isinstance(warning, SpecWarning) for warning in spec.warnings)
    for expected in WARNINGS:
        assert any(expected in message for message in messages), (expected, messages)
    assert len(messages) == len(WARNINGS), messages
    resource = files["resources/default.py"]
    assert (
        "def orders_create(self, *, body: Any = None, **options: Unpack[RequestOptions]) -> Any:"
        in (resource)
    )
    assert "def orders_list(self, **options: Unpack[RequestOptions]) -> Order:" in resource
    models = files["models.py"]
    assert "note: str | None" in models
    assert "coupon: str | None" in models
    assert "extra: Any = None" in models
    (tmp_path / "shop_client").mkdir()
    for relative, source in files.items():
        path = tmp_path / "shop_client" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    probe = (
        "from shop_client.models import Order\n"
        "o = Order.model_validate({'id': 1, 'note': None, 'coupon': None, 'extra': [1]})\n"
        "assert (o.note, o.coupon, o.extra) == (None, None, [1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_command_prints_one_line_per_warning(tmp_path: Path, capsys: Any) -> None:
    spec = tmp_path / "shop.json"
    spec.write_text(json.dumps(DEVIANT))
    assert cli(["generate", str(spec), "--out", str(tmp_path / "out"), "--name", "shop"]) == 0
    captured = capsys.readouterr()
    warned = [line for line in captured.err.splitlines() if "warning:" in line]
    assert len(warned) == len(WARNINGS)
    assert all(line.startswith(f"common-clients: warning: {spec}: #/") for line in warned)
    assert f"{len(WARNINGS)} warnings" in captured.out  # and "1 warning" for one


def test_strict_makes_the_first_warning_the_error(tmp_path: Path, capsys: Any) -> None:
    spec = tmp_path / "shop.json"
    spec.write_text(json.dumps(DEVIANT))
    out = tmp_path / "out"
    assert cli(["generate", str(spec), "--out", str(out), "--name", "shop", "--strict"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert WARNINGS[0] in err[0]
    assert err[0].endswith("(an error under --strict)")
    assert not out.exists()
    with pytest.raises(SpecError) as caught:
        parse_spec(json.dumps(DEVIANT), strict=True)
    pointer = "/paths/~1orders~1/post/requestBody/content/application~1json/schema"
    assert caught.value.pointer == pointer


def test_a_conforming_document_has_no_warnings() -> None:
    document = json.loads(json.dumps(DEVIANT))
    del document["paths"]["/orders/"]["get"]["parameters"]
    post = document["paths"]["/orders/"]["post"]
    post["requestBody"]["content"]["application/json"]["schema"] = {"type": "object"}
    post["responses"]["201"]["content"]["application/json"]["schema"] = {"type": "object"}
    order = document["components"]["schemas"]["Order"]["properties"]
    order["note"] = {"type": "string", "nullable": True}
    order["coupon"] = {"type": "string", "nullable": True}
    order["extra"] = {}
    spec = parse_spec(json.dumps(document), strict=True)
    generate_client(spec, service="shop")
    assert spec.warnings == []


@pytest.mark.parametrize(
    "values",
    [{"type": "null"}, {"type": "null", "nullable": True}, {"anyOf": [{"type": "null"}]}],
)
def test_a_null_only_type_stays_none_wherever_it_is_made_nullable(
    tmp_path: Path, values: dict[str, Any]
) -> None:
    """``type: "null"`` read as nullable gives ``None``, never ``None | None`` (which does not
    evaluate): as a property, as additional properties and as an array's items."""
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Bag", "version": "1"},
        "paths": {},
        "components": {
            "schemas": {
                "Bag": {
                    "type": "object",
                    "properties": {
                        "nothing": values,
                        "nothings": {"type": "array", "items": values},
                    },
                    "additionalProperties": values,
                }
            }
        },
    }
    spec = parse_spec(json.dumps(document), source="bag.json")
    files = generate_client(spec, service="bag", package="bag_client")
    assert "None | None" not in files["models.py"]
    (tmp_path / "bag_client").mkdir()
    for relative, source in files.items():
        (tmp_path / "bag_client" / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "bag_client" / relative).write_text(source)
    probe = (
        "from bag_client.models import Bag\n"
        "Bag.model_rebuild()\n"
        "b = Bag.model_validate({'nothing': None, 'nothings': [None], 'more': None})\n"
        "assert (b.nothing, b.nothings) == (None, [None])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
