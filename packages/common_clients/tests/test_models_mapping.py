"""ModelEmitter: each OpenAPI schema shape becomes the pydantic model a careful person would write.

The generated module is imported for real and fed real payloads; one test runs ``mypy --strict``
over it, so the annotations are checked as a user's type checker would see them.
"""

from __future__ import annotations

import datetime
import decimal
import importlib.util
import json
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pydantic
import pytest

from common_clients.codegen import ModelEmitter, Spec, SpecError, parse_spec

SCHEMAS: dict[str, Any] = {
    "Status": {"type": "string", "enum": ["active", "disabled"], "description": "Account state."},
    "Priority": {"type": "integer", "enum": [1, 2, 3]},
    "Colour": {"type": "string", "enum": ["red", "green", None], "nullable": True},
    "User": {
        "type": "object",
        "description": "A person who can sign in.",
        "required": ["id", "username", "status", "created"],
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "username": {"type": "string", "description": "Unique; 150 characters or fewer."},
            "password": {"type": "string", "writeOnly": True},
            "status": {"$ref": "#/components/schemas/Status"},
            "created": {"type": "string", "format": "date-time", "readOnly": True},
            "birthday": {"type": "string", "format": "date", "nullable": True},
            "uid": {"type": "string", "format": "uuid"},
            "balance": {"type": "string", "format": "decimal"},
            "avatar": {"type": "string", "format": "binary"},
            "firstName": {"type": "string"},
            "first_name": {"type": "string"},
            "class": {"type": "string"},
            "2fa": {"type": "boolean", "default": False},
            "+1": {"type": "integer", "default": 0},
            "-1": {"type": "integer"},
            "json": {"type": "string"},
            "nickname": {"type": "string", "deprecated": True},
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
            "address": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            },
        },
    },
    "simple-user": {"type": "object", "properties": {"login": {"type": "string"}}},
    "simple_user": {"type": "object", "properties": {"email": {"type": "string"}}},
    "Pet": {
        "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
        "discriminator": {
            "propertyName": "pet_type",
            "mapping": {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"},
        },
    },
    "Cat": {
        "type": "object",
        "required": ["pet_type"],
        "properties": {"pet_type": {"type": "string"}, "lives": {"type": "integer"}},
    },
    "Dog": {
        "type": "object",
        "required": ["pet_type"],
        "properties": {"pet_type": {"type": "string"}, "good_boy": {"type": "boolean"}},
    },
    "Shape": {
        "anyOf": [
            {
                "type": "object",
                "title": "circle",
                "required": ["kind"],
                "properties": {"kind": {"enum": ["circle"]}, "radius": {"type": "number"}},
            },
            {
                "type": "object",
                "title": "square",
                "required": ["kind"],
                "properties": {"kind": {"enum": ["square"]}, "side": {"type": "number"}},
            },
        ]
    },
    "IdOrName": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
    "Base": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "integer"}},
        "description": "Has an id.",
    },
    "Named": {
        "allOf": [
            {"$ref": "#/components/schemas/Base"},
            {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        ]
    },
    "Labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "Document": {
        "type": "object",
        "properties": {"title": {"type": "string"}},
        "additionalProperties": {"type": "integer"},
    },
    "Anything": {"type": "object"},
    "Node": {
        "type": "object",
        "required": ["value"],
        "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    },
    "Author": {
        "type": "object",
        "properties": {"books": {"type": "array", "items": {"$ref": "#/components/schemas/Book"}}},
    },
    "Book": {
        "type": "object",
        "properties": {
            "author": {
                "allOf": [{"$ref": "#/components/schemas/Author"}],
                "nullable": True,
            }
        },
    },
    "Team": {
        "type": "object",
        "deprecated": True,
        "properties": {
            "members": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
            "mode": {"type": "string", "enum": ["open", "closed"], "default": "open"},
            "ratio": {"type": "number", "default": 1},
            "ends": {"type": "string", "format": "date-time", "default": "2030-01-01T00:00:00Z"},
        },
    },
    "JsonValue": {
        "nullable": True,
        "oneOf": [
            {"type": "string"},
            {"type": "number"},
            {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
            {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/JsonValue"}},
        ],
    },
    "Forest": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}},
    "Tree": {
        "oneOf": [{"$ref": "#/components/schemas/Forest"}, {"$ref": "#/components/schemas/Leaf"}]
    },
    "Leaf": {"type": "object", "properties": {"data": {"$ref": "#/components/schemas/JsonValue"}}},
    "ShortCode": {"allOf": [{"maxLength": 3}, {"type": "string"}]},
    "Level": {"type": "integer", "default": 3},
    "Config": {
        "type": "object",
        "properties": {
            "level": {"$ref": "#/components/schemas/Level"},
            "code": {"$ref": "#/components/schemas/ShortCode"},
            "since": {"type": "string", "format": "date", "default": "2020-01-01"},
        },
    },
    "Tricky": {
        "type": "object",
        "description": 'Ends in a quote "and has """ triple quotes and a back\\slash"',
        "properties": {
            "caf\u00e9": {"type": "string", "enum": ["\u2019quoted\u2019"]},
            "_links": {"type": "object"},
            "links": {"type": "string"},
        },
    },
}


