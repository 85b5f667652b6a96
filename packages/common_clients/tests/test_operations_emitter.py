"""The operations emitter on a document written to use every kind of operation it supports.

The client is generated into a temporary package, checked with ruff and ``mypy --strict`` as a
user would, imported, and called against the loopback server: each test states one rule of the
mapping (names, parameters, bodies, responses, pagination) and sees it on the wire.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from common_clients import AsyncClient, AsyncPage, SyncClient, SyncPage
from common_clients.codegen import SpecError, parse_spec
from common_clients.codegen._cli import main as cli
from common_clients.codegen._generate import (
    generate_client,
    stale_files,
    write_client,
)
from common_clients.codegen._operations import plan_resources
from common_clients.errors import ResponseDecodeError

ROOT = Path(__file__).resolve().parents[3]
PAGE = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "count": {"type": "integer"},
        "next": {"type": "string", "nullable": True},
        "previous": {"type": "string", "nullable": True},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Widget"}},
    },
}
LONG_PATH = (
    "/organizations/{organization_id}/projects/{project_id}/environments/{environment_id}"
    "/deployments/{id}/"
)
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Workshop", "version": "1"},
    "tags": [{"name": "widgets", "description": "Things we make."}],
    "paths": {
        "/widgets/": {
            "get": {
                "operationId": "widgets_list",
                "tags": ["widgets"],
                "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer"}},
                    {"name": "color", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "tag",
                        "in": "query",
                        "schema": {"type": "array", "items": {"type": "string"}},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/PaginatedWidgetList"}
                            }
                        },
                    }
                },
            },
            "post": {
                "operationId": "widgets_create",
                "tags": ["widgets"],
                "summary": "Make a widget.",
                "parameters": [
                    {
                        "name": "X-Tenant",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/WidgetIn"}},
                        "multipart/form-data": {
                            "schema": {"$ref": "#/components/schemas/WidgetIn"}
                        },
                    },
                },
                "responses": {
                    "201": {
                        "description": "",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Widget"}}
                        },
                    }
                },
            },
        },
        "/widgets/by-offset/": {
            "get": {
                "operationId": "widgets_offset",
                "tags": ["widgets"],
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": {"description": "", "content": {"application/json": {"schema": PAGE}}}
                },
            }
        },
        "/widgets/by-cursor/": {
            "get": {
                "operationId": "widgets_cursor",
                "tags": ["widgets"],
                "parameters": [
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    {"name": "path", "in": "query", "schema": {"type": "string"}},
                    {"name": "cast", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {"description": "", "content": {"application/json": {"schema": PAGE}}}
                },
            }
        },
        "/widgets/{widget_id}/photo.{format}": {
            "get": {
                "operationId": "widgets_photo",
                "tags": ["widgets"],
                "deprecated": True,
                "parameters": [
                    {
                        "name": "widget_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "format",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["png", "jpg"]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "",
                        "content": {
                            "image/png": {"schema": {"type": "string", "format": "binary"}}
                        },
                    }
                },
            },
            "put": {
                "operationId": "widgets_photo_upload",
                "tags": ["widgets"],
                "parameters": [
                    {
                        "name": "widget_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "format",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": {
                    "content": {
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        }
                    }
                },
                "responses": {"204": {"description": "stored"}},
            },
        },
        "/widgets/{id}/": {
            "get": {
                "operationId": "widgets_retrieve",
                "tags": ["widgets"],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": {
                        "description": "",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Widget"},
                                        {"$ref": "#/components/schemas/Gadget"},
                                    ]
                                }
                            }
                        },
                    },
                    "204": {"description": "gone quiet"},
                },
            }
        },
        "/login": {
            "post": {
                "operationId": "login",
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["username"],
                                "properties": {
                                    "username": {"type": "string"},
                                    "remember": {"type": "boolean"},
                                },
                            }
                        }
                    }
                },
                "responses": {
                    "200": {
                        "description": "",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        # A template too long for one line of the client's table of templates.
        LONG_PATH: {
            "get": {
                "operationId": "organizations_projects_environments_deployments_retrieve",
                "tags": ["deployments"],
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
                    for name in ("organization_id", "project_id", "environment_id", "id")
                ],
                "responses": {"204": {"description": ""}},
            }
        },
        "/widgets/{id}/manual": {
            "post": {
                "operationId": "widgets_manual",
                "tags": ["widgets"],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "requestBody": {
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["title"],
                                "properties": {
                                    "title": {"type": "string"},
                                    "file": {"type": "string", "format": "binary"},
                                    "pages": {"type": "array", "items": {"type": "integer"}},
                                },
                            }
                        }
                    }
                },
                "responses": {"204": {"description": "stored"}},
            }
        },
    },
    "components": {
        "schemas": {
            "Widget": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            },
            "Gadget": {
                "type": "object",
                "required": ["serial"],
                "properties": {"serial": {"type": "string"}},
            },
            "WidgetIn": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "color": {"type": "string"}},
            },
            "PaginatedWidgetList": PAGE,
        }
    },
}


@pytest.fixture(scope="module")
def workshop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated ``workshop_client`` package, importable from a temporary folder."""
    root = tmp_path_factory.mktemp("generated")
    spec = parse_spec(json.dumps(DOCUMENT), source="workshop.json")
    files = generate_client(spec, service="workshop", package="workshop_client")
    write_client(files, root / "workshop_client")
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module("workshop_client")
        module.ROOT = root  # type: ignore[attr-defined]
        yield module
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.startswith("workshop_client")]:
            del sys.modules[name]


