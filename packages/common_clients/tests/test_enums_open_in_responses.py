"""A service adding an enum value never breaks its old clients; requests keep their enums strict.

Two versions of one small API: version 2 adds a value to three response enums. A client generated
from version 1 is called against a server answering as version 2: the new values arrive kept and
typed as unknown (``UnknownStr``/``UnknownInt``), known ones as their ``Literal``, and a type
checker still sees a ``match`` over the known values as exhaustive. The request side is strict at
run time and for the type checker, and ``diff`` classes the changes the same way.
"""

from __future__ import annotations

import copy
import importlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pydantic
import pytest

from common_clients import UnknownInt, UnknownStr
from common_clients.codegen import ChangeKind, diff_specs, parse_spec
from common_clients.codegen._generate import generate_client, write_client
from common_clients.errors import ResponseValidationError


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


V1: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Orders", "version": "1"},
    "paths": {
        "/orders/": {
            "get": {
                "operationId": "orders_list",
                "tags": ["orders"],
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["pending", "shipped"]},
                    }
                ],
                "responses": {"200": {"description": "", **_json(_ref("OrderList"))}},
            },
            "post": {
                "operationId": "orders_create",
                "tags": ["orders"],
                "requestBody": {"required": True, **_json(_ref("OrderRequest"))},
                "responses": {"201": {"description": "", **_json(_ref("Order"))}},
            },
        },
        "/orders/{id}/": {
            "get": {
                "operationId": "orders_retrieve",
                "tags": ["orders"],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {"200": {"description": "", **_json(_ref("Order"))}},
            }
        },
    },
    "components": {
        "schemas": {
            "Status": {"type": "string", "enum": ["pending", "shipped"]},
            "Order": {
                "type": "object",
                "required": ["id", "status", "priority", "kind"],
                "properties": {
                    "id": {"type": "integer"},
                    "status": _ref("Status"),
                    "priority": {"type": "integer", "enum": [1, 2]},
                    "labels": {
                        "type": "array",
                        "items": {"type": "string", "enum": ["fragile", "urgent"]},
                    },
                    "previous": {**_ref("Status"), "nullable": True},
                    # One value: a tag, kept strict.
                    "kind": {"type": "string", "enum": ["order"]},
                },
            },
            "OrderList": {"type": "array", "items": _ref("Order")},
            "OrderRequest": {
                "type": "object",
                "required": ["status"],
                "properties": {
                    "status": _ref("Status"),
                    "priority": {"type": "integer", "enum": [1, 2]},
                },
            },
        }
    },
}


def _v2() -> dict[str, Any]:
    document = copy.deepcopy(V1)
    document["info"]["version"] = "2"
    schemas = document["components"]["schemas"]
    schemas["Status"]["enum"].append("cancelled")
    schemas["Order"]["properties"]["priority"]["enum"].append(3)
    schemas["Order"]["properties"]["labels"]["items"]["enum"].append("gift")
    return document


ORDER_V2 = {
    "id": 7,
    "status": "cancelled",
    "priority": 3,
    "labels": ["fragile", "gift"],
    "previous": "pending",
    "kind": "order",
}


