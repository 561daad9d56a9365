"""Name → file → the definitions and references of that name, for the whole project.

Built once from every file, then kept current file by file: a changed file is marked stale,
and its old names are taken out and its new symbols added the next time the tables are read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lsp_server.context.index.model import Definition, FileSymbols, Reference


class NameTables:
    def __init__(self) -> None:
        self._defs: dict[str, dict[str, list[Definition]]] = {}
        self._refs: dict[str, dict[str, list[Reference]]] = {}
        self._names_of: dict[str, tuple[set[str], set[str]]] = {}  # path → its def / ref names
        self._stale: set[str] = set()

    @classmethod
    def build(cls, files: Iterable[FileSymbols]) -> NameTables:
        tables = cls()
        for fs in files:
            tables._add(fs)
        return tables

    def mark_stale(self, rel: str) -> None:
        self._stale.add(rel)

    def update(self, file: Callable[[str], FileSymbols | None]) -> None:
        """Redo the stale files from their symbols now (``file``: None for a file now gone)."""
        for rel in self._stale:
            def_names, ref_names = self._names_of.pop(rel, (set(), set()))
            self._forget(self._defs, rel, def_names)
            self._forget(self._refs, rel, ref_names)
            fs = file(rel)
            if fs is not None:
                self._add(fs)
        self._stale.clear()

    def definitions(self, name: str) -> list[Definition]:
        by_path = self._defs.get(name)
        return [d for ds in by_path.values() for d in ds] if by_path else []

    def references(self, name: str) -> list[Reference]:
        by_path = self._refs.get(name)
        return [r for rs in by_path.values() for r in rs] if by_path else []

    def referrers(self, name: str) -> Iterable[str]:
        """The files that referred to ``name`` when the tables were last brought up to date."""
        return self._refs.get(name, {}).keys()

    def _add(self, fs: FileSymbols) -> None:
        for d in fs.definitions:
            self._defs.setdefault(d.name, {}).setdefault(fs.path, []).append(d)
        for r in fs.references:
            self._refs.setdefault(r.name, {}).setdefault(fs.path, []).append(r)
        self._names_of[fs.path] = ({d.name for d in fs.definitions}, {r.name for r in fs.references})

    @staticmethod
    def _forget(table: dict[str, dict[str, list[Definition]]] | dict[str, dict[str, list[Reference]]],
                rel: str, names: Iterable[str]) -> None:
        for name in names:
            by_path = table.get(name)
            if by_path is not None:
                by_path.pop(rel, None)
                if not by_path:
                    del table[name]