def test_generated_code_is_ruff_and_mypy_strict_clean(workshop: Any) -> None:
    folder = workshop.ROOT / "workshop_client"
    ruff = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            f"--config={ROOT / 'pyproject.toml'}",
            "--config=lint.isort.known-first-party=['workshop_client', 'common_clients']",
            str(folder),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", "workshop_client"],
        capture_output=True,
        text=True,
        check=False,
        cwd=workshop.ROOT,
        env={"MYPYPATH": str(workshop.ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert mypy.returncode == 0, mypy.stdout


def test_generation_is_byte_identical_on_rerun(workshop: Any) -> None:
    spec = parse_spec(json.dumps(DOCUMENT), source="workshop.json")
    files = generate_client(spec, service="workshop", package="workshop_client")
    assert stale_files(files, workshop.ROOT / "workshop_client") == []


def test_the_client_knows_each_operations_path_template(workshop: Any) -> None:
    expected = {
        operation.get("operationId", f"{method.upper()} {path}"): path
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
    }
    assert workshop.WorkshopClient.url_templates == expected
    assert workshop.AsyncWorkshopClient.url_templates == expected
    assert expected["GET /health"] == "/health"


def test_a_calls_span_is_named_after_its_operations_path_template(
    workshop: Any, loopback: Any, telemetry: Any
) -> None:
    loopback.route("GET", "/widgets/7/", loopback.reply(200, {"id": 7, "name": "cog"}))
    deployment = "/organizations/1/projects/2/environments/3/deployments/4/"
    loopback.route("GET", deployment, loopback.reply(204))
    with workshop.WorkshopClient(base_url=loopback.url) as client:
        client.widgets.retrieve(id=7)
        client.deployments.organizations_projects_environments_deployments_retrieve(
            organization_id=1, project_id=2, environment_id=3, id=4
        )
    widget, deployed = telemetry.spans.get_finished_spans()
    assert (widget.name, widget.attributes["url.template"]) == (
        "GET /widgets/{id}/",
        "/widgets/{id}/",
    )
    assert deployed.name == f"GET {LONG_PATH}"


def test_methods_are_named_from_operation_ids_without_the_tag(workshop: Any) -> None:
    resource = workshop.WorkshopClient(base_url="http://127.0.0.1:1").widgets
    names = {n for n in vars(type(resource)) if not n.startswith("_")}
    assert names == {
        "with_raw_response",
        "list",
        "create",
        "offset",
        "cursor",
        "photo",
        "photo_upload",
        "retrieve",
        "manual",
    }
    default = workshop.WorkshopClient(base_url="http://127.0.0.1:1").default
    assert {"login", "get_health"} <= set(vars(type(default)))


def test_query_header_cookie_and_json_body_reach_the_wire(workshop: Any, loopback: Any) -> None:
    loopback.route("POST", "/widgets/", loopback.reply(201, {"id": 1, "name": "w"}))
    models = workshop.models
    with workshop.WorkshopClient(base_url=loopback.url) as client:
        made = client.widgets.create(x_tenant="acme", session="s1", body=models.WidgetIn(name="w"))
    assert made.id == 1
    (sent,) = loopback.requests
    assert sent.headers["x-tenant"] == "acme"
    assert sent.headers["cookie"] == "session=s1"
    assert json.loads(sent.body) == {"name": "w"}


def test_page_number_listing_repeats_array_parameters(workshop: Any, loopback: Any) -> None:
    def page(received: Any) -> Any:
        query = parse_qs(received.query)
        number = int(query.get("page", ["1"])[0])
        link = None if number == 2 else "http://x/widgets/?page=2&color=red"
        return loopback.reply(
            200, {"count": 2, "next": link, "results": [{"id": number, "name": "w"}]}
        )

    loopback.route("GET", "/widgets/", page)
    with workshop.WorkshopClient(base_url=loopback.url) as client:
        listing = client.widgets.list(color="red", tag=["a", "b"])
        assert isinstance(listing, SyncPage)
        assert [w.id for w in listing] == [1, 2]
    assert [parse_qs(r.query) for r in loopback.requests] == [
        {"color": ["red"], "tag": ["a", "b"]},
        {"color": ["red"], "tag": ["a", "b"], "page": ["2"]},
    ]


def test_limit_offset_and_cursor_listings_are_detected(workshop: Any, loopback: Any) -> None:
    loopback.route(
        "GET",
        "/widgets/by-offset/",
        lambda r: loopback.reply(
            200,
            {
                "next": None if "offset=1" in r.query else "http://x/?limit=1&offset=1",
                "results": [{"id": 10 if "offset=1" in r.query else 9, "name": "w"}],
            },
        ),
    )
    loopback.route(
        "GET",
        "/widgets/by-cursor/",
        lambda r: loopback.reply(
            200,
            {
                "next": None if "cursor=b" in r.query else "http://x/?cursor=b",
                "results": [{"id": 8 if "cursor=b" in r.query else 7, "name": "w"}],
            },
        ),
    )
    with workshop.WorkshopClient(base_url=loopback.url) as client:
        assert [w.id for w in client.widgets.offset(limit=1)] == [9, 10]
        assert [w.id for w in client.widgets.cursor()] == [7, 8]


def test_path_parameters_are_percent_encoded_and_downloads_are_bytes(
    workshop: Any, loopback: Any
) -> None:
    loopback.route(
        "GET",
        "/widgets/a%2Fb%20c/photo.png",
        loopback.reply(200, b"\x89PNG", headers={"Content-Type": "image/png"}),
    )
    loopback.route("PUT", "/widgets/w1/photo.jpg", loopback.reply(204))
    with workshop.WorkshopClient(base_url=loopback.url) as client:
        with pytest.warns(DeprecationWarning, match="widgets_photo is deprecated by the API"):
            assert client.widgets.photo(widget_id="a/b c", format="png") == b"\x89PNG"
        assert client.widgets.photo_upload(widget_id="w1", format="jpg", body=b"JPEG") is None
    upload = loopback.requests[1]
    assert (upload.body, upload.headers["content-type"]) == (b"JPEG", "application/octet-stream")


def test_a_union_of_responses_and_an_empty_one_parse_to_their_types(
    workshop: Any, loopback: Any
) -> None:
    models = workshop.models
    loopback.route("GET", "/widgets/1/", loopback.reply(200, {"id": 1, "name": "w"}))
    loopback.route("GET", "/widgets/2/", loopback.reply(200, {"serial": "g-2"}))
    loopback.route("GET", "/widgets/3/", loopback.reply(204))
    with workshop.WorkshopClient(base_url=loopback.url) as client:
        assert isinstance(client.widgets.retrieve(id=1), models.Widget)
        assert isinstance(client.widgets.retrieve(id=2), models.Gadget)
        assert client.widgets.retrieve(id=3) is None


def test_form_bodies_and_text_responses(workshop: Any, loopback: Any) -> None:
    models = workshop.models
    loopback.route("POST", "/login", loopback.reply(200, "welcome"))
    with workshop.WorkshopClient(base_url=loopback.url) as client:
        assert (
            client.default.login(body=models.LoginBody(username="ann", remember=True)) == "welcome"
        )
    (sent,) = loopback.requests
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.body.decode()) == {"username": ["ann"], "remember": ["true"]}


def test_a_json_operation_answered_with_html_is_a_decode_error(
    workshop: Any, loopback: Any
) -> None:
    loopback.route(
        "GET", "/widgets/1/", loopback.reply(200, "<html/>", headers={"Content-Type": "text/html"})
    )
    with (
        workshop.WorkshopClient(base_url=loopback.url) as client,
        pytest.raises(ResponseDecodeError) as caught,
    ):
        client.widgets.retrieve(id=1)
    assert caught.value.operation == "widgets_retrieve"


def test_async_resources_mirror_the_sync_ones(workshop: Any, loopback: Any) -> None:
    loopback.route(
        "GET", "/widgets/", loopback.reply(200, {"next": None, "results": [{"id": 4, "name": "w"}]})
    )
    loopback.route("GET", "/health", loopback.reply(200))

    async def scenario() -> None:
        async with workshop.AsyncWorkshopClient(base_url=loopback.url) as client:
            page = await client.widgets.list()
            assert isinstance(page, AsyncPage)
            assert [w.id async for w in client.widgets.list()] == [4]
            assert await client.default.get_health() is None
            raw = await client.with_raw_response.widgets.list()
            assert raw.status_code == 200

    asyncio.run(scenario())


def test_an_undeclared_path_parameter_is_an_error_naming_the_operation() -> None:
    document = json.loads(json.dumps(DOCUMENT))
    document["paths"]["/widgets/{id}/"]["get"]["parameters"] = []
    with pytest.raises(SpecError) as caught:
        generate_client(parse_spec(json.dumps(document), validate=False), service="workshop")
    assert "widgets_retrieve" in str(caught.value)


def test_the_command_generates_checks_and_reports_bad_documents(
    tmp_path: Path, capsys: Any
) -> None:
    spec = tmp_path / "workshop.json"
    spec.write_text(json.dumps(DOCUMENT))
    assert cli(["generate", str(spec), "--out", str(tmp_path / "out"), "--name", "workshop"]) == 0
    assert (tmp_path / "out" / "workshop" / "_client.py").is_file()
    assert (
        cli(
            ["generate", str(spec), "--out", str(tmp_path / "out"), "--name", "workshop", "--check"]
        )
        == 0
    )
    (tmp_path / "out" / "workshop" / "models.py").write_text("# edited by hand\n")
    assert (
        cli(
            ["generate", str(spec), "--out", str(tmp_path / "out"), "--name", "workshop", "--check"]
        )
        == 1
    )
    assert "models.py (differs)" in capsys.readouterr().out
    broken = json.loads(json.dumps(DOCUMENT))
    broken["paths"]["/health"]["get"]["responses"] = {"200": {"content": {}}}
    spec.write_text(json.dumps(broken))
    assert cli(["generate", str(spec), "--out", str(tmp_path / "out"), "--name", "workshop"]) == 2
    assert "/paths/~1health/get/responses/200" in capsys.readouterr().err


def test_the_diff_command_exits_1_on_a_breaking_change(tmp_path: Path, capsys: Any) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(DOCUMENT))
    changed = json.loads(json.dumps(DOCUMENT))
    del changed["paths"]["/login"]
    new.write_text(json.dumps(changed))
    assert cli(["diff", str(old), str(old)]) == 0
    assert cli(["diff", str(old), str(new)]) == 1
    assert "BREAKING" in capsys.readouterr().out


