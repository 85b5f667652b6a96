"""The proposed cut: groups of apps that keep the heaviest ties inside (community detection).

The graph has one node per app and one edge per tied pair, weighted by the sum of its ties'
weights. Louvain (several fixed seeds, so the answer is the same on every run) and greedy
modularity each propose a partition; the one with the highest modularity wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from common_utils._errors import MissingExtraError

LOUVAIN_SEEDS = range(8)


@dataclass(frozen=True)
class Group:
    """A proposed service: its apps, the weight of ties inside it and of those leaving it."""

    apps: tuple[str, ...]
    inside: int
    outside: int


@dataclass(frozen=True)
class Cut:
    """The proposed groups, best first by size, and how the partition scored."""

    groups: tuple[Group, ...]
    modularity: float
    method: str


def require_networkx() -> None:
    """Raise ``MissingExtraError`` naming the extra when networkx is not installed."""
    try:
        import networkx  # noqa: F401 - only whether it imports matters here
    except ImportError:
        raise MissingExtraError(
            "manage.py boundaries needs networkx: pip install 'common-utils[boundaries]'"
        ) from None


def propose_cut(apps: Iterable[str], edges: dict[tuple[str, str], int]) -> Cut:
    """Partition ``apps`` along ``edges`` ((app, app) sorted -> weight)."""
    require_networkx()
    import networkx as nx
    from networkx.algorithms import community

    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(sorted(apps))
    for (first, second), weight in sorted(edges.items()):
        graph.add_edge(first, second, weight=weight)
    if graph.number_of_edges() == 0:
        partition: list[set[str]] = [{app} for app in graph.nodes]
        return Cut(_groups(partition, edges), 0.0, "none (no ties)")
    candidates: list[tuple[str, list[set[str]]]] = [
        (f"louvain (seed {seed})", list(community.louvain_communities(graph, seed=seed)))
        for seed in LOUVAIN_SEEDS
    ]
    candidates.append(
        (
            "greedy modularity",
            [set(c) for c in community.greedy_modularity_communities(graph, weight="weight")],
        )
    )
    scored = [
        (community.modularity(graph, partition, weight="weight"), method, partition)
        for method, partition in candidates
    ]
    # Highest modularity; among equals, the first (Louvain's lowest seed), for a stable answer.
    best = max(scored, key=lambda item: (round(item[0], 12), -scored.index(item)))
    modularity, method, partition = best
    return Cut(_groups(partition, edges), round(modularity, 4), method)


def _groups(partition: list[set[str]], edges: dict[tuple[str, str], int]) -> tuple[Group, ...]:
    member = {app: index for index, apps in enumerate(partition) for app in apps}
    inside = [0] * len(partition)
    outside = [0] * len(partition)
    for (first, second), weight in edges.items():
        a, b = member[first], member[second]
        if a == b:
            inside[a] += weight
        else:
            outside[a] += weight
            outside[b] += weight
    groups = [
        Group(tuple(sorted(apps)), inside[index], outside[index])
        for index, apps in enumerate(partition)
    ]
    return tuple(sorted(groups, key=lambda g: (-len(g.apps), -g.inside, g.apps)))
