"""load_spec / parse_spec: documents are validated first, and a bad one names the JSON pointer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from common_clients.codegen import Spec, SpecError, load_spec, parse_spec


def _document(version: str = "3.0.3", **extra: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "openapi": version,
        "info": {"title": "Pets", "version": "1"},
        "paths": {
            "/pets/{pet_id}": {
                "parameters": [
                    {
                        "name": "pet_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "get": {
                    "operationId": "pets_retrieve",
                    "tags": ["pets"],
                    "parameters": [{"$ref": "#/components/parameters/Expand"}],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}
                            },
                        },
                        "404": {"$ref": "#/components/responses/NotFound"},
                    },
                },
            }
        },
        "components": {
            "parameters": {
                "Expand": {"name": "expand", "in": "query", "schema": {"type": "boolean"}}
            },
            "responses": {"NotFound": {"description": "no such pet"}},
            "schemas": {
                "Pet": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                }
            },
        },
    }
    document.update(extra)
    return document


def _parse(document: dict[str, Any]) -> Spec:
    return parse_spec(json.dumps(document), source="pets.json")


def _error(document: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as caught:
        _parse(document)
    return caught.value


def test_json_and_yaml_documents_load_alike(tmp_path: Path) -> None:
    import yaml

    document = _document()
    (tmp_path / "pets.json").write_text(json.dumps(document))
    (tmp_path / "pets.yaml").write_text(yaml.safe_dump(document))
    from_json = load_spec(tmp_path / "pets.json")
    from_yaml = load_spec(tmp_path / "pets.yaml")
    assert from_json.document == from_yaml.document
    assert from_json.version == "3.0"
    assert from_json.sha256 != from_yaml.sha256  # the hash is of the file's bytes


def test_yaml_status_codes_and_dates_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "pets.yaml"
    path.write_text(
        "openapi: 3.1.0\n"
        "info: {title: t, version: '1'}\n"
        "paths:\n"
        "  /a:\n"
        "    get:\n"
        "      responses:\n"
        "        200:\n"
        "          description: ok\n"
        "components:\n"
        "  schemas:\n"
        "    Day: {type: string, format: date, example: 2024-01-31}\n"
    )
    spec = load_spec(path)
    assert spec.version == "3.1"
    assert next(spec.operations()).responses[0].status == "200"
    assert spec.schemas["Day"]["example"] == "2024-01-31"


def test_operations_merge_path_parameters_and_resolve_references() -> None:
    (operation,) = _parse(_document()).operations()
    assert (operation.method, operation.path, operation.operation_id) == (
        "get",
        "/pets/{pet_id}",
        "pets_retrieve",
    )
    assert [(p.location, p.name, p.required) for p in operation.parameters] == [
        ("path", "pet_id", True),
        ("query", "expand", False),
    ]
    assert operation.parameters[1].pointer == "/components/parameters/Expand"
    assert [r.status for r in operation.responses] == ["200", "404"]
    assert operation.responses[1].description == "no such pet"
    assert operation.responses[0].content[0].media_type == "application/json"


def test_resolve_follows_percent_encoded_pointers() -> None:
    spec = _parse(_document())
    target, pointer = spec.resolve(
        {"$ref": "#/paths/~1pets~1%7Bpet_id%7D/get/responses/200/content/application~1json/schema"}
    )
    assert pointer == "/components/schemas/Pet"  # through the response's own $ref
    assert target["required"] == ["id"]
    assert spec.resolve({"type": "string"}) == ({"type": "string"}, None)


def test_a_field_of_the_wrong_type_names_its_pointer() -> None:
    document = _document()
    document["paths"]["/pets/{pet_id}"]["get"]["responses"]["200"]["description"] = 5
    error = _error(document)
    assert error.pointer == "/paths/~1pets~1{pet_id}/get/responses/200/description"
    assert "pets.json: #/paths/~1pets~1{pet_id}/get/responses/200/description" in str(error)


def test_a_schema_with_an_unknown_type_names_its_pointer() -> None:
    document = _document()
    document["components"]["schemas"]["Pet"]["properties"]["name"] = {"type": "strin"}
    error = _error(document)
    assert error.pointer.startswith("/components/schemas/Pet/properties/name")


def test_a_missing_required_field_is_reported_on_its_parent() -> None:
    document = _document()
    del document["info"]["version"]
    error = _error(document)
    assert error.pointer == "/info"
    assert "version" in error.message


def test_a_dangling_reference_is_a_warning_naming_where_it_is_used_an_error_if_strict() -> None:
    document = _document()
    document["components"]["schemas"]["Pet"]["properties"]["owner"] = {
        "$ref": "#/components/schemas/Owner"
    }
    (warning,) = parse_spec(json.dumps(document)).warnings
    assert warning.pointer == "/components/schemas/Pet/properties/owner"
    assert "#/components/schemas/Owner" in warning.message
    with pytest.raises(SpecError) as caught:
        parse_spec(json.dumps(document), strict=True)
    assert caught.value.pointer == "/components/schemas/Pet/properties/owner"
    assert "#/components/schemas/Owner" in caught.value.message


def test_a_reference_loop_is_an_error() -> None:
    document = _document()
    document["components"]["schemas"]["A"] = {"$ref": "#/components/schemas/B"}
    document["components"]["schemas"]["B"] = {"$ref": "#/components/schemas/A"}
    error = _error(document)
    assert "loop" in error.message
    assert error.pointer in ("/components/schemas/A", "/components/schemas/B")


def test_a_reference_to_a_missing_file_names_where_it_is_used() -> None:
    document = _document()
    document["components"]["schemas"]["Pet"]["properties"]["owner"] = {"$ref": "owners.yaml#/Owner"}
    error = _error(document)
    assert error.pointer == "/components/schemas/Pet/properties/owner"
    assert "cannot read owners.yaml" in error.message


def test_refs_inside_examples_are_data() -> None:
    document = _document()
    document["components"]["schemas"]["Pet"]["example"] = {"$ref": "not a reference"}
    document["components"]["schemas"]["Pet"]["properties"]["enum"] = {
        "$ref": "#/components/schemas/Pet"
    }
    _parse(document)


def test_duplicate_operation_ids_are_an_error() -> None:
    document = _document()
    document["paths"]["/pets"] = {
        "get": {"operationId": "pets_retrieve", "responses": {"200": {"description": "ok"}}}
    }
    error = _error(document)
    assert error.pointer == "/paths/~1pets/get/operationId"
    assert "#/paths/~1pets~1{pet_id}/get" in error.message


def test_an_undeclared_path_parameter_is_an_error() -> None:
    document = _document()
    document["paths"]["/pets/{pet_id}/toys/{toy_id}"] = {
        "get": {"responses": {"200": {"description": "ok"}}}
    }
    error = _error(document)
    assert error.pointer == "/paths/~1pets~1{pet_id}~1toys~1{toy_id}/get"
    assert "toy_id" in error.message


@pytest.mark.parametrize(
    ("document", "pointer", "words"),
    [
        ({"swagger": "2.0", "info": {}, "paths": {}}, "/swagger", "Swagger 2.0"),
        ({"openapi": "4.0.0", "info": {}, "paths": {}}, "/openapi", "unsupported"),
        ({"info": {}, "paths": {}}, "", "not an OpenAPI 3 document"),
    ],
)
def test_other_formats_are_named(document: dict[str, Any], pointer: str, words: str) -> None:
    error = _error(document)
    assert error.pointer == pointer
    assert words in error.message


def test_unparseable_files_give_a_position(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"openapi": "3.0.3",\n "info": }')
    with pytest.raises(SpecError, match=r"bad.json: #/: invalid JSON at line 2"):
        load_spec(bad_json)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("openapi: 3.0.3\ninfo: [unclosed\n")
    with pytest.raises(SpecError, match=r"invalid YAML at line \d+"):
        load_spec(bad_yaml)
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")


def test_schema_objects_of_a_3_1_document_are_checked_too() -> None:
    # The 3.1 document schema leaves Schema Objects to JSON Schema 2020-12: checked separately.
    document = _document("3.1.0")
    document["components"]["schemas"]["Pet"]["properties"]["name"] = {"type": "strin"}
    assert _error(document).pointer == "/components/schemas/Pet/properties/name/type"
    document = _document("3.1.0")
    response = document["paths"]["/pets/{pet_id}"]["get"]["responses"]["200"]
    response["content"]["application/json"]["schema"] = {"type": "object", "required": "id"}
    error = _error(document)
    assert error.pointer == (
        "/paths/~1pets~1{pet_id}/get/responses/200/content/application~1json/schema/required"
    )
    assert "is not of type" in error.message


def test_yaml_is_read_by_the_yaml_1_2_core_schema(tmp_path: Path) -> None:
    path = tmp_path / "switches.yaml"
    path.write_text(
        "openapi: 3.0.3\n"
        "info: {title: t, version: '1'}\n"
        "paths: {}\n"
        "components:\n"
        "  schemas:\n"
        "    Answer: {type: string, enum: [yes, no, on, off]}\n"
        "    Hook:\n"
        "      type: object\n"
        "      properties:\n"
        "        on: {type: string, example: 12:30}\n"
        "        retries: {type: integer, default: 010}\n"
        "        enabled: {type: boolean, default: true}\n"
    )
    spec = load_spec(path)
    assert spec.schemas["Answer"]["enum"] == ["yes", "no", "on", "off"]
    hook = spec.schemas["Hook"]["properties"]
    assert list(hook) == ["on", "retries", "enabled"]
    assert hook["on"]["example"] == "12:30"
    assert hook["retries"]["default"] == 10
    assert hook["enabled"]["default"] is True
