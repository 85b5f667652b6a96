"""The generator on documents written by someone else: nothing in them becomes code or leaks.

Every test hands ``common-clients generate`` (the command, as a user runs it) a document made to
break it: text that tries to end a string, ``$ref``s that reach for files outside the document's
folder, nesting and numbers out of all proportion, output folders it did not make. Each ends in a
one-line refusal naming what and where (exit 2), or in a client that imports and holds the
document's values as data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from common_clients.codegen import MARKER, SpecError, parse_spec
from common_clients.codegen._cli import main as cli

# What a payload would do if it ever ran: create this file in the working directory.
CANARY = "PWNED"
PAYLOADS = [
    f'"""\nimport os; open("{CANARY}", "w")\n"""',
    f"'''\nimport os; open('{CANARY}', 'w')\n'''",
    f'\\"; open("{CANARY}", "w"); x = "',
    f"{{open('{CANARY}','w')}}",
    "\\N{SNOWMAN} \\x00 \\u2028 \\",
    "trailing backslash \\",
    'ends in a quote"',
    "nul\x00 and bell\x07 and \u2028 line separator, \u202e bidi, \U0001f600 an emoji",
]


def _operation(name: str, schema_ref: str, description: str) -> dict[str, Any]:
    return {
        "operationId": name,
        "tags": [description],
        "summary": description,
        "description": description,
        "parameters": [
            {
                "name": description,
                "in": "query",
                "description": description,
                "schema": {"type": "string", "enum": PAYLOADS},
            }
        ],
        "responses": {
            "200": {
                "description": description,
                "content": {"application/json": {"schema": {"$ref": schema_ref}}},
            }
        },
    }


def _path_text(payload: str) -> str:
    """The payload with what a path template gives meaning to (``/``, ``{``, ``}``) left out."""
    return payload.replace("/", "").replace("{", "(").replace("}", ")")


def hostile_document() -> dict[str, Any]:
    """Every payload as a description, a name, a default, an enum value, a tag and a path."""
    properties: dict[str, Any] = {
        payload: {"type": "string", "description": payload, "default": payload}
        for payload in PAYLOADS
    }
    properties.update(
        {
            "__class__": {"type": "string"},
            "model_config": {"type": "integer", "default": 3},
            "__init__": {"type": "boolean", "default": True},
            "1st": {"type": "number", "default": 1.5},
            "": {"type": "string"},
            "kind": {"type": "string", "enum": PAYLOADS, "default": PAYLOADS[0]},
        }
    )
    return {
        "openapi": "3.0.3",
        "info": {"title": PAYLOADS[0], "version": "1", "description": PAYLOADS[1]},
        "tags": [{"name": payload, "description": payload} for payload in PAYLOADS],
        "paths": {
            f"/things/{index}/{_path_text(payload)}": {
                "get": _operation(f"op {payload}", f"#/components/schemas/{payload[:3]}x", payload)
            }
            for index, payload in enumerate(PAYLOADS)
        },
        "components": {
            "schemas": {
                f"{payload[:3]}x": {
                    "type": "object",
                    "description": payload,
                    "title": payload,
                    "properties": properties,
                }
                for payload in PAYLOADS
            }
        },
    }


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def _generate(tmp_path: Path, spec: Path, *extra: str, package: str = "hostile") -> int:
    out = tmp_path / "out"
    return cli(["generate", str(spec), "--out", str(out), "--name", package, *extra])


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False
    )


def _one_line_refusal(capsys: Any) -> str:
    err = str(capsys.readouterr().err)
    lines = [line for line in err.splitlines() if line.strip() and "models:" not in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("common-clients: "), err
    assert "Traceback" not in err
    return lines[0]


def test_document_text_stays_data_in_every_place_it_lands(tmp_path: Path) -> None:
    spec = _write(tmp_path / "hostile.json", hostile_document())
    assert _generate(tmp_path, spec) == 0
    probe = f"""
