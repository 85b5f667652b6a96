"""Which tables a SQL statement touches, read from its tokens against the project's table names.

Django writes every identifier quoted (``"shop_order"``, or backticks on MySQL) and aliases
joined tables (``U0``, ``T3``); string literals and comments never count. A table read inside a
parenthesised ``SELECT`` is in a subquery; one after ``INSERT INTO``, ``UPDATE`` or
``DELETE FROM`` is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<string>'(?:[^']|'')*'|E'(?:[^'\\]|\\.|'')*')
  | (?P<quoted>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[A-Za-z_][^\]]*\])
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<dot>\.)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_WRITES = frozenset({"insert", "update", "delete", "replace", "merge"})
# Words after which a name is a table; a name after a comma is one in these clauses.
_TABLE_AFTER = frozenset({"from", "join", "into", "update", "table", "truncate"})
_LIST_CLAUSES = frozenset({"from", "truncate"})
_CLAUSES = frozenset(
    {"select", "from", "where", "join", "on", "set", "values", "group", "order", "having"}
    | {"limit", "into", "update", "returning", "truncate", "using", "with"}
)


@dataclass(frozen=True, slots=True)
class Statement:
    """What one statement touches: tables at its top level, in subqueries, and written."""

    top: frozenset[str]
    nested: frozenset[str]
    written: frozenset[str]

    @property
    def tables(self) -> frozenset[str]:
        """Every table the statement touches."""
        return self.top | self.nested


def _tokens(sql: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup
        if kind in {"space", "string"} or kind is None:
            continue
        text = match.group()
        if kind == "quoted":
            text = text[1:-1].replace(text[0] * 2, text[0]) if text[0] != "[" else text[1:-1]
            kind = "name"
        elif kind == "word":
            text = text.lower()
        tokens.append((kind, text))
    return tokens


def read_statement(sql: str, tables: Mapping[str, str]) -> Statement:
    """The known tables in ``sql``; ``tables`` maps each lower-cased table name to itself.

    A name is a table where SQL puts one: after FROM, JOIN, INTO, UPDATE (or a comma in a FROM
    list), or as the qualifier of a column (``"shop_order"."id"``). A column that happens to
    share a table's name is not one.
    """
    tokens = _tokens(sql)
    top: set[str] = set()
    nested: set[str] = set()
    written: set[str] = set()
    # One frame per open parenthesis: (is it a subquery, the clause it is in); the statement
    # itself is the first frame.
    frames: list[list[Any]] = [[False, ""]]
    is_write = next((text for kind, text in tokens if kind == "word"), "") in _WRITES
    for index, (kind, text) in enumerate(tokens):
        if kind == "open":
            following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
            frames.append([following[0] == "word" and following[1] in {"select", "with"}, ""])
            continue
        if kind == "close":
            if len(frames) > 1:
                frames.pop()
            continue
        if kind == "word" and text in _CLAUSES:
            frames[-1][1] = text
        if kind not in {"word", "name"}:
            continue
        table = tables.get(text.lower())
        if table is None or not _in_table_position(tokens, index, frames[-1][1]):
            continue
        in_subquery = any(frame[0] for frame in frames)
        (nested if in_subquery else top).add(table)
        previous = tokens[index - 1][1] if index else ""
        if is_write and not written and len(frames) == 1 and previous in {"into", "update", "from"}:
            written.add(table)
    return Statement(frozenset(top), frozenset(nested), frozenset(written))


def _in_table_position(tokens: list[tuple[str, str]], index: int, clause: str) -> bool:
    def kind_at(i: int) -> str:
        return tokens[i][0] if 0 <= i < len(tokens) else ""

    def text_at(i: int) -> str:
        return tokens[i][1] if 0 <= i < len(tokens) else ""

    if kind_at(index + 1) == "dot" and kind_at(index - 1) != "dot":
        return True  # the qualifier of a column: "shop_order"."id"
    previous = index - 1
    if kind_at(previous) == "dot":
        # schema.table after a table keyword: FROM "public"."shop_order"
        previous = index - 3
        if kind_at(index + 1) == "dot":
            return False
    if kind_at(previous) == "word" and text_at(previous) in _TABLE_AFTER:
        return True
    return text_at(previous) == "," and clause in _LIST_CLAUSES
