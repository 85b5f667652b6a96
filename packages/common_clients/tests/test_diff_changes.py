"""diff_specs: each kind of API change is found once, where it is, and classed breaking or not."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from common_clients.codegen import ApiChange, ChangeKind, diff_specs, parse_spec


def _base() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Users", "version": "1"},
        "paths": {
            "/users/{id}/": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "get": {
                    "operationId": "users_retrieve",
                    "parameters": [
                        {"name": "expand", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/User"}
                                }
                            },
                        },
                        "404": {"description": "missing"},
                    },
                },
                "patch": {
                    "operationId": "users_partial_update",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/PatchedUser"}
                            }
                        }
                    },
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/User"}
                                }
                            },
                        }
                    },
                },
            },
            "/users/": {
                "get": {
                    "operationId": "users_list",
                    "responses": {"200": {"description": "ok"}},
                }
            },
        },
        "components": {
            "schemas": {
                "Role": {"type": "string", "enum": ["admin", "member"]},
                "User": {
                    "type": "object",
                    "required": ["id", "username", "role"],
                    "properties": {
                        "id": {"type": "integer", "readOnly": True},
                        "username": {"type": "string"},
                        "email": {"type": "string"},
                        "age": {"type": "integer"},
                        "role": {"$ref": "#/components/schemas/Role"},
                        "password": {"type": "string", "writeOnly": True},
                    },
                },
                "PatchedUser": {
                    "type": "object",
                    "properties": {
                        "username": {"type": "string"},
                        "email": {"type": "string", "nullable": True},
                        "age": {"type": "number"},
                        "role": {"$ref": "#/components/schemas/Role"},
                    },
                },
            }
        },
    }


def _diff(change: Callable[[dict[str, Any]], None]) -> list[ApiChange]:
    old = _base()
    new = copy.deepcopy(old)
    change(new)
    return diff_specs(
        parse_spec(json.dumps(old), source="old.json"),
        parse_spec(json.dumps(new), source="new.json"),
    )


def _only(changes: list[ApiChange]) -> ApiChange:
    assert len(changes) == 1, [str(c) for c in changes]
    return changes[0]


def _user(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"]["User"]  # type: ignore[no-any-return]


def _patched(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"]["PatchedUser"]  # type: ignore[no-any-return]


def test_identical_documents_have_no_changes() -> None:
    assert _diff(lambda doc: None) == []


def test_removed_operation_is_breaking_and_added_is_not() -> None:
    def change(doc: dict[str, Any]) -> None:
        del doc["paths"]["/users/"]
        doc["paths"]["/groups/"] = {
            "get": {"operationId": "groups_list", "responses": {"200": {"description": "ok"}}}
        }

    removed, added = _diff(change)
    assert (removed.kind, removed.breaking, removed.pointer) == (
        ChangeKind.OPERATION_REMOVED,
        True,
        "/paths/~1users~1/get",
    )
    assert (added.kind, added.breaking) == (ChangeKind.OPERATION_ADDED, False)


def test_renamed_path_parameter_is_the_same_operation() -> None:
    def change(doc: dict[str, Any]) -> None:
        item = doc["paths"].pop("/users/{id}/")
        item["parameters"][0]["name"] = "user_id"
        doc["paths"]["/users/{user_id}/"] = item

    kinds = {(c.kind, c.breaking) for c in _diff(change)}
    # The path parameter is renamed (a keyword argument changes), the operation is not removed.
    assert (ChangeKind.PARAMETER_REMOVED, True) in kinds
    assert (ChangeKind.PARAMETER_ADDED, True) in kinds
    assert ChangeKind.OPERATION_REMOVED not in {kind for kind, _ in kinds}


def test_changed_operation_id_is_breaking() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["paths"]["/users/"]["get"]["operationId"] = "users_index"

    change_ = _only(_diff(change))
    assert (change_.kind, change_.breaking) == (ChangeKind.OPERATION_RENAMED, True)


def test_new_required_parameter_is_breaking_and_optional_is_not() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["paths"]["/users/"]["get"]["parameters"] = [
            {"name": "org", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "page", "in": "query", "schema": {"type": "integer"}},
        ]

    required, optional = _diff(change)
    assert (required.kind, required.breaking) == (ChangeKind.PARAMETER_ADDED, True)
    assert "required query parameter 'org'" in required.message
    assert (optional.kind, optional.breaking) == (ChangeKind.PARAMETER_ADDED, False)


def test_parameter_becoming_required_or_removed_is_breaking() -> None:
    def required(doc: dict[str, Any]) -> None:
        doc["paths"]["/users/{id}/"]["get"]["parameters"][0]["required"] = True

    def removed(doc: dict[str, Any]) -> None:
        doc["paths"]["/users/{id}/"]["get"]["parameters"] = []

    assert _only(_diff(required)).kind == ChangeKind.PARAMETER_NOW_REQUIRED
    removal = _only(_diff(removed))
    assert (removal.kind, removal.breaking, removal.operation) == (
        ChangeKind.PARAMETER_REMOVED,
        True,
        "users_retrieve",
    )


def test_removed_response_field_is_breaking() -> None:
    change = _only(_diff(lambda doc: _user(doc)["properties"].pop("email")))
    assert (change.kind, change.breaking, change.pointer) == (
        ChangeKind.FIELD_REMOVED,
        True,
        "/components/schemas/User/properties/email",
    )


def test_added_response_field_is_compatible_added_required_request_field_is_not() -> None:
    response = _only(_diff(lambda doc: _user(doc)["properties"].update(bio={"type": "string"})))
    assert (response.kind, response.breaking) == (ChangeKind.FIELD_ADDED, False)

    def required_input(doc: dict[str, Any]) -> None:
        _patched(doc)["properties"]["reason"] = {"type": "string"}
        _patched(doc)["required"] = ["reason"]

    request = _only(_diff(required_input))
    assert (request.kind, request.breaking) == (ChangeKind.FIELD_ADDED, True)
    assert "required field 'reason'" in request.message


def test_optionality_breaks_by_direction() -> None:
    # A response field that may now be missing breaks readers...
    response = _only(_diff(lambda doc: _user(doc)["required"].remove("username")))
    assert (response.kind, response.breaking) == (ChangeKind.FIELD_NOW_OPTIONAL, True)
    # ...a request field that must now be sent breaks writers.
    request = _only(_diff(lambda doc: _patched(doc).update(required=["username"])))
    assert (request.kind, request.breaking) == (ChangeKind.FIELD_NOW_REQUIRED, True)


def test_narrowed_type_breaks_requests_and_widened_type_breaks_responses() -> None:
    narrowed = _only(_diff(lambda doc: _patched(doc)["properties"]["age"].update(type="integer")))
    assert (narrowed.kind, narrowed.breaking) == (ChangeKind.TYPE_NARROWED, True)
    not_null = _only(_diff(lambda doc: _patched(doc)["properties"]["email"].pop("nullable")))
    assert (not_null.kind, not_null.breaking) == (ChangeKind.TYPE_NARROWED, True)
    widened = _only(_diff(lambda doc: _user(doc)["properties"]["age"].update(type="number")))
    assert (widened.kind, widened.breaking) == (ChangeKind.TYPE_WIDENED, True)
    nullable = _only(_diff(lambda doc: _user(doc)["properties"]["email"].update(nullable=True)))
    assert (nullable.kind, nullable.breaking) == (ChangeKind.TYPE_WIDENED, True)
    harmless = _only(
        _diff(lambda doc: _patched(doc)["properties"]["username"].update(nullable=True))
    )
    assert (harmless.kind, harmless.breaking) == (ChangeKind.TYPE_WIDENED, False)


def test_changed_type_and_typed_format_are_breaking() -> None:
    changed = _only(_diff(lambda doc: _user(doc)["properties"]["age"].update(type="string")))
    assert (changed.kind, changed.breaking) == (ChangeKind.TYPE_CHANGED, True)
    assert "integer became string" in changed.message
    fmt = _only(_diff(lambda doc: _user(doc)["properties"]["email"].update(format="uuid")))
    assert (fmt.kind, fmt.breaking) == (ChangeKind.TYPE_CHANGED, True)
    assert _diff(lambda doc: _user(doc)["properties"]["email"].update(format="email")) == []


def test_enum_values() -> None:
    removed = _diff(lambda doc: doc["components"]["schemas"]["Role"]["enum"].remove("member"))
    # One change, though Role is reached through requests and responses alike.
    assert [(c.kind, c.breaking) for c in removed] == [(ChangeKind.ENUM_VALUE_REMOVED, True)]
    added = _diff(lambda doc: doc["components"]["schemas"]["Role"]["enum"].append("guest"))
    # An old client keeps the new value in a response as an UnknownStr (a request could just
    # not use it).
    assert [(c.kind, c.breaking) for c in added] == [(ChangeKind.ENUM_VALUE_ADDED, False)]
    assert added[0].message == "Role: value 'guest' added"

    old = _base()
    old["paths"]["/users/{id}/"]["get"]["parameters"][0]["schema"]["enum"] = ["groups"]
    new = copy.deepcopy(old)
    new["paths"]["/users/{id}/"]["get"]["parameters"][0]["schema"]["enum"].append("teams")
    (request,) = diff_specs(parse_spec(json.dumps(old)), parse_spec(json.dumps(new)))
    assert (request.kind, request.breaking) == (ChangeKind.ENUM_VALUE_ADDED, False)
    limited = _only(
        _diff(lambda doc: _patched(doc)["properties"]["username"].update(enum=["a", "b"]))
    )
    assert (limited.kind, limited.breaking) == (ChangeKind.TYPE_NARROWED, True)


def test_status_codes() -> None:
    def change(doc: dict[str, Any]) -> None:
        responses = doc["paths"]["/users/{id}/"]["get"]["responses"]
        del responses["404"]
        responses["410"] = {"description": "gone"}
        doc["paths"]["/users/"]["get"]["responses"]["202"] = {"description": "later"}

    removed, error_added, success_added = _diff(change)
    assert (removed.kind, removed.breaking) == (ChangeKind.STATUS_REMOVED, True)
    assert (error_added.kind, error_added.breaking) == (ChangeKind.STATUS_ADDED, False)
    assert (success_added.kind, success_added.breaking) == (ChangeKind.STATUS_ADDED, True)


def test_request_bodies_and_media_types() -> None:
    def required(doc: dict[str, Any]) -> None:
        doc["paths"]["/users/{id}/"]["patch"]["requestBody"]["required"] = True

    assert _only(_diff(required)).kind == ChangeKind.REQUEST_BODY_NOW_REQUIRED

    def media(doc: dict[str, Any]) -> None:
        content = doc["paths"]["/users/{id}/"]["patch"]["requestBody"]["content"]
        content["multipart/form-data"] = content.pop("application/json")

    removed, added = _diff(media)
    assert (removed.kind, removed.breaking) == (ChangeKind.MEDIA_TYPE_REMOVED, True)
    assert (added.kind, added.breaking) == (ChangeKind.MEDIA_TYPE_ADDED, False)


def test_removed_schema_is_breaking() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["components"]["schemas"]["Unused"] = {"type": "string"}

    added = _only(_diff(change))
    assert (added.kind, added.breaking) == (ChangeKind.SCHEMA_ADDED, False)


def test_write_only_fields_are_not_response_changes() -> None:
    changes = _diff(lambda doc: _user(doc)["properties"].pop("password"))
    assert changes == []  # never in a response, and User is not sent in any request here


def test_recursive_schemas_terminate() -> None:
    def change(doc: dict[str, Any]) -> None:
        _user(doc)["properties"]["manager"] = {"$ref": "#/components/schemas/User"}

    old = _base()
    change(old)
    new = copy.deepcopy(old)
    new["components"]["schemas"]["User"]["properties"].pop("age")
    changes = diff_specs(parse_spec(json.dumps(old)), parse_spec(json.dumps(new)))
    assert [c.kind for c in changes] == [ChangeKind.FIELD_REMOVED]


@pytest.mark.parametrize("breaking", [True, False])
def test_str_says_breaking_or_compatible(breaking: bool) -> None:
    change = ApiChange(ChangeKind.FIELD_ADDED, breaking, "/a", "x: field 'y' added", "op")
    assert str(change).startswith("BREAKING" if breaking else "compatible")
    assert str(change).endswith("[op] (#/a)")


def test_constraints_break_only_what_clients_send() -> None:
    # Generated models do not enforce bounds: a tighter one breaks requests, never responses.
    request = _only(_diff(lambda doc: _patched(doc)["properties"]["username"].update(maxLength=8)))
    assert (request.kind, request.breaking) == (ChangeKind.CONSTRAINT_TIGHTENED, True)
    assert "maxLength None became 8" in request.message
    response = _only(_diff(lambda doc: _user(doc)["properties"]["age"].update(minimum=0)))
    assert (response.kind, response.breaking) == (ChangeKind.CONSTRAINT_TIGHTENED, False)

    old = _base()
    _patched(old)["properties"]["username"]["maxLength"] = 8
    new = copy.deepcopy(old)
    _patched(new)["properties"]["username"]["maxLength"] = 150
    (looser,) = diff_specs(parse_spec(json.dumps(old)), parse_spec(json.dumps(new)))
    assert (looser.kind, looser.breaking) == (ChangeKind.CONSTRAINT_LOOSENED, False)
    pattern = _only(
        _diff(lambda doc: _patched(doc)["properties"]["username"].update(pattern="^[a-z]+$"))
    )
    assert (pattern.kind, pattern.breaking) == (ChangeKind.CONSTRAINT_TIGHTENED, True)
