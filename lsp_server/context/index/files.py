"""The files on disk as the index holds them: stored rows in memory, symbol blobs on demand.

A restart reads only the stat and hash columns of the store; a file's ``marshal``-ed symbols
and imports are loaded the first time something reads them (all at once when a table of the
whole project is built). Writes go to the store and to this table together, so the two never
disagree. The manifests the last walk found (``Cargo.toml``) are kept here too: the import
resolvers read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lsp_server.context.index.codec import unpack_imports, unpack_symbols
from lsp_server.context.index.extract import Extracted
from lsp_server.context.index.parse_file import ParsedFile
from lsp_server.context.index.store import IndexStore, Row, StoredFile
from lsp_server.context.index.syntax import RawDef, RawImport, RawRef
from lsp_server.context.index.walk import WalkEntry


@dataclass(slots=True)
class _File:
    """What the index holds for a file on disk; blobs are None until first needed."""

    stored: StoredFile
    symbols: bytes | None = None
    imports: bytes | None = None


def _row(r: ParsedFile) -> Row:
    return (r.path, r.language, r.mtime_ns, r.size, r.content_hash, r.lines, r.error_nodes,
            r.n_defs, r.n_refs, r.note, r.symbols, r.imports)


def _stored(r: ParsedFile) -> StoredFile:
    return StoredFile(r.path, r.language, r.mtime_ns, r.size, r.content_hash, r.lines,
                      r.error_nodes, r.n_defs, r.n_refs, r.note)


class DiskFiles:
    """The stored files of one project. Not locked: the index's lock guards every call."""

    def __init__(self, store: IndexStore) -> None:
        self._store = store
        self._files: dict[str, _File] = {p: _File(s) for p, s in store.stats().items()}
        self._manifests: list[WalkEntry] = []

    @property
    def store_path(self) -> Path:
        return self._store.path

    def close(self) -> None:
        self._store.close()

    def take_rebuilt(self) -> str | None:
        """Why the store was built again on opening, the first time this is asked."""
        return self._store.take_rebuilt()

    def wait_checkpoint(self) -> None:
        """Return once the store's checkpoint thread is idle (before forking parse helpers)."""
        self._store.wait_checkpoint()

    # --- reading ------------------------------------------------------------------------------

    def __contains__(self, rel: str) -> bool:
        return rel in self._files

    def paths(self) -> Iterable[str]:
        return self._files.keys()

    def get(self, rel: str) -> StoredFile | None:
        f = self._files.get(rel)
        return f.stored if f is not None else None

    def stored(self) -> dict[str, StoredFile]:
        """The stat/hash rows as held now."""
        return {p: f.stored for p, f in self._files.items()}

    @property
    def manifests(self) -> list[WalkEntry]:
        return self._manifests

    def load_blobs(self, paths: Iterable[str] | None) -> None:
        """Read the blobs of ``paths`` (None: every file) that are not loaded yet."""
        wanted = [p for p in (paths if paths is not None else self._files) if p in self._files
                  and self._files[p].symbols is None]
        if not wanted:
            return
        source = self._store.blobs(None if len(wanted) > 200 else wanted)
        for path, symbols, imports in source:
            f = self._files.get(path)
            if f is not None and f.symbols is None:
                f.symbols, f.imports = symbols, imports

    def symbols(self, rel: str) -> tuple[list[RawDef], list[RawRef], int]:
        """Definitions, references and the count of syntax errors of a stored file."""
        f = self._files.get(rel)
        if f is None:
            return [], [], 0
        if f.symbols is None:
            self.load_blobs([rel])
        defs, refs = unpack_symbols(f.symbols) if f.symbols else ([], [])
        return defs, refs, f.stored.errors

    def imports(self, rel: str) -> list[RawImport]:
        f = self._files.get(rel)
        if f is None:
            return []
        if f.imports is None:
            self.load_blobs([rel])
        return unpack_imports(f.imports) if f.imports else []

    def extracted(self, rel: str) -> Extracted | None:
        """Everything stored for ``rel``, as one extraction (None for a file not stored)."""
        f = self._files.get(rel)
        if f is None:
            return None
        self.load_blobs([rel])
        assert f.symbols is not None and f.imports is not None
        defs, refs = unpack_symbols(f.symbols)
        return Extracted(defs, refs, unpack_imports(f.imports), f.stored.errors)

    # --- writing ------------------------------------------------------------------------------

    def replace_manifests(self, found: list[WalkEntry]) -> bool:
        """Keep the manifests of the latest walk; whether any changed (by path and stat)."""
        changed = [(m.path, m.mtime_ns, m.size) for m in found] != [
            (m.path, m.mtime_ns, m.size) for m in self._manifests
        ]
        self._manifests = found
        return changed

    def save(
        self,
        parsed: Sequence[ParsedFile] = (),
        touched: Sequence[tuple[int, int, str]] = (),
        removed: Sequence[str] = (),
    ) -> None:
        """Store parsed files, the new stat (mtime, size, path) of files whose content did not
        change, and drop removed ones: in one transaction, then in this table."""
        rows = [_row(r) for r in parsed]
        if rows or touched or removed:
            self._store.write(rows, touched, removed)
        for mtime_ns, size, path in touched:
            st = self._files[path].stored
            st.mtime_ns, st.size = mtime_ns, size
        for path in removed:
            del self._files[path]
        for r in parsed:
            self._files[r.path] = _File(_stored(r), r.symbols, r.imports)