def _spec(schemas: dict[str, Any], version: str = "3.0.3") -> Spec:
    document = {
        "openapi": version,
        "info": {"title": "Test", "version": "1"},
        "paths": {},
        "components": {"schemas": schemas},
    }
    return parse_spec(json.dumps(document), source="test.json")


def _import(source: str, directory: Path, name: str) -> ModuleType:
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, str, ModelEmitter]:
    emitter = ModelEmitter(_spec(SCHEMAS))
    request_user = emitter.type_for(
        {"$ref": "#/components/schemas/User"}, name_hint="CreateUserBody", direction="request"
    )
    assert request_user == "UserRequest"
    emitter.type_for(
        {"$ref": "#/components/schemas/Team"}, name_hint="TeamBody", direction="request"
    )
    source = emitter.render()
    module = _import(source, tmp_path_factory.mktemp("models"), "generated_models_mapping")
    return module, source, emitter


def test_output_passes_mypy_strict(generated: tuple[ModuleType, str, ModelEmitter]) -> None:
    module = generated[0]
    assert module.__file__ is not None
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", module.__file__],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_output_passes_the_repository_ruff_rules(
    generated: tuple[ModuleType, str, ModelEmitter],
) -> None:
    module = generated[0]
    assert module.__file__ is not None
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            f"--config={root / 'pyproject.toml'}",
            module.__file__,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendering_is_deterministic(generated: tuple[ModuleType, str, ModelEmitter]) -> None:
    again = ModelEmitter(_spec(SCHEMAS))
    again.type_for(
        {"$ref": "#/components/schemas/User"}, name_hint="CreateUserBody", direction="request"
    )
    again.type_for({"$ref": "#/components/schemas/Team"}, name_hint="TeamBody", direction="request")
    assert again.render() == generated[1]


def test_every_schema_has_a_definition(generated: tuple[ModuleType, str, ModelEmitter]) -> None:
    module, _, emitter = generated
    assert set(emitter.component_names) == set(SCHEMAS)
    for name in emitter.component_names.values():
        assert name in module.__all__
        assert hasattr(module, name)


def test_names_are_valid_and_collision_free(
    generated: tuple[ModuleType, str, ModelEmitter],
) -> None:
    names = generated[2].component_names
    assert names["simple-user"] == "SimpleUser"
    assert names["simple_user"] == "SimpleUser2"
    fields = generated[0].User.model_fields
    assert {
        "first_name",
        "first_name_2",
        "class_",
        "field_2fa",
        "plus_1",
        "minus_1",
        "json_",
    } <= set(fields)
    # The property already spelt as an identifier keeps it, though listed second.
    assert fields["first_name"].validation_alias is None
    assert fields["first_name_2"].validation_alias == "firstName"
    user = generated[0].User.model_validate(
        {
            "id": 1,
            "username": "ada",
            "status": "active",
            "created": "2024-01-31T10:00:00Z",
            "firstName": "Ada",
            "first_name": "Augusta",
            "class": "x",
            "2fa": True,
            "+1": 3,
            "-1": 4,
            "json": "{}",
        }
    )
    assert (user.first_name, user.first_name_2) == ("Augusta", "Ada")
    assert (user.class_, user.field_2fa, user.plus_1, user.minus_1, user.json_) == (
        "x",
        True,
        3,
        4,
        "{}",
    )
    dumped = user.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert dumped["class"] == "x"
    assert dumped["+1"] == 3
    assert dumped["firstName"] == "Ada"


