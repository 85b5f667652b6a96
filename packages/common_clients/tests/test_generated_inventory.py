"""The generated inventory client (``inventory_client``, test-only) against its real DRF app.

``inventory_app`` is a Django project with a DRF viewset (page-number pagination, bearer-token
auth, validation errors, 404s, a 409 action); ``specs/inventory.yaml`` is what drf-spectacular
exports for it, and ``inventory_client`` is what the generator makes of that. The app runs
in its own process on 127.0.0.1 (a free port, SQLite in a temporary file) for the whole module.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import os
import subprocess
import sys
import threading
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from common_clients import AsyncPage, RawResponse, SyncPage
from common_clients.codegen._generate import generate_client, stale_files
from common_clients.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
)
from inventory_client import AsyncInventoryClient, InventoryClient
from inventory_client.models import (
    PatchedProductRequest,
    Product,
    ProductRequest,
    StockAdjustmentRequest,
)

PACKAGE = Path(__file__).resolve().parents[1]
APP = Path(__file__).resolve().parent / "inventory_app"
TOKEN = "inventory-test-token"


class Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


@pytest.fixture(scope="module")
def inventory_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The inventory app served on 127.0.0.1 by a separate process, until the module is done."""
    yield from _serve(tmp_path_factory)


@pytest.fixture(scope="module")
def problem_inventory_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same app answering its errors as RFC 9457 problem details (as Commons services do)."""
    yield from _serve(tmp_path_factory, INVENTORY_PROBLEMS="1")


def _serve(tmp_path_factory: pytest.TempPathFactory, **env: str) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("inventory")
    errors = (folder / "stderr.log").open("w")  # a file, never a pipe that could fill and block
    process = subprocess.Popen(
        [sys.executable, str(APP / "serve.py")],
        env={**os.environ, "INVENTORY_DB": str(folder / "db.sqlite3"), **env},
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    ready: list[str] = []
    reader = threading.Thread(target=lambda: ready.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout=60)
    try:
        if not ready or not ready[0].startswith("READY "):
            process.kill()
            process.wait(timeout=10)
            pytest.fail(f"the inventory app did not start: {(folder / 'stderr.log').read_text()}")
        yield f"http://127.0.0.1:{int(ready[0].split()[1])}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        errors.close()


@pytest.fixture
def client(inventory_url: str) -> Iterator[InventoryClient]:
    with InventoryClient(base_url=inventory_url, auth=Bearer(TOKEN), max_retries=0) as client:
        yield client


def _product(sku: str, **fields: object) -> ProductRequest:
    values: dict[str, object] = {
        "sku": sku,
        "name": f"Product {sku}",
        "category": "tools",
        "price": decimal.Decimal("9.99"),
        "quantity": 3,
    }
    values.update(fields)
    return ProductRequest.model_validate(values)


def test_create_and_retrieve_are_typed(client: InventoryClient) -> None:
    created = client.products.create(body=_product("C-1", notes=None))
    assert isinstance(created, Product)
    assert created.price == decimal.Decimal("9.99")
    assert isinstance(created.created, datetime.datetime)
    assert created.notes is None
    fetched = client.products.retrieve(id=created.id)
    assert fetched == created


def test_list_walks_every_page_and_filters(client: InventoryClient) -> None:
    made = [client.products.create(body=_product(f"L-{n}", category="parts")).id for n in range(5)]
    page = client.products.list(category="parts")
    assert isinstance(page, SyncPage)
    assert page.count == 5
    assert len(page.items) == 2  # the app's page size
    assert [p.id for p in page] == made
    assert [p.id for p in client.products.list(category="parts", page=3)] == made[4:]


def test_a_validation_error_is_a_bad_request_with_the_field_messages(
    client: InventoryClient,
) -> None:
    client.products.create(body=_product("V-1"))
    with pytest.raises(BadRequestError) as caught:
        client.products.create(body=_product("V-1"))
    assert caught.value.status_code == 400
    assert "sku" in caught.value.body
    assert caught.value.operation == "products_create"


def test_a_missing_product_is_not_found(client: InventoryClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.products.retrieve(id=999_999)
    assert set(caught.value.body) == {"detail"}
    assert caught.value.operation == "products_retrieve"
    assert caught.value.request_id


def test_missing_or_wrong_credentials_are_authentication_errors(inventory_url: str) -> None:
    with (
        InventoryClient(base_url=inventory_url, max_retries=0) as anonymous,
        pytest.raises(AuthenticationError) as caught,
    ):
        anonymous.products.retrieve(id=1)
    assert caught.value.status_code == 401
    with (
        InventoryClient(base_url=inventory_url, auth=Bearer("wrong")) as wrong,
        pytest.raises(AuthenticationError, match="Invalid token"),
    ):
        wrong.products.list()


def test_an_action_refusing_with_409_is_a_conflict(client: InventoryClient) -> None:
    product = client.products.create(body=_product("S-1", quantity=1))
    adjusted = client.products.adjust_stock_create(
        id=product.id, body=StockAdjustmentRequest(delta=4, reason="delivery")
    )
    assert adjusted.quantity == 5
    with pytest.raises(ConflictError) as caught:
        client.products.adjust_stock_create(id=product.id, body=StockAdjustmentRequest(delta=-6))
    assert caught.value.body == {"detail": "Not enough stock."}


PROBLEMS = "https://commons.invalid/problems/"


def test_problem_details_are_read_into_the_errors(problem_inventory_url: str) -> None:
    with InventoryClient(
        base_url=problem_inventory_url, auth=Bearer(TOKEN), max_retries=0
    ) as client:
        with pytest.raises(NotFoundError) as missing:
            client.products.retrieve(id=999_999)
        assert missing.value.is_problem
        assert missing.value.type == PROBLEMS + "not_found"
        assert missing.value.title == "Not Found"
        assert missing.value.detail == "No Product matches the given query."
        assert missing.value.instance == "/products/999999/"
        assert missing.value.extensions == {}
        assert str(missing.value).startswith("404 Not Found from GET ")
        assert ": not_found: No Product matches the given query." in str(missing.value)

        client.products.create(body=_product("PD-1", quantity=1))
        with pytest.raises(BadRequestError) as invalid:
            client.products.create(body=_product("PD-1"))
        assert invalid.value.type == PROBLEMS + "validation_error"
        assert [e["pointer"] for e in invalid.value.extensions["errors"]] == ["#/sku"]

        made = client.products.create(body=_product("PD-2", quantity=1))
        with pytest.raises(ConflictError) as conflict:
            client.products.adjust_stock_create(id=made.id, body=StockAdjustmentRequest(delta=-5))
        assert (conflict.value.type, conflict.value.detail) == (
            PROBLEMS + "out_of_stock",
            "Not enough stock.",
        )

    with (
        InventoryClient(base_url=problem_inventory_url, max_retries=0) as anonymous,
        pytest.raises(AuthenticationError) as unauthenticated,
    ):
        anonymous.products.retrieve(id=1)
    assert unauthenticated.value.type == PROBLEMS + "not_authenticated"
    assert unauthenticated.value.response.headers["WWW-Authenticate"].startswith("Bearer")


def test_plain_drf_errors_are_not_problems(client: InventoryClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.products.retrieve(id=999_998)
    assert not caught.value.is_problem
    assert (caught.value.type, caught.value.title, caught.value.instance) == (None, None, None)
    assert caught.value.detail == "No Product matches the given query."


def test_patch_sends_only_the_fields_set_and_delete_returns_none(client: InventoryClient) -> None:
    product = client.products.create(body=_product("P-1", notes="fragile"))
    patched = client.products.partial_update(id=product.id, body=PatchedProductRequest(name="New"))
    assert (patched.name, patched.notes) == ("New", "fragile")
    client.products.destroy(id=product.id)
    with pytest.raises(NotFoundError):
        client.products.retrieve(id=product.id)


def test_raw_response_gives_status_and_headers_beside_the_model(client: InventoryClient) -> None:
    product = client.products.create(body=_product("R-1"))
    raw = client.with_raw_response.products.retrieve(id=product.id)
    assert isinstance(raw, RawResponse)
    assert raw.parsed == product
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "application/json"
    created = client.products.with_raw_response.create(body=_product("R-2"))
    assert created.status_code == 201


def test_the_async_client_does_the_same_calls(inventory_url: str) -> None:
    async def scenario() -> None:
        async with AsyncInventoryClient(base_url=inventory_url, auth=Bearer(TOKEN)) as client:
            made = [
                (await client.products.create(body=_product(f"A-{n}", category="supplies"))).id
                for n in range(3)
            ]
            first = await client.products.list(category="supplies")
            assert isinstance(first, AsyncPage)
            assert [p.id async for p in client.products.list(category="supplies")] == made
            assert (await client.products.retrieve(id=made[0])).sku == "A-0"
            with pytest.raises(NotFoundError):
                await client.products.retrieve(id=999_999)
            raw = await client.with_raw_response.products.retrieve(id=made[1])
            assert raw.parsed.id == made[1]

    asyncio.run(scenario())


def test_the_committed_spec_is_what_drf_spectacular_exports(tmp_path: Path) -> None:
    exported = tmp_path / "inventory.yaml"
    subprocess.run(
        [sys.executable, str(APP / "serve.py"), "--export-schema", str(exported)],
        check=True,
        capture_output=True,
    )
    committed = yaml.safe_load((PACKAGE / "specs" / "inventory.yaml").read_text())
    assert yaml.safe_load(exported.read_text()) == committed


def test_the_committed_client_is_what_the_generator_makes() -> None:
    files = generate_client(
        PACKAGE / "specs" / "inventory.yaml",
        service="inventory",
        package="inventory_client",
        spec_label="packages/common_clients/specs/inventory.yaml",
    )
    assert stale_files(files, PACKAGE / "tests" / "inventory_client") == []
