"""Property: whatever document it is given, the generator refuses in one line or writes a client
that imports, validates and passes ``mypy --strict``.

Hypothesis builds OpenAPI documents whose names, descriptions, defaults and enum values are drawn
from hostile text (quotes, backslashes, braces, keywords, the names generated code binds, control
characters, non-finite numbers), nested through objects, arrays, unions and ``allOf``, with
dangling and ``null`` schemas among them. Every output is imported; all of them are then checked
by one ``mypy --strict`` run.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common_clients.codegen import CodegenError, generate_client, parse_spec, write_client

HOSTILE = [
    '"""',
    "'''",
    "\\",
    "{x}",
    "}{",
    "class",
    "__init__",
    "model_config",
    "self",
    "body",
    "options",
    "list",
    "str",
    "Any",
    "None",
    "True",
    "GeneratedModel",
    "discriminate",
    "Field",
    "1st",
    "-1",
    "+1",
    "$",
    "a b",
    "é",
    "\u2028",
    "\x00",
]
text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(codec="utf-8"), max_size=12),
)
names = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(codec="utf-8"), max_size=8))
numbers = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(10**400),
)


def _scalar() -> st.SearchStrategy[dict[str, Any]]:
    string = st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "default": text,
            "enum": st.lists(text, min_size=1, max_size=4, unique=True),
            "format": st.sampled_from(["date-time", "uuid", "binary", "email", "decimal"]),
        },
    )
    number = st.fixed_dictionaries(
        {"type": st.sampled_from(["number", "integer"])},
        optional={
            "default": numbers,
            "enum": st.lists(st.integers(-5, 5), min_size=1, unique=True),
        },
    )
    boolean = st.fixed_dictionaries(
        {"type": st.just("boolean")}, optional={"default": st.booleans()}
    )
    other = st.sampled_from(
        [
            {},
            {"type": "null"},
            {"$ref": "#/components/schemas/Nowhere"},
            {"$ref": "#/components/schemas/Base"},
            {"nullable": True, "type": "string"},
        ]
    )
    return st.one_of(string, number, boolean, other)


def _with_text(schema: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(schema, st.dictionaries(st.sampled_from(["description", "title"]), text)).map(
        lambda pair: {**pair[0], **pair[1]}
    )


def _compound(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = st.dictionaries(names, children, min_size=1, max_size=4)
    obj = properties.flatmap(
        lambda props: st.fixed_dictionaries(
            {"type": st.just("object"), "properties": st.just(props)},
            optional={
                "required": st.lists(st.sampled_from(sorted(props)), min_size=1, unique=True),
                "additionalProperties": st.one_of(st.booleans(), children),
            },
        )
    )
    return st.one_of(
        obj,
        st.builds(lambda items: {"type": "array", "items": items}, children),
        st.builds(lambda value: {"type": "object", "additionalProperties": value}, children),
        st.builds(lambda members: {"anyOf": members}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda members: {"oneOf": members}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda members: {"allOf": members}, st.lists(children, min_size=1, max_size=3)),
    )


schemas = st.recursive(_with_text(_scalar()), lambda c: _with_text(_compound(c)), max_leaves=8)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    components = draw(st.dictionaries(names.filter(bool), schemas, max_size=4))
    components["Base"] = {"type": "object", "properties": {"id": {"type": "integer"}}}
    query = draw(st.lists(names.filter(bool), max_size=3, unique=True))
    operation_id = draw(names.filter(bool))
    return {
        "openapi": "3.0.3",
        "info": {"title": draw(text), "version": "1", "description": draw(text)},
        "paths": {
            "/items/{id}/": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "get": {
                    "operationId": f"get {operation_id}",
                    "tags": [draw(names.filter(bool))],
                    "description": draw(text),
                    "parameters": [
                        {"name": name, "in": "query", "schema": draw(schemas)} for name in query
                    ],
                    "responses": {
                        "200": {
                            "description": draw(text),
                            "content": {"application/json": {"schema": draw(schemas)}},
                        }
                    },
                },
                "post": {
                    "operationId": f"post {operation_id}",
                    "requestBody": {"content": {"application/json": {"schema": draw(schemas)}}},
                    "responses": {"204": {"description": "done"}},
                },
            }
        },
        "components": {"schemas": components},
    }


@pytest.mark.slow
def test_every_document_is_refused_in_one_line_or_generates_importable_typed_code(
    tmp_path: Path,
) -> None:
    packages: list[str] = []
    refusals: list[str] = []
    sys.path.insert(0, str(tmp_path))

    @settings(
        max_examples=int(os.environ.get("COMMONS_CODEGEN_EXAMPLES", "25")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(documents())
    def generate(document: dict[str, Any]) -> None:
        package = f"drawn_{len(packages)}"
        try:
            spec = parse_spec(json.dumps(document), source=f"{package}.json")
            files = generate_client(spec, service="drawn", package=package)
        except CodegenError as error:
            refusals.append(str(error))
            return
        write_client(files, tmp_path / package)
        packages.append(package)
        module = importlib.import_module(package)
        models = importlib.import_module(f"{package}.models")
        for name in models.__all__:
            value = getattr(models, name)
            if isinstance(value, type) and hasattr(value, "model_rebuild"):
                value.model_rebuild()  # every model builds, forward references and all
        assert module.DrawnClient.service_name == "drawn"

    try:
        generate()
    finally:
        sys.path.remove(str(tmp_path))
    assert all("\n" not in refusal.strip() for refusal in refusals), refusals
    assert packages, "no drawn document generated a client"
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
        + [argument for package in packages for argument in ("-p", package)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MYPYPATH": str(tmp_path)},
    )
    assert mypy.returncode == 0, mypy.stdout[-4000:]
