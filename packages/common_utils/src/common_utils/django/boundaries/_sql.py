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
_WRITE_TARGET_AFTER = frozenset({"into", "update", "from"})


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


def read_statement(sql: str, tables: Mapping[str, str]) -> Statement:
    """The known tables in ``sql``; ``tables`` maps each lower-cased table name to itself."""
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup
        if kind in {"space", "string"} or kind is None:
            continue
        text = match.group()
        if kind == "quoted":
            text = text[1:-1].replace(text[0] * 2, text[0]) if text[0] != "[" else text[1:-1]
            kind = "name"
        tokens.append((kind, text))
    top: set[str] = set()
    nested: set[str] = set()
    written: set[str] = set()
    # One entry per open parenthesis: is it a subquery (its first word is SELECT or WITH)?
    stack: list[bool] = []
    first_word = next((text.lower() for kind, text in tokens if kind == "word"), "")
    is_write = first_word in _WRITES
    previous = ""
    for index, (kind, text) in enumerate(tokens):
        if kind == "open":
            following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
            stack.append(following[0] == "word" and following[1].lower() in {"select", "with"})
        elif kind == "close":
            if stack:
                stack.pop()
        elif kind in {"word", "name"}:
            table = tables.get(text.lower())
            if table is not None and not _is_qualified_column(tokens, index):
                (nested if any(stack) else top).add(table)
                if is_write and not written and not stack and previous in _WRITE_TARGET_AFTER:
                    written.add(table)
        if kind == "word":
            previous = text.lower()
        elif kind != "name":
            previous = ""
    return Statement(frozenset(top), frozenset(nested), frozenset(written))


def _is_qualified_column(tokens: list[tuple[str, str]], index: int) -> bool:
    """``alias.name`` is a column unless another dot follows (``schema.table.column``)."""
    before_dot = index > 0 and tokens[index - 1][0] == "dot"
    after_dot = index + 1 < len(tokens) and tokens[index + 1][0] == "dot"
    return before_dot and not after_dot