def test_formats_map_to_standard_types(generated: tuple[ModuleType, str, ModelEmitter]) -> None:
    user = generated[0].User.model_validate(
        {
            "id": 1,
            "username": "ada",
            "status": "active",
            "created": "2024-01-31T10:00:00Z",
            "birthday": "1815-12-10",
            "uid": "12345678-1234-5678-1234-567812345678",
            "balance": "10.50",
        }
    )
    assert user.created == datetime.datetime(2024, 1, 31, 10, tzinfo=datetime.UTC)
    assert user.birthday == datetime.date(1815, 12, 10)
    assert user.uid == uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert user.balance == decimal.Decimal("10.50")
    assert generated[0].User.model_fields["avatar"].annotation == bytes | None


def test_unknown_fields_are_ignored_and_optional_ones_are_none(
    generated: tuple[ModuleType, str, ModelEmitter],
) -> None:
    user = generated[0].User.model_validate(
        {
            "id": 1,
            "username": "ada",
            "status": "active",
            "created": "2024-01-31T10:00:00Z",
            "added_later": "by the service",
        }
    )
    assert not hasattr(user, "added_later")
    assert user.birthday is None
    assert user.field_2fa is False
    assert user.tags == []
    assert "Unset" not in generated[1]


def test_enums_are_literals_strict_in_requests_and_open_in_responses(
    generated: tuple[ModuleType, str, ModelEmitter],
) -> None:
    module = generated[0]
    with pytest.raises(pydantic.ValidationError, match="status"):
        module.UserRequest.model_validate({"username": "a", "status": "gone"})
    user = module.User.model_validate(
        {"id": 1, "username": "a", "status": "gone", "created": "2024-01-31T10:00:00Z"}
    )
    assert (type(user.status).__name__, user.status) == ("UnknownStr", "gone")
    assert "status: Status | UnknownStr\n" in generated[1]
    assert "Status: TypeAlias = Literal['active', 'disabled']" in generated[1].replace('"', "'")
    assert "Priority: TypeAlias = Literal[1, 2, 3]" in generated[1]
    assert "Colour: TypeAlias = Literal['red', 'green'] | None" in generated[1].replace('"', "'")


def test_read_only_and_write_only_split_into_two_models(
    generated: tuple[ModuleType, str, ModelEmitter],
) -> None:
    module = generated[0]
    response_fields = set(module.User.model_fields)
    request_fields = set(module.UserRequest.model_fields)
    assert "password" not in response_fields
    assert {"id", "created"} <= response_fields
    assert "password" in request_fields
    assert not {"id", "created"} & request_fields
    # A schema that holds a split one is split too: its request form holds the request form.
    members = module.TeamRequest.model_fields["members"].annotation
    assert members == list[module.UserRequest] | None  # type: ignore[name-defined]
    # A body made from a response round-trips: the read-only fields are dropped, not refused.
    response = module.User.model_validate(
        {"id": 1, "username": "ada", "status": "active", "created": "2024-01-31T10:00:00Z"}
    )
    request = module.UserRequest.model_validate(response.model_dump())
    assert request.username == "ada"


