"""Names made from spec names: valid identifiers, one per thing, the same on every run."""

from __future__ import annotations

import keyword

import pytest

from common_clients.codegen import NameAllocator, pascal_case, snake_case


@pytest.mark.parametrize(
    ("name", "snake", "pascal"),
    [
        ("simple-user", "simple_user", "SimpleUser"),
        ("firstName", "first_name", "FirstName"),
        ("HTTPServerError", "http_server_error", "HTTPServerError"),
        ("getUserByID", "get_user_by_id", "GetUserByID"),
        ("users.list", "users_list", "UsersList"),
        ("repos/get-content", "repos_get_content", "ReposGetContent"),
        ("2fa", "2fa", "2fa"),
        ("+1", "plus_1", "Plus1"),
        ("-1", "minus_1", "Minus1"),
        ("caf\u00e9", "cafe", "Cafe"),
        ("__links", "links", "Links"),
    ],
)
def test_case_styles(name: str, snake: str, pascal: str) -> None:
    assert snake_case(name) == snake
    assert pascal_case(name) == pascal


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("class", "class_"),
        ("from", "from_"),
        ("None", "none"),
        ("json", "json_"),
        ("model_config", "model_config_"),
        ("model_dump", "model_dump_"),
        ("str", "str_"),
        ("2fa", "field_2fa"),
        ("", "field"),
        ("***", "field"),
        ("type", "type"),  # a soft keyword is a fine attribute
        ("id", "id"),
    ],
)
def test_field_names_are_valid_attributes(name: str, expected: str) -> None:
    allocated = NameAllocator(style="snake").allocate(name)
    assert allocated == expected
    assert allocated.isidentifier()
    assert not keyword.iskeyword(allocated)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("user", "User"),
        ("2FA", "Model2FA"),
        ("Field", "FieldModel"),  # the generated module imports pydantic's Field
        ("Literal", "LiteralModel"),
        ("list", "List"),
        ("", "Model"),
    ],
)
def test_class_names_avoid_what_the_module_binds(name: str, expected: str) -> None:
    assert NameAllocator(style="pascal").allocate(name) == expected


def test_duplicates_get_numbered_in_call_order() -> None:
    classes = NameAllocator(style="pascal")
    assert [classes.allocate(n) for n in ("simple-user", "simple_user", "SimpleUser")] == [
        "SimpleUser",
        "SimpleUser2",
        "SimpleUser3",
    ]
    fields = NameAllocator(style="snake", reserved=["first_name"])
    assert fields.allocate("firstName") == "first_name_2"
    assert "first_name" in fields


def test_long_names_are_cut_with_a_hash_and_stay_distinct() -> None:
    classes = NameAllocator(style="pascal")
    stem = "WebhookPullRequestReviewRequestRemovedPullRequestBaseRepoTemplateRepository"
    first, second = classes.allocate(stem + "Owner"), classes.allocate(stem + "Permissions")
    assert first != second
    assert len(first) <= 72
    assert "_" not in first  # still CapWords
    field = NameAllocator(style="snake").allocate("x" * 100)
    assert len(field) <= 72
    assert field.isidentifier()


def test_allocation_is_deterministic() -> None:
    names = ["a-b", "a_b", "AB", "class", "1x", "+1", "a-b"]
    runs = []
    for _ in range(2):
        allocator = NameAllocator(style="snake")
        runs.append([allocator.allocate(name) for name in names])
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == len(names)
