"""common_clients.testing: a transport that answers as an OpenAPI document says, for the sync and
async generated clients, and fails the test whose request the document does not allow."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from common_clients.errors import InternalServerError, NotFoundError, ResponseValidationError
from common_clients.testing import (
    Answer,
    DocumentError,
    DocumentTransport,
    RecordedCall,
    RequestMismatch,
)
from inventory_client import AsyncInventoryClient, InventoryClient
from inventory_client.models import ProductRequest

SPECS = Path(__file__).resolve().parents[1] / "specs"
INVENTORY = SPECS / "inventory.yaml"


@pytest.fixture
def inventory() -> DocumentTransport:
    return DocumentTransport(INVENTORY)


def _client(transport: DocumentTransport) -> InventoryClient:
    return InventoryClient(base_url="http://inventory.test", transport=transport, max_retries=0)


def _product_request(**fields: Any) -> ProductRequest:
    values: dict[str, Any] = {
        "sku": "A-1",
        "name": "Saw",
        "category": "tools",
        "price": "9.50",
        "quantity": 3,
        **fields,
    }
    return ProductRequest(**values)


@pytest.mark.parametrize("spec", sorted(p.name for p in SPECS.glob("*.yaml")))
def test_every_default_answer_matches_its_schema(spec: str) -> None:
    transport = DocumentTransport(SPECS / spec)
    for operation_id in transport.operation_ids:
        body = transport.example(operation_id)
        # answer() checks a body against the document: the built one must pass.
        transport.answer(operation_id, body=body)


def test_the_generated_client_gets_typed_answers_from_the_document(
    inventory: DocumentTransport,
) -> None:
    with _client(inventory) as client:
        product = client.products.retrieve(id=7)
        listed = list(client.products.list(category="tools"))
        created = client.products.create(body=_product_request())
    assert product.sku == inventory.example("products_retrieve")["sku"]
    assert len(listed) == 1  # the built page has one item and no next page
    assert created.id == product.id
    assert [call.operation_id for call in inventory.calls] == [
        "products_retrieve",
        "products_list",
        "products_create",
    ]
    assert inventory.calls[0].path_params == {"id": "7"}
    assert inventory.calls[1].query == {"category": ["tools"]}
    assert inventory.calls[2].body["sku"] == "A-1"


def test_a_test_sets_the_status_and_body_of_an_operation(inventory: DocumentTransport) -> None:
    body = {**inventory.example("products_retrieve"), "name": "Hammer"}
    inventory.answer("products_retrieve", body=body, headers={"X-Request-ID": "r-1"})
    with _client(inventory) as client:
        raw = client.with_raw_response.products.retrieve(id=1)
        assert raw.parsed.name == "Hammer"
        assert raw.http_response.headers["X-Request-ID"] == "r-1"
        # The inventory document lists no 404 for it: answering one is a deliberate choice.
        inventory.answer("products_retrieve", status=404, body={"detail": "gone"}, check=False)
        with pytest.raises(NotFoundError):
            client.products.retrieve(id=1)


def test_an_answer_the_document_does_not_allow_needs_check_false(
    inventory: DocumentTransport,
) -> None:
    with pytest.raises(
        DocumentError, match=r"products_retrieve: the 200 body does not match.*/name"
    ):
        inventory.answer("products_retrieve", body={"id": 1, "name": 5})
    with pytest.raises(DocumentError, match="status 500 is not documented"):
        inventory.answer("products_retrieve", status=500)
    inventory.answer("products_retrieve", body={"id": "x"}, check=False)
    with _client(inventory) as client, pytest.raises(ResponseValidationError):
        client.products.retrieve(id=1)
    inventory.answer("products_retrieve", status=500, body={"detail": "boom"}, check=False)
    with _client(inventory) as client, pytest.raises(InternalServerError):
        client.products.retrieve(id=1)


def test_an_answer_may_be_computed_from_each_call(inventory: DocumentTransport) -> None:
    def respond(call: RecordedCall) -> Answer:
        product = inventory.example("products_retrieve")
        return Answer(status=200, body={**product, "id": int(call.path_params["id"])})

    inventory.answer("products_retrieve", respond=respond)
    with _client(inventory) as client:
        assert [client.products.retrieve(id=n).id for n in (3, 4)] == [3, 4]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "message"),
    [
        ("GET", "/nothing/", {}, "no operation of the document has this path"),
        ("PUT", "/products/", {}, r"the document has no PUT here \(GET, POST\)"),
        ("GET", "/products/abc/", {}, "no operation of the document has this path"),
        (
            "GET",
            "/products/",
            {"params": {"colour": "red"}},
            r"unknown query parameter\(s\) colour",
        ),
        ("GET", "/products/", {"params": {"category": "food"}}, "category=.* does not match"),
        ("GET", "/products/", {"params": {"page": "two"}}, "page=.* does not match"),
        ("POST", "/products/", {}, "the request body is required"),
        ("POST", "/products/", {"body": {"sku": "A-1"}}, r'"name" is a required property'),
        ("POST", "/products/", {"body": {"sku": 1}}, "at /sku: 1 is not of type"),
        ("GET", "/products/1/", {"body": {"x": 1}}, "takes no body"),
        ("POST", "/products/", {"body": b"<a/>", "body_kind": "content"}, "body of type"),
    ],
)
def test_a_request_outside_the_document_fails_the_test(
    inventory: DocumentTransport, method: str, path: str, kwargs: dict[str, Any], message: str
) -> None:
    with _client(inventory) as client, pytest.raises(RequestMismatch, match=message) as raised:
        client.request(method, path, **kwargs)
    assert isinstance(raised.value, AssertionError)
    assert inventory.mismatches == [raised.value]
    assert inventory.calls == []
    assert str(INVENTORY) in str(raised.value)


def test_the_async_client_is_answered_and_checked_the_same_way(
    inventory: DocumentTransport,
) -> None:
    async def run() -> None:
        async with AsyncInventoryClient(
            base_url="http://inventory.test", transport=inventory
        ) as client:
            product = await client.products.retrieve(id=2)
            assert product.id == inventory.example("products_retrieve")["id"]
            items = [item async for item in client.products.list()]
            assert len(items) == 1
            with pytest.raises(RequestMismatch, match="unknown query parameter"):
                await client.products.list(extra_query={"colour": "red"})

    asyncio.run(run())
    assert [call.operation_id for call in inventory.calls] == ["products_retrieve", "products_list"]


def test_a_base_url_with_a_path_of_its_own_is_matched(inventory: DocumentTransport) -> None:
    with InventoryClient(
        base_url="http://gateway.test/inventory/v1", transport=inventory
    ) as client:
        client.products.retrieve(id=1)
    assert inventory.calls[0].request.url.path == "/inventory/v1/products/1/"


def test_the_documents_own_examples_come_first(tmp_path: Path) -> None:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Pets", "version": "1"},
        "paths": {
            "/pets/{id}": {
                "get": {
                    "operationId": "pets_get",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Pet"},
                                    "examples": {"rex": {"value": {"id": 1, "name": "Rex"}}},
                                }
                            },
                        }
                    },
                }
            },
            "/pets": {
                "get": {
                    "operationId": "pets_list",
                    "responses": {
                        "200": {
                            "description": "",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Pet"},
                                    }
                                }
                            },
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Pet": {
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {
                        "id": {"type": "integer", "minimum": 10},
                        "name": {"type": "string", "example": "Fido"},
                        "tag": {"type": ["string", "null"]},
                        "parent": {"$ref": "#/components/schemas/Pet"},
                    },
                }
            }
        },
    }
    path = tmp_path / "pets.json"
    path.write_text(json.dumps(document))
    for source in (document, path):
        transport = DocumentTransport(source)
        assert transport.example("pets_get") == {"id": 1, "name": "Rex"}
        # Built: the schema's own example, the minimum, null for the optional nullable, and the
        # recursive parent cut where it would repeat.
        assert transport.example("pets_list") == [{"id": 10, "name": "Fido", "tag": None}]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"swagger": "2.0"}, "not an OpenAPI 3 document"),
        (
            {
                "openapi": "3.0.3",
                "paths": {"/a": {"$ref": "../../etc/passwd"}},
            },
            r"\$ref '../../etc/passwd' leaves the document",
        ),
        (
            {"openapi": "3.0.3", "paths": {"/a": {"$ref": "#/nowhere"}}},
            "points to nothing",
        ),
        (
            {
                "openapi": "3.0.3",
                "paths": {
                    "/a": {"get": {"operationId": "x", "responses": {}}},
                    "/b": {"get": {"operationId": "x", "responses": {}}},
                },
            },
            "operationId 'x' is used twice",
        ),
    ],
)
def test_a_document_that_cannot_be_used_is_refused_naming_where(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(DocumentError, match=message) as raised:
        DocumentTransport(document)
    assert "root:" not in str(raised.value)  # no file text is ever echoed


def test_an_unknown_operation_or_file_is_named(
    tmp_path: Path, inventory: DocumentTransport
) -> None:
    with pytest.raises(
        DocumentError, match=r"no operation 'products_lst' \(known: .*products_list"
    ):
        inventory.answer("products_lst", status=200)
    with pytest.raises(DocumentError, match="cannot read the document"):
        DocumentTransport(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: [")
    with pytest.raises(DocumentError, match=r"bad\.yaml: not YAML"):
        DocumentTransport(bad)


def test_a_document_larger_than_the_bound_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import common_clients._testing as kit

    monkeypatch.setattr(kit, "MAX_DOCUMENT_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"openapi": "3.0.3", "pad": "x" * 2000}))
    with pytest.raises(DocumentError, match="bytes, more than the 1000 allowed"):
        DocumentTransport(big)


def test_a_schema_nested_too_deep_is_an_error_not_a_crash() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(600):
        schema = {"type": "object", "required": ["a"], "properties": {"a": schema}}
    document = {
        "openapi": "3.1.0",
        "paths": {
            "/a": {
                "get": {
                    "operationId": "deep",
                    "responses": {
                        "200": {
                            "description": "",
                            "content": {"application/json": {"schema": schema}},
                        }
                    },
                }
            }
        },
    }
    with pytest.raises(DocumentError, match="deep"):
        DocumentTransport(document).example("deep")