def test_discriminated_union_by_mapping(generated: tuple[ModuleType, str, ModelEmitter]) -> None:
    module = generated[0]
    adapter = pydantic.TypeAdapter(module.Pet)
    assert isinstance(adapter.validate_python({"pet_type": "dog", "good_boy": True}), module.Dog)
    assert isinstance(adapter.validate_python({"pet_type": "cat", "lives": 9}), module.Cat)
    with pytest.raises(pydantic.ValidationError):
        adapter.validate_python({"pet_type": "fish"})


def test_implied_discriminator_tags_a_union(
    generated: tuple[ModuleType, str, ModelEmitter],
) -> None:
    module = generated[0]
    assert "Discriminator(discriminate('kind'" in generated[1].replace('"', "'")
    adapter = pydantic.TypeAdapter(module.Shape)
    square = adapter.validate_python({"kind": "square", "side": 2})
    assert type(square).__name__ == "ShapeSquare"
    assert square.side == 2


def test_plain_union_and_all_of(generated: tuple[ModuleType, str, ModelEmitter]) -> None:
    module = generated[0]
    assert pydantic.TypeAdapter(module.IdOrName).validate_python("x") == "x"
    named = module.Named.model_validate({"id": 1, "name": "n"})
    assert (named.id, named.name) == (1, "n")
    with pytest.raises(pydantic.ValidationError):
        module.Named.model_validate({"name": "n"})


def test_additional_properties(generated: tuple[ModuleType, str, ModelEmitter]) -> None:
    module = generated[0]
    assert pydantic.TypeAdapter(module.Labels).validate_python({"a": "b"}) == {"a": "b"}
    document = module.Document.model_validate({"title": "t", "pages": 3})
    assert document.model_extra == {"pages": 3}
    with pytest.raises(pydantic.ValidationError):
        module.Document.model_validate({"title": "t", "pages": "many"})
    assert pydantic.TypeAdapter(module.Anything).validate_python({"x": [1]}) == {"x": [1]}


def test_recursive_and_mutually_recursive_models(
    generated: tuple[ModuleType, str, ModelEmitter],
) -> None:
    module = generated[0]
    tree = module.Node.model_validate({"value": 1, "children": [{"value": 2, "children": []}]})
    assert tree.children[0].value == 2
    author = module.Author.model_validate({"books": [{"author": {"books": []}}, {"author": None}]})
    assert author.books[0].author.books == []
    assert author.books[1].author is None


def test_aliases_defined_through_themselves(
    generated: tuple[ModuleType, str, ModelEmitter],
) -> None:
    module, source, _ = generated
    assert "JsonValue = TypeAliasType(" in source
    value = {"a": [1.5, "b", {"c": None}]}
    assert pydantic.TypeAdapter(module.JsonValue).validate_python(value) == value
    forest = pydantic.TypeAdapter(module.Forest).validate_python([[{"data": 1}], {"data": "x"}])
    assert forest[0][0].data == 1
    assert forest[1].data == "x"


def test_defaults_deprecation_and_docstrings(
    generated: tuple[ModuleType, str, ModelEmitter],
) -> None:
    module, source, _ = generated
    team = module.Team()
    assert (team.mode, team.ratio, team.ends) == ("open", 1.0, None)
    assert "Deprecated." in (module.Team.__doc__ or "")
    assert module.User.__doc__ == "A person who can sign in."
    user = module.User.model_validate(
        {"id": 1, "username": "a", "status": "active", "created": "2024-01-31T10:00:00Z"}
    )
    with pytest.warns(DeprecationWarning, match="deprecated"):
        _ = user.nickname
    assert '"""Unique; 150 characters or fewer."""' in source
    tricky = module.Tricky.model_validate({"caf\u00e9": "\u2019quoted\u2019", "_links": {}})
    assert tricky.cafe == "\u2019quoted\u2019"
    assert (tricky.links_2, tricky.links) == ({}, None)
    assert module.Tricky.__doc__.startswith('Ends in a quote "and has """ triple quotes')


def test_all_of_without_objects_is_its_typed_member(
    generated: tuple[ModuleType, str, ModelEmitter],
) -> None:
    module, source, _ = generated
    assert "ShortCode: TypeAlias = str" in source
    config = module.Config()
    # A default on the referenced schema applies; one of a converted type is left to the server.
    assert (config.level, config.code, config.since) == (3, None, None)


