"""The tables the index derives from its files' raw symbols, rebuilt lazily and narrowly.

Module prefixes and import targets (:mod:`resolution`), each file's
:class:`~lsp_server.context.index.model.FileSymbols` with qualified names, the name tables
(:mod:`names`) and each file's reference → definition edges (:mod:`graph`) are computed when
first read. A change to one file (:class:`~lsp_server.context.index.changes.SymbolChange`)
invalidates only what it can affect: the file itself, the resolution when its imports changed,
and the edges of files that refer to a definition that appeared, vanished or moved.

:attr:`DerivedTables.generation` grows with every change, a cheap cache key for readers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from lsp_server.context.index import graph
from lsp_server.context.index.changes import SymbolChange
from lsp_server.context.index.languages import LANGUAGES
from lsp_server.context.index.model import Definition, FileSymbols, Reference, SymbolEdge
from lsp_server.context.index.names import NameTables
from lsp_server.context.index.resolution import Resolution
from lsp_server.context.index.sources import Sources
from lsp_server.context.index.syntax import RawImport


def _import_keys(items: list[tuple[int, RawImport]] | None) -> list[tuple[Any, ...]] | None:
    """What of a file's imports the resolution depends on (not their lines)."""
    return [(i[0], i[1], i[3], i[4], i[5]) for _b, i in items] if items is not None else None