def test_multipart_bodies_send_files_and_fields_as_parts(workshop: Any, loopback: Any) -> None:
    models = workshop.models
    loopback.route("POST", "/widgets/5/manual", loopback.reply(204))
    with workshop.WorkshopClient(base_url=loopback.url) as client:
        body = models.WidgetsManualBody(title="How to", file=b"%PDF-1.7", pages=[1, 2])
        client.widgets.manual(id=5, body=body)
        client.widgets.manual(id=5, body=models.WidgetsManualBody(title="No file"))
    with_file, without_file = loopback.requests
    assert with_file.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="file"' in with_file.body
    assert b"%PDF-1.7" in with_file.body
    assert with_file.body.count(b'name="pages"') == 2
    assert without_file.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b"No file" in without_file.body


def test_resource_class_names_never_collide_across_tags() -> None:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            f"/{n}": {"get": {"tags": [tag], "responses": {"204": {"description": ""}}}}
            for n, tag in enumerate(["async pets", "pets", "Pets", "sync-client"])
        },
    }
    resources = plan_resources(parse_spec(json.dumps(document)))
    names = [name for resource in resources for name in resource.class_names]
    assert len(names) == len(set(names))
    assert [r.class_name for r in resources] == ["AsyncPets", "Pets2", "Pets3", "SyncClient2"]
    assert [r.attribute for r in resources] == ["async_pets", "pets", "pets_2", "sync_client"]


