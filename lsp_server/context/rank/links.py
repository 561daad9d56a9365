"""The reference graph of a project and its definitions' neighbours, assembled from what each
file's edges contribute, so that a file whose edges the index did not recompute is not linked
again.

The index resolves references into edges (:class:`~lsp_server.context.index.model.SymbolEdge`);
:class:`Links` sums them into file → file weights, compiles the graph the ranking walks
(:mod:`~lsp_server.context.rank.pagerank`) with its global rank, and keeps each definition's
callees and callers for the context builder's neighbour signatures. It belongs to
:class:`~lsp_server.context.rank.tables.Prepared` and is read and updated under its lock.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from lsp_server.context.index.model import SymbolEdge
from lsp_server.context.rank.pagerank import Graph, personalized_pagerank

# A file → file import edge counts as much as one resolved reference; users of a definition
# receive rank back at half the weight of the reference itself.
IMPORT_WEIGHT = 1.0
REVERSE_WEIGHT = 0.5
# The walk follows each file's strongest links only: the long tail of weak links moves
# little rank and dominates the cost on large repositories.
MAX_OUT_EDGES = 12
# Callers and callees kept per definition, for the builder's neighbour signatures.
MAX_NEIGHBOURS = 16

DefKey = tuple[str, str]  # (path, qualname)


class EdgeSource(Protocol):
    """The index's edges, as the links read them."""

    def file_edges(self) -> dict[str, set[str]]: ...  # file → files it imports

    def edges_by_file(self) -> dict[str, list[SymbolEdge]]: ...  # resolved references


class EachEdgeSource(EdgeSource, Protocol):
    """An index that can also hand out its edges one file at a time, keeping none of them."""

    def each_file_edges(self) -> Iterator[tuple[str, list[SymbolEdge]]]: ...


@dataclass
class _EdgeRows:
    """What one file's outgoing edges contribute to the graph and the neighbour tables."""

    edges: list[SymbolEdge] | None  # None once loaded from a snapshot: relinked on change
    pairs: dict[str, float]  # target file → summed reference weight
    callees: dict[DefKey, list[DefKey]]
    caller_targets: set[DefKey]