def test_nullable_in_3_1_is_a_type_list() -> None:
    spec = _spec(
        {
            "Thing": {
                "type": "object",
                "properties": {
                    "name": {"type": ["string", "null"]},
                    "size": {"type": ["integer", "string"]},
                    "kind": {"const": "thing"},
                    "parent": {"oneOf": [{"$ref": "#/components/schemas/Thing"}, {"type": "null"}]},
                },
            }
        },
        version="3.1.0",
    )
    emitter = ModelEmitter(spec)
    assert (
        emitter.type_for({"type": ["string", "null"]}, name_hint="X", direction="response")
        == "str | None"
    )
    source = emitter.render()
    assert "name: str | None = None" in source
    assert "size: int | str | None = None" in source
    assert "parent: Thing | None = None" in source


def test_type_for_names_inline_objects_and_reports_imports() -> None:
    emitter = ModelEmitter(_spec(SCHEMAS))
    inline = {
        "type": "object",
        "required": ["when"],
        "properties": {"when": {"type": "string", "format": "date-time"}},
    }
    annotation = emitter.type_for(
        {"type": "array", "items": inline}, name_hint="ListEventsResponse", direction="response"
    )
    assert annotation == "list[ListEventsResponseItem]"
    assert emitter.type_for(inline, name_hint="Other", direction="response") == (
        "ListEventsResponseItem"
    )
    when = emitter.type_for(
        {"type": "string", "format": "date-time"}, name_hint="When", direction="request"
    )
    assert emitter.imports_for([annotation, when, "Literal['a']"], models_module=".models") == [
        "import datetime as _dt",
        "from typing import Literal",
        "from .models import ListEventsResponseItem",
    ]
    assert "class ListEventsResponseItem(GeneratedModel):" in emitter.render()


def test_a_tagged_union_of_split_models_is_split_too(tmp_path: Path) -> None:
    spec = _spec(
        {
            "Pet": {
                "oneOf": [
                    {"$ref": "#/components/schemas/Cat"},
                    {"$ref": "#/components/schemas/Dog"},
                ],
                "discriminator": {"propertyName": "kind"},
            },
            "Cat": {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "id": {"type": "integer", "readOnly": True},
                    "kind": {"type": "string"},
                },
            },
            "Dog": {
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"type": "string"}},
            },
        }
    )
    emitter = ModelEmitter(spec)
    body = emitter.type_for(
        {"$ref": "#/components/schemas/Pet"}, name_hint="CreatePetBody", direction="request"
    )
    inline = emitter.type_for(
        {"type": "object", "properties": {"pet": {"$ref": "#/components/schemas/Pet"}}},
        name_hint="AdoptBody",
        direction="request",
    )
    assert (body, inline) == ("PetRequest", "AdoptBody")
    module = _import(emitter.render(), tmp_path, "generated_models_split_union")
    # No mapping: the schema names are the tags.
    cat = pydantic.TypeAdapter(module.PetRequest).validate_python({"kind": "Cat", "id": 5})
    assert type(cat).__name__ == "CatRequest"
    assert not hasattr(cat, "id")
    response = pydantic.TypeAdapter(module.Pet).validate_python({"kind": "Cat", "id": 5})
    assert (type(response).__name__, response.id) == ("Cat", 5)
    assert type(module.AdoptBody(pet={"kind": "Dog"}).pet).__name__ == "Dog"


def test_progress_is_reported_while_rendering() -> None:
    reports: list[tuple[int, int]] = []
    emitter = ModelEmitter(
        _spec(SCHEMAS), progress=lambda done, total: reports.append((done, total)), progress_every=5
    )
    emitter.render()
    assert len(reports) > 3
    assert reports[-1][0] == reports[-1][1] >= len(SCHEMAS)
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)


