"""Every file's imports resolved to project files, by one resolver per language.

Built from the raw imports of all files the first time something needs it after the file set
(or a file's imports, or a manifest) changed; a file whose imports kept their keys is resolved
again alone. The resolvers themselves (:mod:`resolve_rust`, :mod:`resolve_python`) are reached
through each language's :class:`~lsp_server.context.index.languages.LanguageSpec`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from lsp_server.context.index import graph
from lsp_server.context.index.languages import LANGUAGES, ImportResolver
from lsp_server.context.index.model import Import
from lsp_server.context.index.sources import Sources
from lsp_server.context.index.syntax import RawImport


class Resolution:
    """Resolved imports and file → file edges of the whole project, with its resolvers."""

    def __init__(self, sources: Sources, resolvers: dict[str, ImportResolver]) -> None:
        self._sources = sources
        self._resolvers = resolvers  # by language name
        self._imports: dict[str, list[Import]] = {}
        self._edges: dict[str, set[str]] = {}

    @classmethod
    def build(cls, sources: Sources, text: Callable[[str], str | None]) -> Resolution:
        """Resolve every file; ``text`` reads the manifests the resolvers need."""
        sources.load_all()
        paths = sources.paths()
        raw = {p: sources.imports(p) for p in paths}
        files_of: dict[str, set[str]] = {name: set() for name in LANGUAGES}
        for p in paths:
            lang = sources.language(p)
            if lang in files_of:
                files_of[lang].add(p)
        resolvers: dict[str, ImportResolver] = {}
        for name, spec in LANGUAGES.items():
            manifests: dict[str, str] = {}
            for m in sources.manifests:
                if posixpath.basename(m.path) in spec.manifests:
                    content = text(m.path)
                    if content is not None:
                        manifests[m.path] = content
            files = files_of[name]
            resolvers[name] = spec.resolver(files, {p: raw[p] for p in files}, manifests)
        res = cls(sources, resolvers)
        for p in paths:
            res.update(p, raw[p])
        res._edges = graph.file_edges(res._imports)
        return res

    def update(self, rel: str, raw: list[RawImport]) -> None:
        """Resolve one file's imports again (its import keys did not change)."""
        resolver = self._resolvers.get(self._sources.language(rel))
        out = resolver.imports(rel, raw) if resolver is not None else []
        if self._edges:
            self._edges[rel] = {i.target for i in out if i.target is not None and i.target != rel}
        self._imports[rel] = out

    def imports_of(self, rel: str) -> list[Import]:
        return list(self._imports.get(rel, []))

    def targets_of(self, rel: str) -> set[str]:
        """The project files ``rel`` imports (the set held here: read only)."""
        return self._edges.get(rel, set())

    def file_edges(self) -> dict[str, set[str]]:
        """File → project files it imports, declares (``mod``) or uses (a copy)."""
        return {k: set(v) for k, v in self._edges.items()}

    def module_prefix(self, rel: str) -> str:
        resolver = self._resolvers.get(self._sources.language(rel))
        return resolver.module_prefix(rel) if resolver is not None else ""

    def group(self, rel: str) -> str:
        """The crate (Rust) or top-level package (Python) a file belongs to."""
        resolver = self._resolvers.get(self._sources.language(rel))
        return resolver.group(rel) if resolver is not None else ""