class Links:
    """The graph, the global rank and the neighbour tables, kept per contributing file."""

    def __init__(self) -> None:
        self.graph: Graph = Graph.compile({})
        self.global_rank: dict[str, float] = {}
        self.callees: dict[DefKey, list[DefKey]] = {}  # what a definition's body refers to
        self._callers: dict[DefKey, dict[str, list[DefKey]]] = {}  # target → source file → users
        self._rows: dict[str, _EdgeRows] = {}
        # False after loading a snapshot: the rows' callees and caller targets are empty until
        # :meth:`_know_owners` reads them back from the neighbour tables.
        self._owners_known = True
        self._file_edges: dict[str, set[str]] | None = None
        self._graph_files: list[str] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Each file's link weights only: which neighbour entries a file contributed is read
        back from the neighbour tables themselves when a file is first relinked (a quarter of
        the snapshot's objects on tokio, loaded by every one-off command for nothing). The
        edge lists are the index's own objects: a changed index relinks every file."""
        state = dict(vars(self))
        del state["_owners_known"]
        state["_rows"] = {p: r.pairs for p, r in self._rows.items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        pairs: dict[str, dict[str, float]] = state.pop("_rows")
        vars(self).update(state)
        self._rows = {p: _EdgeRows(None, w, {}, set()) for p, w in pairs.items()}
        self._owners_known = not pairs

    def callers_of(self, key: DefKey) -> list[DefKey]:
        """The definitions whose bodies refer to ``key`` (at most MAX_NEIGHBOURS)."""
        by_file = self._callers.get(key)
        if not by_file:
            return []
        out: list[DefKey] = []
        for src in sorted(by_file):
            out.extend(by_file[src][:MAX_NEIGHBOURS - len(out)])
            if len(out) >= MAX_NEIGHBOURS:
                break
        return out

    def relink(self, index: EdgeSource, files: list[str], keep_edges: bool = True) -> None:
        """Redo the edge contributions of files whose edges changed; recompile if any did.

        Without ``keep_edges`` the index's edge lists are not held (as after loading a
        snapshot): a later sync relinks every file."""
        edge_lists = index.edges_by_file()
        changed = False
        for path in [p for p in self._rows if p not in edge_lists]:
            self._drop(path)
            changed = True
        for path, edges in edge_lists.items():
            old = self._rows.get(path)
            if old is not None and old.edges is not None and old.edges is edges:
                continue
            if old is not None:
                self._drop(path)
            pairs = self._add(path, edges, keep_edges)
            # A keystroke in a body re-resolves the file but rarely changes its file links.
            changed = changed or old is None or old.pairs != pairs
        file_edges = index.file_edges()
        if changed or file_edges != self._file_edges or files != self._graph_files:
            self._file_edges = file_edges
            self._graph_files = list(files)
            self.graph = self._compile(file_edges, files)
            self.global_rank = personalized_pagerank(self.graph, {})

    def link_each(self, index: EachEdgeSource, files: list[str]) -> None:
        """A first build's graph from each file's edges in turn, none of them kept (what
        :meth:`relink` does from all of them at once)."""
        keys: dict[DefKey, DefKey] = {}
        for path, edges in index.each_file_edges():
            self._add(path, edges, keep=False, keys=keys)
        del keys
        file_edges = index.file_edges()
        self._file_edges = file_edges
        self._graph_files = list(files)
        self.graph = self._compile(file_edges, files)
        self.global_rank = personalized_pagerank(self.graph, {})

    def _add(self, path: str, edges: list[SymbolEdge], keep: bool = True,
             keys: dict[DefKey, DefKey] | None = None) -> dict[str, float]:
        pairs: dict[str, float] = defaultdict(float)
        callees: dict[DefKey, list[DefKey]] = {}
        targets: set[DefKey] = set()
        # One key object per definition of this file's edges, however many edges name it: the
        # neighbour lists below would otherwise hold a tuple per edge (12 MB on tokio).
        # (``keys`` given: one per definition across the files of one bulk link.)
        if keys is None:
            keys = {}
        for e in edges:
            pairs[e.target_path] += e.weight
            if e.source is None:
                continue
            src_key = keys.setdefault((e.path, e.source), (e.path, e.source))
            dst_key = keys.setdefault((e.target_path, e.target), (e.target_path, e.target))
            out = callees.setdefault(src_key, [])
            if len(out) < MAX_NEIGHBOURS:
                out.append(dst_key)
            users = self._callers.setdefault(dst_key, {}).setdefault(path, [])
            if len(users) < MAX_NEIGHBOURS:
                users.append(src_key)
            targets.add(dst_key)
        self.callees.update(callees)
        rows = _EdgeRows(edges if keep else None, dict(pairs), callees, targets)
        self._rows[path] = rows
        return rows.pairs

    def _know_owners(self) -> None:
        """Which file contributed each callee list and caller entry, from the tables (once
        after a snapshot was loaded, before the first file's edges are dropped)."""
        if self._owners_known:
            return
        self._owners_known = True
        for key, out in self.callees.items():
            rows = self._rows.get(key[0])  # a definition's callees come from its own file
            if rows is not None:
                rows.callees[key] = out
        for key, by_file in self._callers.items():
            for src in by_file:
                rows = self._rows.get(src)
                if rows is not None:
                    rows.caller_targets.add(key)

    def _drop(self, path: str) -> None:
        self._know_owners()
        rows = self._rows.pop(path)
        for key in rows.callees:
            self.callees.pop(key, None)
        for key in rows.caller_targets:
            by_file = self._callers.get(key)
            if by_file is not None:
                by_file.pop(path, None)
                if not by_file:
                    del self._callers[key]

    def _compile(self, file_edges: dict[str, set[str]], files: list[str]) -> Graph:
        """File → file weights from imports (1 each) and resolved references, both directions.

        The index resolves each reference to the definitions it most plausibly means (imports
        first) and splits its weight when several remain; repeated references grow as a
        square root. Each edge gets a reverse edge at half weight, so rank also flows from a
        definition to its users.
        """
        graph: dict[str, dict[str, float]] = defaultdict(dict)

        def add(a: str, b: str, w: float) -> None:
            if a == b or w <= 0:
                return
            graph[a][b] = graph[a].get(b, 0.0) + w
            graph[b][a] = graph[b].get(a, 0.0) + REVERSE_WEIGHT * w

        for src, dsts in file_edges.items():
            for dst in sorted(dsts):  # a set's order varies with the hash seed; float sums must not
                add(src, dst, IMPORT_WEIGHT)
        for src in sorted(self._rows):
            for dst, w in self._rows[src].pairs.items():
                add(src, dst, math.sqrt(w))
        for node, out in list(graph.items()):
            if len(out) > MAX_OUT_EDGES:
                keep = sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_OUT_EDGES]
                graph[node] = dict(keep)
        return Graph.compile(graph, tuple(files))
