"""The dependency graph: file → file edges from resolved imports, and reference → definition
edges disambiguated by what each file imports.

A reference names a string, not a definition; when several definitions share the name, the
ones the file imports by that name win, then the file's own, then those in files it imports,
then those in its own crate or package; only when none of these apply is the weight split over
every definition of the name (and names defined in too many places are dropped as noise).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from lsp_server.context.index.model import Definition, FileSymbols, Import, SymbolEdge

MAX_AMBIGUOUS = 12
NOT_TARGETS = frozenset({"impl"})  # an impl block is not something code refers to by name
# Reference kinds listed as callers but not linked: a Rust name before a token tree inside a
# macro's arguments is usually a call, but may be a struct literal or an index. On the Rust dev
# set, linking them moved one request's gold file out of the top 5 (bench/README.md).
NOT_LINKED = frozenset({"call_in_macro"})


def file_edges(imports: Mapping[str, Iterable[Import]]) -> dict[str, set[str]]:
    """File → the project files it imports, declares as modules, or uses."""
    edges: dict[str, set[str]] = {}
    for path, items in imports.items():
        edges[path] = {imp.target for imp in items if imp.target is not None and imp.target != path}
    return edges


def bound_names(imports: Iterable[Import]) -> dict[str, set[str]]:
    """Name → files it was imported from (``use a::B``, ``from a import B``)."""
    bound: dict[str, set[str]] = defaultdict(set)
    for imp in imports:
        if imp.target is None:
            continue
        for name in imp.names:
            if name != "*":
                bound[name].add(imp.target)
    return bound


def choose(
    name: str,
    path: str,
    candidates: list[Definition],
    bound: Mapping[str, set[str]],
    imported: set[str],
    group: Callable[[str], str],
) -> list[Definition]:
    """The definitions a reference to ``name`` in ``path`` most plausibly means."""
    named = [d for d in candidates if d.kind not in NOT_TARGETS]
    if len(named) <= 1:
        return named
    sources = bound.get(name)
    if sources:
        picked = [d for d in named if d.path in sources]
        if picked:
            return picked
    picked = [d for d in named if d.path == path]
    if picked:
        return picked
    picked = [d for d in named if d.path in imported]
    if picked:
        return picked
    mine = group(path)
    picked = [d for d in named if group(d.path) == mine]
    if picked:
        return picked
    return named if len(named) <= MAX_AMBIGUOUS else []


def edges_for_file(
    fs: FileSymbols,
    definitions_named: Callable[[str], list[Definition]],
    imported: set[str],
    group: Callable[[str], str],
) -> list[SymbolEdge]:
    """Aggregated reference → definition edges leaving one file."""
    bound = bound_names(fs.imports)
    counts: dict[tuple[str | None, str, str, str], list[float]] = {}
    choices: dict[str, list[Definition]] = {}
    for ref in fs.references:
        if ref.kind in NOT_LINKED:
            continue
        targets = choices.get(ref.name)
        if targets is None:
            targets = choose(ref.name, fs.path, definitions_named(ref.name), bound, imported, group)
            choices[ref.name] = targets
        if not targets:
            continue
        share = 1.0 / len(targets)
        for d in targets:
            if d.qualname == ref.enclosing and d.path == fs.path:
                continue  # a recursive call is not an edge
            key = (ref.enclosing, d.path, d.qualname, ref.name)
            slot = counts.get(key)
            if slot is None:
                counts[key] = [1.0, share]
            else:
                slot[0] += 1.0
                slot[1] += share
    return [
        SymbolEdge(fs.path, enclosing, tpath, tqual, name, int(c), w)
        for (enclosing, tpath, tqual, name), (c, w) in counts.items()
    ]