@pytest.fixture(scope="module")
def orders_v1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client generated from version 1, importable as ``orders_v1``."""
    root = tmp_path_factory.mktemp("generated")
    spec = parse_spec(json.dumps(V1), source="orders.json")
    write_client(generate_client(spec, service="orders", package="orders_v1"), root / "orders_v1")
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module("orders_v1")
        module.ROOT = root  # type: ignore[attr-defined]
        yield module
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.startswith("orders_v1")]:
            del sys.modules[name]


def test_new_enum_values_in_a_response_are_kept_and_typed_unknown(
    orders_v1: Any, loopback: Any
) -> None:
    loopback.route("GET", "/orders/7/", loopback.reply(200, ORDER_V2))
    with orders_v1.OrdersClient(base_url=loopback.url, max_retries=0) as client:
        order = client.orders.retrieve(id=7)
    assert type(order.status) is UnknownStr
    assert order.status == "cancelled"
    assert type(order.priority) is UnknownInt
    assert order.priority == 3
    assert [type(label) for label in order.labels] == [str, UnknownStr]
    assert type(order.previous) is str  # a known value is the plain Literal value
    assert repr(order.status) == "UnknownStr('cancelled')"
    # Unknown values go back on the wire as they came.
    assert json.loads(order.model_dump_json()) == ORDER_V2


def test_lists_and_async_calls_keep_unknown_values_too(orders_v1: Any, loopback: Any) -> None:
    import asyncio

    loopback.route("GET", "/orders/", loopback.reply(200, [ORDER_V2, {**ORDER_V2, "id": 8}]))

    async def main() -> list[Any]:
        async with orders_v1.AsyncOrdersClient(base_url=loopback.url, max_retries=0) as client:
            return list(await client.orders.list())

    with orders_v1.OrdersClient(base_url=loopback.url, max_retries=0) as client:
        orders = client.orders.list()
    for order in [*orders, *asyncio.run(main())]:
        assert isinstance(order.status, UnknownStr)


def test_a_one_value_enum_and_the_wrong_json_type_still_fail(orders_v1: Any, loopback: Any) -> None:
    loopback.route(
        "GET",
        "/orders/7/",
        [
            loopback.reply(200, {**ORDER_V2, "kind": "refund"}),
            loopback.reply(200, {**ORDER_V2, "priority": "3"}),
        ],
    )
    with orders_v1.OrdersClient(base_url=loopback.url, max_retries=0) as client:
        with pytest.raises(ResponseValidationError) as caught:
            client.orders.retrieve(id=7)
        assert caught.value.errors[0][0] == "kind"
        with pytest.raises(ResponseValidationError, match="priority"):
            client.orders.retrieve(id=7)


def test_request_models_keep_their_enums_strict(orders_v1: Any, loopback: Any) -> None:
    models = orders_v1.models
    with pytest.raises(pydantic.ValidationError, match="status"):
        models.OrderRequest(status="cancelled")
    with pytest.raises(pydantic.ValidationError, match="priority"):
        models.OrderRequest(status="pending", priority=3)
    source = (orders_v1.ROOT / "orders_v1" / "models.py").read_text()
    assert "Status: TypeAlias = Literal['pending', 'shipped']\n" in source.replace('"', "'")
    assert "    status: Status\n" in source  # OrderRequest: only requests reach it
    assert "    status: Status | UnknownStr\n" in source  # Order
    assert "    previous: Status | UnknownStr | None = None\n" in source
    assert "    kind: Literal['order']\n" in source.replace('"', "'")
    resource = (orders_v1.ROOT / "orders_v1" / "resources" / "orders.py").read_text()
    assert "status: Literal['pending', 'shipped'] | None = None" in resource.replace('"', "'")


def test_a_type_checker_sees_unknown_values_apart_and_requests_strict(orders_v1: Any) -> None:
    user = orders_v1.ROOT / "uses_orders.py"
    user.write_text(
        textwrap.dedent(
            """\
            from typing import assert_never

            from common_clients import UnknownStr
            from orders_v1.models import Order, OrderRequest


            def describe(order: Order) -> str:
                status = order.status
                if isinstance(status, UnknownStr):
                    return f"status {status} (newer than this client)"
                if status == "pending":
                    return "waiting"
                if status == "shipped":
                    return "on its way"
                assert_never(status)


            OrderRequest(status="pending")
            OrderRequest(status="cancelled")
            """
        )
    )
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(user)],
        capture_output=True,
        text=True,
        check=False,
        cwd=orders_v1.ROOT,
        env={"MYPYPATH": str(orders_v1.ROOT), "PATH": "/usr/bin:/bin"},
    )
    # mypy checks the generated package it imports too: the one error is the caller's.
    errors = [line for line in mypy.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, mypy.stdout
    assert "uses_orders.py:19:" in errors[0]
    assert "Literal['cancelled']" in errors[0]


def test_diff_classes_added_response_values_as_safe_and_request_removals_as_breaking() -> None:
    v1 = parse_spec(json.dumps(V1), source="v1.json")
    added = diff_specs(v1, parse_spec(json.dumps(_v2()), source="v2.json"))
    assert {(c.kind, c.breaking) for c in added} == {(ChangeKind.ENUM_VALUE_ADDED, False)}
    assert len(added) == 3

    tag = copy.deepcopy(V1)
    tag["components"]["schemas"]["Order"]["properties"]["kind"]["enum"].append("refund")
    (change,) = diff_specs(v1, parse_spec(json.dumps(tag)))
    assert (change.kind, change.breaking) == (ChangeKind.ENUM_VALUE_ADDED, True)

    # Status is read in responses and sent in OrderRequest: a removed value breaks the requests.
    removed = copy.deepcopy(V1)
    removed["components"]["schemas"]["Status"]["enum"].remove("shipped")
    (change,) = diff_specs(v1, parse_spec(json.dumps(removed)))
    assert (change.kind, change.breaking) == (ChangeKind.ENUM_VALUE_REMOVED, True)
    # A value a response stops sending breaks no client.
    fewer = copy.deepcopy(V1)
    fewer["components"]["schemas"]["Order"]["properties"]["priority"]["enum"] = [1]
    (change,) = diff_specs(v1, parse_spec(json.dumps(fewer)))
    assert (change.kind, change.breaking) == (ChangeKind.ENUM_VALUE_REMOVED, False)
    # An open response enum becoming any string: the old client already takes any string.
    free = copy.deepcopy(V1)
    del free["components"]["schemas"]["Order"]["properties"]["labels"]["items"]["enum"]
    (change,) = diff_specs(v1, parse_spec(json.dumps(free)))
    assert (change.kind, change.breaking) == (ChangeKind.TYPE_WIDENED, False)
    # ... but the one-value tag becoming any string breaks it.
    untagged = copy.deepcopy(V1)
    del untagged["components"]["schemas"]["Order"]["properties"]["kind"]["enum"]
    (change,) = diff_specs(v1, parse_spec(json.dumps(untagged)))
    assert (change.kind, change.breaking) == (ChangeKind.TYPE_WIDENED, True)