import typing, hostile, hostile.models as m
from hostile.resources import *
payloads = {PAYLOADS!r}
model = getattr(m, [n for n in m.__all__ if n.startswith("Nul")][0])
fields = model.model_fields
defaults = {{f.serialization_alias or name: f.default for name, f in fields.items()}}
for payload in payloads[:-1]:
    assert defaults[payload] == payload, (payload, defaults[payload])
assert payloads[3] in repr(fields["kind"].annotation)
assert model.__doc__.startswith("nul  and bell"), model.__doc__
instance = model.model_validate({{"kind": payloads[2], "1st": 2}})
assert instance.kind == payloads[2]
assert instance.model_dump(by_alias=True)["1st"] == 2.0
import os
assert not os.path.exists({CANARY!r})
print("ok")
"""
    result = _run(probe, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "out" / CANARY).exists()
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", "hostile"],
        cwd=tmp_path / "out",
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MYPYPATH": str(tmp_path / "out")},
    )
    assert mypy.returncode == 0, mypy.stdout


@pytest.mark.parametrize("module", ["jsonschema_rs", "ruff"])
def test_a_missing_extra_is_named_in_one_line(tmp_path: Path, module: str) -> None:
    spec = _write(tmp_path / "catalog.json", hostile_document())
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from common_clients.codegen._cli import main\n"
        f"sys.exit(main(['generate', {str(spec)!r}, '--out', 'out', '--name', 'catalog']))"
    )
    result = _run(code, tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"common-clients: the generator needs the codegen extra (module {module!r} is missing):"
        " pip install 'common-clients[codegen]'"
    ]


def test_a_folder_the_generator_did_not_make_is_refused_and_left_alone(
    tmp_path: Path, capsys: Any
) -> None:
    spec = _write(tmp_path / "codegen.json", hostile_document())
    mine = tmp_path / "out" / "codegen"
    mine.mkdir(parents=True)
    (mine / "_models.py").write_text("# hand-written\n")
    assert _generate(tmp_path, spec, package="codegen") == 2
    assert "did not write" in _one_line_refusal(capsys)
    assert [p.name for p in mine.iterdir()] == ["_models.py"]
    assert (mine / "_models.py").read_text() == "# hand-written\n"


def test_a_rerun_deletes_only_what_a_previous_run_wrote(tmp_path: Path) -> None:
    document = hostile_document()
    spec = _write(tmp_path / "hostile.json", document)
    assert _generate(tmp_path, spec) == 0
    folder = tmp_path / "out" / "hostile"
    resources = sorted(p.name for p in (folder / "resources").iterdir())
    (folder / "notes.py").write_text("# mine\n")
    (tmp_path / "victim.py").write_text("# outside\n")
    marker = (folder / MARKER).read_text()
    (folder / MARKER).write_text(marker + "../../victim.py\n/etc/hostname\nnotes.py\n")
    first = next(iter(document["paths"]))
    del document["paths"][first]  # one tag, and its resource module, fewer
    _write(spec, document)
    (folder / MARKER).write_text(marker + "../../victim.py\n")
    assert _generate(tmp_path, spec) == 0
    assert len(list((folder / "resources").iterdir())) == len(resources) - 1
    assert (folder / "notes.py").read_text() == "# mine\n"
    assert (tmp_path / "victim.py").exists()


def test_no_file_is_written_through_a_symlink(tmp_path: Path, capsys: Any) -> None:
    spec = _write(tmp_path / "hostile.json", hostile_document())
    assert _generate(tmp_path, spec) == 0
    folder = tmp_path / "out" / "hostile"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for path in (folder / "resources").iterdir():
        path.unlink()
    (folder / "resources").rmdir()
    (folder / "resources").symlink_to(elsewhere)
    assert _generate(tmp_path, spec) == 2
    assert "symlink" in _one_line_refusal(capsys)
    assert list(elsewhere.iterdir()) == []


def _with_ref(ref: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": {"Account": {"$ref": ref}}},
    }


SECRET = "hunter2-the-password"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the document's, holding a secret and a YAML schema with one."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "passwd").write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\n")
    (folder / "schema.yaml").write_text(
        f"Account:\n  type: object\n  properties:\n    password:\n"
        f"      type: string\n      default: {SECRET}\n"
    )
    (tmp_path / "api").mkdir()
    return folder


@pytest.mark.parametrize("ref", ["../outside/passwd", "../outside/schema.yaml#/Account"])
def test_a_ref_never_reads_outside_the_document_folder(
    tmp_path: Path, outside: Path, capsys: Any, ref: str
) -> None:
    spec = _write(tmp_path / "api" / "doc.json", _with_ref(ref))
    assert _generate(tmp_path, spec) == 2
    line = _one_line_refusal(capsys)
    assert "leaves" in line
    assert SECRET not in line
    assert not (tmp_path / "out").exists()
    absolute = _write(tmp_path / "api" / "abs.json", _with_ref(str(outside / "passwd")))
    assert _generate(tmp_path, absolute) == 2
    assert SECRET not in _one_line_refusal(capsys)


def test_a_root_option_admits_a_folder_and_errors_still_never_quote_a_file(
    tmp_path: Path, outside: Path, capsys: Any
) -> None:
    spec = _write(tmp_path / "api" / "doc.json", _with_ref("../outside/passwd"))
    assert _generate(tmp_path, spec, "--root", str(tmp_path)) == 2
    line = _one_line_refusal(capsys)
    assert "is not an object" in line
    assert SECRET not in line
    assert "root:x" not in line
    spec = _write(tmp_path / "api" / "doc.json", _with_ref("../outside/schema.yaml#/Account"))
    assert _generate(tmp_path, spec, "--root", str(tmp_path)) == 0
    assert SECRET in (tmp_path / "out" / "hostile" / "models.py").read_text()


def test_a_ref_through_a_symlink_is_refused(tmp_path: Path, outside: Path, capsys: Any) -> None:
    (tmp_path / "api" / "shared").symlink_to(outside)
    spec = _write(tmp_path / "api" / "doc.json", _with_ref("shared/schema.yaml#/Account"))
    assert _generate(tmp_path, spec) == 2
    line = _one_line_refusal(capsys)
    assert "symlink" in line
    assert SECRET not in line


def _nested(depth: int) -> str:
    schema = '{"type": "array", "items": ' * depth + '{"type": "string"}' + "}" * depth
    return (
        '{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},'
        f' "components": {{"schemas": {{"Deep": {schema}}}}}}}'
    )


@pytest.mark.parametrize("depth", [70, 500, 5000])
def test_nesting_out_of_proportion_is_one_line(tmp_path: Path, capsys: Any, depth: int) -> None:
    spec = _write(tmp_path / "deep.json", _nested(depth))
    assert _generate(tmp_path, spec) == 2
    assert "nested deeper than" in _one_line_refusal(capsys)


@pytest.mark.parametrize("length", [20, 150])
def test_refs_chaining_types_inside_types_import_or_are_refused(
    tmp_path: Path, capsys: Any, length: int
) -> None:
    chain: list[Any] = [
        {"type": "array", "items": {"$ref": f"#/components/x-chain/{index + 1}"}}
        for index in range(length)
    ]
    chain.append({"type": "string"})
    document = json.loads(_nested(0))
    document["components"]["schemas"]["Deep"] = {"$ref": "#/components/x-chain/0"}
    document["components"]["x-chain"] = chain
    status = _generate(tmp_path, _write(tmp_path / "chain.json", document))
    if length < 100:
        assert status == 0
        result = _run("from hostile.models import Deep", tmp_path / "out")
        assert result.returncode == 0, result.stderr
    else:
        assert status == 2
        assert "nests deeper than 100 levels" in _one_line_refusal(capsys)


def test_deep_yaml_and_alias_bombs_are_refused(tmp_path: Path, capsys: Any) -> None:
    deep = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\nx: " + "[" * 900 + "]" * 900
    assert _generate(tmp_path, _write(tmp_path / "deep.yaml", deep)) == 2
    _one_line_refusal(capsys)
    lines = ["openapi: 3.0.3", "info: {title: t, version: '1'}", "paths: {}", "a0: &a0 [x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    assert _generate(tmp_path, _write(tmp_path / "laughs.yaml", "\n".join(lines))) == 2
    assert "expands beyond" in _one_line_refusal(capsys)


def test_a_document_past_the_size_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import common_clients.codegen._spec as spec_module

    monkeypatch.setattr(spec_module, "MAX_BYTES", 1000)
    with pytest.raises(SpecError, match="larger than the 1000-byte bound"):
        parse_spec(json.dumps(hostile_document()))


def test_non_finite_numbers_never_reach_the_code(tmp_path: Path, capsys: Any) -> None:
    text = _nested(0).replace(
        '{"Deep": {"type": "string"}}',
        '{"Deep": {"type": "object", "properties": {'
        '"big": {"type": "number", "default": 1e400},'
        '"nan": {"type": "number", "default": NaN},'
        '"huge": {"type": "number", "default": 1' + "0" * 400 + "},"
        '"fine": {"type": "number", "default": 2.5}}}}',
    )
    assert _generate(tmp_path, _write(tmp_path / "numbers.json", text)) == 0
    warnings = capsys.readouterr().err
    for name in ("big", "nan", "huge"):
        assert f"#/components/schemas/Deep/properties/{name}/default: default is not a finite" in (
            warnings
        )
    probe = (
        "from hostile.models import Deep\n"
        "d = Deep()\n"
        "assert (d.big, d.nan, d.huge, d.fine) == (None, None, None, 2.5)\n"
    )
    result = _run(probe, tmp_path / "out")
    assert result.returncode == 0, result.stderr


def test_an_integer_past_pythons_digit_limit_is_one_line(tmp_path: Path, capsys: Any) -> None:
    text = _nested(0).replace('"type": "string"', '"type": "string", "x": 1' + "0" * 5000)
    assert _generate(tmp_path, _write(tmp_path / "digits.json", text)) == 2
    assert "cannot be read" in _one_line_refusal(capsys)


def test_a_lone_surrogate_is_refused_naming_where(tmp_path: Path, capsys: Any) -> None:
    text = _nested(0).replace('"type": "string"', '"type": "string", "title": "\\ud800"')
    assert _generate(tmp_path, _write(tmp_path / "surrogate.json", text)) == 2
    line = _one_line_refusal(capsys)
    assert "#/components/schemas/Deep/title: a string holds a lone surrogate" in line


def _one_operation() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/a/": {
                "get": {
                    "operationId": "a",
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
        "components": {
            "schemas": {"S": {"type": "object", "properties": {"x": {"type": "integer"}}}}
        },
    }


@pytest.mark.parametrize(
    ("place", "ref", "expected"),
    [
        ("parameters", "#/info/title", "#/info/title: a Parameter Object is expected here"),
        ("parameters", "#/components/schemas/S", "a Parameter Object without a 'name' string"),
        ("requestBody", "#/components/x-body", "'content' is not a Mapping"),
        ("responses", "#/info/title", "#/info/title: a Response Object is expected here"),
        ("path item", "#/info/version", "#/info/version: a Path Item Object is expected here"),
    ],
)
def test_a_ref_to_the_wrong_kind_of_object_is_one_line(
    tmp_path: Path, capsys: Any, place: str, ref: str, expected: str
) -> None:
    document = _one_operation()
    operation = document["paths"]["/a/"]["get"]
    if place == "parameters":
        operation["parameters"] = [{"$ref": ref}]
    elif place == "requestBody":
        document["components"]["x-body"] = {"content": "not a map"}
        operation["requestBody"] = {"$ref": ref}
    elif place == "responses":
        operation["responses"] = {"200": {"$ref": ref}}
    else:
        document["paths"]["/b/"] = {"$ref": ref}
    assert _generate(tmp_path, _write(tmp_path / "wrong.json", document)) == 2
    assert expected in _one_line_refusal(capsys)
