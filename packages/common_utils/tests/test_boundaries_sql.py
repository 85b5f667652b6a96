"""Reading the tables a statement touches: Django's SQL on SQLite, PostgreSQL and MySQL."""

from __future__ import annotations

import pytest

from common_utils.django.boundaries._sql import read_statement

TABLES = {name: name for name in ("shop_order", "accounts_customer", "catalog_product", "stock")}


def _read(sql: str) -> tuple[set[str], set[str], set[str]]:
    statement = read_statement(sql, TABLES)
    return set(statement.top), set(statement.nested), set(statement.written)


def test_a_join_touches_both_tables_at_the_top() -> None:
    sql = (
        'SELECT "shop_order"."id" FROM "shop_order" INNER JOIN "accounts_customer" ON '
        '("shop_order"."customer_id" = "accounts_customer"."id") WHERE "accounts_customer".'
        '"name" = %s'
    )
    assert _read(sql) == ({"shop_order", "accounts_customer"}, set(), set())


def test_a_table_read_in_a_parenthesised_select_is_in_a_subquery() -> None:
    sql = (
        'SELECT "catalog_product"."name" FROM "catalog_product" WHERE "catalog_product"."id" '
        'IN (SELECT U0."product_id" AS "product_id" FROM "shop_order" U0 WHERE (U0."x" = %s))'
    )
    assert _read(sql) == ({"catalog_product"}, {"shop_order"}, set())


def test_literals_comments_and_columns_named_like_tables_do_not_count() -> None:
    sql = (
        '/* shop_order */ SELECT "catalog_product"."stock" FROM "catalog_product" '
        'WHERE "catalog_product"."name" = \'shop_order\' -- accounts_customer\n'
        'AND "catalog_product"."note" = \'it\'\'s "stock"\''
    )
    assert _read(sql) == ({"catalog_product"}, set(), set())
    update = 'UPDATE "catalog_product" SET "stock" = ("catalog_product"."stock" - %s)'
    assert _read(update) == ({"catalog_product"}, set(), {"catalog_product"})
    insert = (
        'INSERT INTO "shop_order" ("stock", "total") VALUES (%s, %s) RETURNING "shop_order"."id"'
    )
    assert _read(insert) == ({"shop_order"}, set(), {"shop_order"})


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT `shop_order`.`id` FROM `shop_order` INNER JOIN `accounts_customer` ON "
        "(`shop_order`.`customer_id` = `accounts_customer`.`id`)",  # MySQL backticks
        'select "shop_order"."id" from "public"."shop_order" join accounts_customer on true',
        "SELECT [shop_order].[id] FROM [shop_order], [accounts_customer]",  # bracketed, a FROM list
        'SELECT "SHOP_ORDER"."ID" FROM "SHOP_ORDER" JOIN "Accounts_Customer" ON (1 = 1)',
    ],
)
def test_quoting_schemas_and_case_are_understood(sql: str) -> None:
    assert _read(sql)[0] == {"shop_order", "accounts_customer"}


def test_the_written_table_is_the_one_after_into_update_or_delete_from() -> None:
    delete = (
        'DELETE FROM "shop_order" WHERE "shop_order"."customer_id" IN '
        '(SELECT "accounts_customer"."id" FROM "accounts_customer")'
    )
    assert _read(delete) == ({"shop_order"}, {"accounts_customer"}, {"shop_order"})
    select = 'SELECT "shop_order"."id" FROM "shop_order"'
    assert _read(select)[2] == set()


def test_unknown_tables_and_broken_sql_give_nothing_rather_than_an_error() -> None:
    assert _read('SELECT "x"."y" FROM "x"') == (set(), set(), set())
    assert _read("SELECT ((( FROM 'unterminated") == (set(), set(), set())
    assert _read('SAVEPOINT "s1_x1"') == (set(), set(), set())
