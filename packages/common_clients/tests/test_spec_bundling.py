"""Documents split over several files: references to files beside the document are bundled in."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from common_clients.codegen import ModelEmitter, SpecError, load_spec

MAIN = """
openapi: 3.0.3
info: {title: Split, version: "1"}
paths:
  /users:
    get:
      operationId: users_list
      parameters:
        - $ref: "parameters.yaml#/Page"
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: array
                items: {$ref: "schemas/user.yaml"}
        "404":
          $ref: "responses.yaml#/NotFound"
components:
  schemas:
    Tag:
      type: object
      properties:
        label: {type: string}
"""

FILES = {
    "parameters.yaml": """
        Page:
          name: page
          in: query
          schema: {type: integer}
    """,
    "responses.yaml": """
        NotFound:
          description: no such thing
          content:
            application/json:
              schema: {$ref: "schemas/common.yaml#/Problem"}
    """,
    "schemas/user.yaml": """
        type: object
        required: [id]
        properties:
          id: {type: integer}
          address: {$ref: "common.yaml#/Address"}
          team: {$ref: "team.yaml"}
          tags:
            type: array
            items: {$ref: "../openapi.yaml#/components/schemas/Tag"}
    """,
    "schemas/team.yaml": """
        type: object
        properties:
          name: {type: string}
          members:
            type: array
            items: {$ref: "user.yaml"}
    """,
    "schemas/common.yaml": """
        Address:
          type: object
          properties:
            city: {type: string}
            country: {$ref: "#/Country"}
        Country:
          type: string
          enum: [FR, DE]
        Problem:
          type: object
          properties:
            detail: {type: string}
    """,
}


def _write(folder: Path, main: str = MAIN, files: dict[str, str] = FILES) -> Path:
    path = folder / "openapi.yaml"
    path.write_text(textwrap.dedent(main))
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text))
    return path


def test_file_references_are_bundled_as_components(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    assert set(spec.schemas) == {"Tag", "user", "Address", "Country", "team", "Problem"}
    (operation,) = spec.operations()
    assert operation.parameters[0].name == "page"
    assert operation.responses[1].description == "no such thing"
    user, _ = spec.resolve({"$ref": "#/components/schemas/user"})
    # References inside bundled files point into the bundle; the cycle user <-> team is kept.
    assert user["properties"]["team"] == {"$ref": "#/components/schemas/team"}
    team = spec.schemas["team"]
    assert team["properties"]["members"]["items"] == {"$ref": "#/components/schemas/user"}
    # A reference back into the main document stays a local one, not a copy.
    assert user["properties"]["tags"]["items"] == {"$ref": "#/components/schemas/Tag"}


def test_bundled_documents_generate_models(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    emitter = ModelEmitter(spec)
    (operation,) = spec.operations()
    media = operation.responses[0].content[0]
    assert emitter.type_for(media.schema, name_hint="X", direction="response") == "list[User]"
    source = emitter.render()
    assert "class User(GeneratedModel):" in source
    assert "address: Address | None = None" in source
    assert 'Country: TypeAlias = Literal["FR", "DE"]' in source


def test_the_hash_covers_the_referenced_files(tmp_path: Path) -> None:
    path = _write(tmp_path)
    before = load_spec(path).sha256
    (tmp_path / "schemas" / "common.yaml").write_text(
        textwrap.dedent(FILES["schemas/common.yaml"]).replace("[FR, DE]", "[FR, DE, IT]")
    )
    assert load_spec(path).sha256 != before


def test_a_missing_file_names_the_reference(tmp_path: Path) -> None:
    files = dict(FILES)
    del files["schemas/team.yaml"]
    with pytest.raises(SpecError, match=r"cannot read team.yaml") as caught:
        load_spec(_write(tmp_path, files=files))
    assert caught.value.pointer == "/properties/team"
    assert caught.value.source is not None
    assert caught.value.source.endswith("user.yaml")


def test_a_missing_target_names_the_reference(tmp_path: Path) -> None:
    main = MAIN.replace("parameters.yaml#/Page", "parameters.yaml#/Pages")
    with pytest.raises(SpecError, match="points to nothing") as caught:
        load_spec(_write(tmp_path, main=main))
    assert caught.value.pointer == "/paths/~1users/get/parameters/0"


def test_remote_references_are_refused(tmp_path: Path) -> None:
    main = MAIN.replace('"parameters.yaml#/Page"', '"https://example.invalid/p.yaml#/Page"')
    with pytest.raises(SpecError, match="is remote"):
        load_spec(_write(tmp_path, main=main))
