"""What a tie between two apps is: its kind, its weight, and the key that names it stably."""

from __future__ import annotations

from dataclasses import dataclass, field

# Kind -> weight in the graph the cut is made on. A relation or a query that joins tables
# is hard to undo in a split (a foreign key becomes an API call); an import is often a shared
# helper that moves with a copy. The weights are documented in the README.
WEIGHTS: dict[str, int] = {
    "relation": 4,
    "generic": 3,
    "join": 3,
    "subquery": 3,
    "transaction": 3,
    "signal": 2,
    "import": 1,
}
STATIC_KINDS = ("relation", "generic", "import", "signal")
RUNTIME_KINDS = ("join", "subquery", "transaction")


@dataclass(frozen=True, slots=True)
class Tie:
    """One reason why app ``source`` needs app ``target`` (runtime ties have no direction).

    ``key`` is stable across runs, machines and databases (no line numbers, no SQL text), so a
    baseline can hold it; ``detail`` and ``where`` are for the reader.
    """

    kind: str
    source: str
    target: str
    key: str
    detail: str
    where: str = ""
    sql: str = ""
    count: int = 1
    sites: tuple[str, ...] = field(default=())

    @property
    def weight(self) -> int:
        """The weight this tie adds to the edge between its two apps."""
        return WEIGHTS[self.kind]