def test_a_discriminator_that_may_be_absent_gives_a_plain_union(tmp_path: Path) -> None:
    # GitHub's users: ``user_view_type`` discriminates, but not every response carries it.
    spec = _spec(
        {
            "AnyUser": {
                "oneOf": [
                    {"$ref": "#/components/schemas/PrivateUser"},
                    {"$ref": "#/components/schemas/PublicUser"},
                ],
                "discriminator": {
                    "propertyName": "view",
                    "mapping": {
                        "private": "#/components/schemas/PrivateUser",
                        "public": "#/components/schemas/PublicUser",
                    },
                },
            },
            "PublicUser": {
                "type": "object",
                "required": ["login"],
                "properties": {"login": {"type": "string"}, "view": {"type": "string"}},
            },
            "PrivateUser": {
                "type": "object",
                "required": ["login", "disk_usage"],
                "properties": {
                    "login": {"type": "string"},
                    "disk_usage": {"type": "integer"},
                    "view": {"type": "string"},
                },
            },
        }
    )
    source = ModelEmitter(spec).render()
    assert "AnyUser: TypeAlias = PrivateUser | PublicUser" in source
    module = _import(source, tmp_path, "generated_models_optional_tag")
    adapter = pydantic.TypeAdapter(module.AnyUser)
    assert type(adapter.validate_python({"login": "a"})).__name__ == "PublicUser"
    private = adapter.validate_python({"login": "a", "disk_usage": 3})
    assert type(private).__name__ == "PrivateUser"


def test_properties_of_sees_through_references_and_all_of() -> None:
    emitter = ModelEmitter(_spec(SCHEMAS))
    named = emitter.properties_of({"$ref": "#/components/schemas/Named"})
    assert list(named) == ["id", "name"]
    assert emitter.type_for(named["id"], name_hint="X", direction="response") == "int"
    assert emitter.properties_of({"type": "string"}) == {}
    assert emitter.properties_of(None) == {}


def test_schemas_defined_only_through_each_other_are_an_error() -> None:
    spec = _spec(
        {
            "LoopA": {"allOf": [{"$ref": "#/components/schemas/LoopB"}, {"maxLength": 3}]},
            "LoopB": {"allOf": [{"$ref": "#/components/schemas/LoopA"}, {"minLength": 1}]},
        }
    )
    with pytest.raises(SpecError, match="defined only through itself") as caught:
        ModelEmitter(spec).render()
    assert caught.value.pointer in ("/components/schemas/LoopA", "/components/schemas/LoopB")


def test_a_base_with_a_discriminator_stands_for_its_extensions(tmp_path: Path) -> None:
    # OpenAPI 2-style polymorphism: Pet names the tag, Cat and Dog extend Pet through allOf.
    spec = _spec(
        {
            "Pet": {
                "type": "object",
                "required": ["pet_type"],
                "properties": {"name": {"type": "string"}, "pet_type": {"type": "string"}},
                "discriminator": {"propertyName": "pet_type"},
            },
            "Cat": {
                "allOf": [
                    {"$ref": "#/components/schemas/Pet"},
                    {"type": "object", "properties": {"lives": {"type": "integer"}}},
                ]
            },
            "Dog": {
                "allOf": [
                    {"$ref": "#/components/schemas/Pet"},
                    {"type": "object", "properties": {"bark": {"type": "boolean"}}},
                ]
            },
            "Owner": {
                "type": "object",
                "properties": {
                    "pets": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}
                },
            },
        }
    )
    emitter = ModelEmitter(spec)
    annotation = emitter.type_for(
        {"$ref": "#/components/schemas/Pet"}, name_hint="GetPetResponse", direction="response"
    )
    assert annotation == "AnyPet"
    source = emitter.render()
    assert "class Pet(GeneratedModel):" in source  # the base keeps its own model
    module = _import(source, tmp_path, "generated_models_polymorphic_base")
    owner = module.Owner.model_validate(
        {"pets": [{"pet_type": "Cat", "lives": 9}, {"pet_type": "Dog", "bark": True}]}
    )
    assert [type(pet).__name__ for pet in owner.pets] == ["Cat", "Dog"]
    assert owner.pets[0].lives == 9