class DerivedTables:
    """Not locked: the index's lock guards every call."""

    def __init__(self, sources: Sources, text: Callable[[str], str | None]) -> None:
        self._sources = sources
        self._text = text  # reads manifests for the resolvers
        self._generation = 0
        self._files: dict[str, FileSymbols] = {}
        self._resolution: Resolution | None = None
        self._names: NameTables | None = None
        self._edges: dict[str, list[SymbolEdge]] | None = None

    @property
    def generation(self) -> int:
        return self._generation

    # --- invalidation -------------------------------------------------------------------------

    def reset(self) -> None:
        """Drop everything (the file set changed)."""
        self._generation += 1
        self._files = {}
        self._resolution = None
        self._names = None
        self._edges = None

    def changed(self, change: SymbolChange) -> None:
        """Invalidate what one file's new content affects, as narrowly as possible."""
        rel = change.path
        self._generation += 1
        self._files.pop(rel, None)
        if self._names is not None:
            self._names.mark_stale(rel)
        if _import_keys(change.imports_before) != _import_keys(change.imports_after):
            self._resolution = None
            self._edges = None
            return
        if self._resolution is not None and change.imports_after is not None:
            self._resolution.update(rel, [i for _b, i in change.imports_after])
        if self._edges is None:
            return
        self._edges.pop(rel, None)
        defs_before, defs_after = change.defs_before, change.defs_after
        keys_before = {(d[0], d[2]) for d in defs_before} if defs_before else set()
        keys_after = {(d[0], d[2]) for d in defs_after} if defs_after else set()
        if keys_before == keys_after:
            return
        # A definition appeared, vanished or moved: only files that refer to one of those
        # names can resolve differently (files edited since the last query were popped).
        if self._names is None:
            self._edges = None
            return
        for name in {k[0] for k in keys_before ^ keys_after}:
            for user in self._names.referrers(name):
                self._edges.pop(user, None)

    # --- tables -------------------------------------------------------------------------------

    def paths(self) -> list[str]:
        """Every indexed file, open unsaved buffers included, sorted."""
        return self._sources.paths()

    def resolution(self) -> Resolution:
        if self._resolution is None:
            self._resolution = Resolution.build(self._sources, self._text)
        return self._resolution

    def release(self) -> None:
        """Forget the decoded files, the name tables and the edges (they are rebuilt when next
        read); the content is unchanged, so the generation stays. The resolution is kept: it
        is small, and every decode needs it."""
        self._files = {}
        self._names = None
        self._edges = None

    def file(self, rel: str, keep: bool = True) -> FileSymbols | None:
        """The symbols of ``rel`` with project-wide qualified names and resolved imports.

        ``keep=False`` decodes without keeping the result (a pass over every file by a caller
        that keeps what it needs itself: the references of a whole project are the largest
        thing the index can hold)."""
        cached = self._files.get(rel)
        if cached is not None:
            return cached
        facts = self._sources.facts(rel)
        if facts is None:
            return None
        res = self.resolution()
        lang = self._sources.language(rel)
        spec = LANGUAGES.get(lang)
        sep = spec.separator if spec is not None else "."
        prefix = res.module_prefix(rel)
        head = prefix + sep if prefix else ""
        defs, refs, errors = self._sources.symbols(rel)
        definitions = [
            Definition(rel, name, kind, head + qual, sig, sl, el, sb, eb,
                       head + parent if parent else None)
            for name, kind, qual, sig, sl, el, sb, eb, parent in defs
        ]
        references = [
            Reference(rel, name, kind, line, head + enc if enc else None)
            for name, kind, line, enc in refs
        ]
        digest, size, lines = facts
        fs = FileSymbols(rel, lang, digest, size, lines, definitions, references,
                         res.imports_of(rel), errors)
        if keep:
            self._files[rel] = fs
        return fs

    def names(self) -> NameTables:
        """The name tables, brought up to date."""
        if self._names is None:
            self._sources.load_all()
            files = (self.file(rel) for rel in self._sources.paths())
            self._names = NameTables.build(fs for fs in files if fs is not None)
        else:
            self._names.update(self.file)
        return self._names

    def edges_by_file(self) -> dict[str, list[SymbolEdge]]:
        """Each file's outgoing reference edges, as the cached lists themselves."""
        # Shared by every file of this pass: the definitions of a name, and the crate or
        # package of a path, are looked up once rather than once per file.
        named: dict[str, list[Definition]] = {}
        groups: dict[str, str] = {}
        return {p: self.edges_from(p, named, groups) for p in self._sources.paths()}

    def each_file_edges(self) -> Iterator[tuple[str, list[SymbolEdge]]]:
        """Every file's edges, as :meth:`edges_by_file` gives them, computed one file at a time
        and kept nowhere: only the project's definitions are held (by name, in the name
        tables' order), never all of its references or the name tables themselves."""
        paths = self._sources.paths()
        defs_by_name: dict[str, list[Definition]] = {}
        for rel in paths:
            fs = self.file(rel, keep=False)
            if fs is not None:
                for d in fs.definitions:
                    defs_by_name.setdefault(d.name, []).append(d)
        res = self.resolution()
        groups: dict[str, str] = {}

        def named(name: str) -> list[Definition]:
            return defs_by_name.get(name, [])

        def group(p: str) -> str:
            g = groups.get(p)
            if g is None:
                g = groups[p] = res.group(p)
            return g

        for rel in paths:
            fs = self.file(rel, keep=False)
            yield rel, (graph.edges_for_file(fs, named, res.targets_of(rel), group) if fs is not None else [])

    def edges_from(self, path: str, named_memo: dict[str, list[Definition]],
                   group_memo: dict[str, str]) -> list[SymbolEdge]:
        """One file's edges (cached until a change affects them); the memos live for one call
        of the caller, while the index is locked and cannot change under them."""
        if self._edges is None:
            self._edges = {}
        edges_cache = self._edges
        cached = edges_cache.get(path)
        if cached is not None:
            return cached
        fs = self.file(path)
        if fs is None:
            return []
        res = self.resolution()
        names = self.names()

        def named(name: str) -> list[Definition]:
            found = named_memo.get(name)
            if found is None:
                found = named_memo[name] = names.definitions(name)
            return found

        def group(p: str) -> str:
            g = group_memo.get(p)
            if g is None:
                g = group_memo[p] = res.group(p)
            return g

        edges = graph.edges_for_file(fs, named, res.targets_of(path), group)
        edges_cache[path] = edges
        return edges