def test_parameters_named_like_the_method_body_s_own_names_still_arrive(
    workshop: Any, loopback: Any
) -> None:
    loopback.route("GET", "/widgets/by-cursor/", loopback.reply(200, {"next": None, "results": []}))
    with workshop.WorkshopClient(base_url=loopback.url) as client:
        assert list(client.widgets.cursor(path="/a", cast_2="b")) == []
    assert parse_qs(loopback.requests[0].query) == {"path": ["/a"], "cast": ["b"]}


@pytest.mark.parametrize(
    ("service", "client"),
    [("Async", "AsyncServiceClient"), ("sync", "SyncServiceClient"), ("things", "ThingsClient")],
)
def test_a_client_named_like_the_runtime_or_a_tag_named_like_its_imports_still_works(
    service: str, client: str, tmp_path: Path
) -> None:
    """The client module imports ``SyncClient``, ``AsyncClient`` and ``ClassVar`` and defines
    ``<Service>Client``: a service or a tag of those names must shadow none of them (a client
    would inherit from itself, or a resource be built where a client is)."""
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            f"/{n}/": {
                "get": {
                    "operationId": f"op_{n}",
                    "tags": [tag],
                    "responses": {"204": {"description": ""}},
                }
            }
            for n, tag in enumerate(["ClassVar", f"{service} client"])
        },
    }
    package = f"odd_{service.lower()}_client"
    files = generate_client(parse_spec(json.dumps(document)), service=service, package=package)
    write_client(files, tmp_path / package)
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module(package)
        assert sorted(n for n in module.__all__ if n.endswith("Client")) == [
            f"Async{client}",
            client,
        ]
        sync_client, async_client = getattr(module, client), getattr(module, f"Async{client}")
        assert issubclass(sync_client, SyncClient)
        assert not issubclass(sync_client, AsyncClient)
        assert issubclass(async_client, AsyncClient)
        assert not issubclass(async_client, SyncClient)
        assert sync_client.service_name == async_client.service_name == service
        hints = typing.get_type_hints(sync_client)
        assert hints["service_name"] == typing.ClassVar[str]
        transport = httpx.MockTransport(lambda request: httpx.Response(204))
        with sync_client(base_url="http://t", transport=transport) as made:
            assert made.class_var.op_0() is None
            resource = getattr(made, f"{service.lower()}_client")
            assert not isinstance(resource, SyncClient)
            assert resource.op_1() is None
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith(package)]:
            del sys.modules[name]
