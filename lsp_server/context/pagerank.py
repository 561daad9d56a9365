"""Personalized PageRank by power iteration over a small weighted digraph.

The random surfer restarts at the request's seeds (what it names, the cursor, open buffers)
instead of anywhere, so rank flows from those seeds along references to the code they depend
on and that depends on them. Dangling nodes send their rank back to the seeds. Pure Python:
the graph is compiled once per project state into integer adjacency lists, and each request
only iterates over them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Graph:
    """A weighted digraph with each node's out-weights normalized to sum to 1."""

    nodes: tuple[str, ...]
    index: dict[str, int]
    out: tuple[tuple[tuple[int, float], ...], ...]

    @classmethod
    def compile(cls, edges: Mapping[str, Mapping[str, float]], extra: tuple[str, ...] = ()) -> Graph:
        names: set[str] = set(edges) | set(extra)
        for targets in edges.values():
            names.update(targets)
        nodes = tuple(sorted(names))
        index = {n: i for i, n in enumerate(nodes)}
        out: list[tuple[tuple[int, float], ...]] = []
        for n in nodes:
            targets = {t: w for t, w in edges.get(n, {}).items() if w > 0 and t != n}
            total = sum(targets.values())
            out.append(tuple((index[t], w / total) for t, w in sorted(targets.items())) if total else ())
        return cls(nodes, index, tuple(out))


def personalized_pagerank(
    edges: Mapping[str, Mapping[str, float]] | Graph,
    seeds: Mapping[str, float],
    *,
    damping: float = 0.85,
    iterations: int = 20,
    tolerance: float = 1e-5,
) -> dict[str, float]:
    """Stationary distribution of a walk that restarts at ``seeds`` with probability 1 - damping.

    ``edges[a][b]`` is the weight of a → b (or a compiled :class:`Graph`). With no positive
    seed the restart is uniform (plain PageRank). Scores sum to 1; seeds outside the graph
    are ignored unless the graph is given as a mapping.
    """
    graph = edges if isinstance(edges, Graph) else Graph.compile(edges, tuple(seeds))
    n = len(graph.nodes)
    if n == 0:
        return {}
    restart = [0.0] * n
    total_seed = sum(w for s, w in seeds.items() if w > 0 and s in graph.index)
    if total_seed > 0:
        for s, w in seeds.items():
            if w > 0 and s in graph.index:
                restart[graph.index[s]] += w / total_seed
    else:
        restart = [1.0 / n] * n
    out = graph.out
    rank = list(restart)
    for _ in range(iterations):
        nxt = [0.0] * n
        dangling = 0.0
        for i, r in enumerate(rank):
            if r == 0.0:
                continue
            links = out[i]
            if not links:
                dangling += r
                continue
            share = damping * r
            for t, w in links:
                nxt[t] += share * w
        back = (1.0 - damping) + damping * dangling
        delta = 0.0
        for i in range(n):
            v = nxt[i] + back * restart[i]
            delta += abs(v - rank[i])
            nxt[i] = v
        rank = nxt
        if delta < tolerance:
            break
    return {graph.nodes[i]: r for i, r in enumerate(rank) if r > 0.0}
