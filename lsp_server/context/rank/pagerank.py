"""Personalized PageRank by power iteration over a small weighted digraph.

The random surfer restarts at the request's seeds (what it names, the cursor, open buffers)
instead of anywhere, so rank flows from those seeds along references to the code they depend
on and that depends on them. Dangling nodes send their rank back to the seeds. The graph is
compiled once per project state into edge arrays, and each request runs the iteration as a
few vectorized operations (numpy releases the GIL, so the editor's thread is not held up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Graph:
    """A weighted digraph with each node's out-weights normalized to sum to 1."""

    nodes: tuple[str, ...]
    index: dict[str, int]
    out: tuple[tuple[tuple[int, float], ...], ...]
    src: IntArray = field(compare=False, repr=False)
    dst: IntArray = field(compare=False, repr=False)
    weight: FloatArray = field(compare=False, repr=False)
    dangling: npt.NDArray[np.bool_] = field(compare=False, repr=False)

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
        src = np.fromiter((i for i, links in enumerate(out) for _ in links), dtype=np.intp)
        dst = np.fromiter((t for links in out for t, _ in links), dtype=np.intp)
        weight = np.fromiter((w for links in out for _, w in links), dtype=np.float64)
        dangling = np.array([not links for links in out], dtype=np.bool_)
        return cls(nodes, index, tuple(out), src, dst, weight, dangling)


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
    restart = np.zeros(n, dtype=np.float64)
    for s, w in seeds.items():
        if w > 0 and s in graph.index:
            restart[graph.index[s]] += w
    total = float(restart.sum())
    restart = restart / total if total > 0 else np.full(n, 1.0 / n)
    rank = restart.copy()
    for _ in range(iterations):
        flow = np.bincount(graph.dst, weights=rank[graph.src] * graph.weight, minlength=n)
        back = (1.0 - damping) + damping * float(rank[graph.dangling].sum())
        nxt = damping * flow + back * restart
        delta = float(np.abs(nxt - rank).sum())
        rank = nxt
        if delta < tolerance:
            break
    return {graph.nodes[i]: float(r) for i, r in enumerate(rank.tolist()) if r > 0.0}


def lift(personal: Mapping[str, float], overall: Mapping[str, float], exponent: float) -> dict[str, float]:
    """``personal`` scores divided by ``overall ** exponent``: a degree correction.

    A walk from any seeds ends up at the hubs every path passes through (a crate's ``lib.rs``
    that declares each module, a package's ``__init__``), whatever the request. Dividing by a
    power of the plain PageRank keeps what the request's seeds reach more than the project as
    a whole would; exponent 0 leaves the scores as they are, 1 ranks by the ratio alone.
    """
    if not exponent:
        return dict(personal)
    floor = min((v for v in overall.values() if v > 0), default=1.0)
    return {p: v / max(overall.get(p, 0.0), floor) ** exponent for p, v in personal.items()}
