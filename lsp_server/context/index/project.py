"""The project index: symbols of every source file, persisted, refreshed by stat, updated live.

:class:`ProjectIndex` is the one entry point of :mod:`lsp_server.context.index`: it opens the
store, holds the lock, and answers queries. Its parts each own one piece of state: the stored
files (:mod:`files`), the open buffers (:mod:`incremental`), the tables derived from both
(:mod:`derived`), and the refresh that brings the stored files in line with the disk
(:mod:`refresh`). A restart on an unchanged tree costs a walk and one query: symbol blobs are
read from SQLite only when something asks for symbols.

Every query settles the open buffers first (re-extracting those whose symbols were kept
shifted while an edit broke the parse), so it sees exactly what a full parse of each buffer
gives.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from lsp_server.config import Settings, SettingsSource
from lsp_server.context.documents import DocumentChange, Documents
from lsp_server.context.index.changes import SymbolChange
from lsp_server.context.index.derived import DerivedTables
from lsp_server.context.index.files import DiskFiles
from lsp_server.context.index.incremental import Buffer, Buffers
from lsp_server.context.index.languages import language_for
from lsp_server.context.index.model import Definition, FileSymbols, Import, Reference, SymbolEdge
from lsp_server.context.index.pool import default_workers
from lsp_server.context.index.refresh import IndexStats, ProgressFn, Refresher
from lsp_server.context.index.sources import Sources
from lsp_server.context.index.store import IndexStore, StoredFile, store_path
from lsp_server.paths import state_dir as default_state_dir

__all__ = ["IndexStats", "ProgressFn", "ProjectIndex"]

log = logging.getLogger(__name__)


def _relative(root: Path, path: Path) -> str | None:
    """``path`` as a POSIX path relative to ``root``, or None when it lies outside."""
    try:
        rel = Path(path).absolute().relative_to(root)
    except ValueError:
        try:
            rel = Path(path).resolve().relative_to(root)
        except (ValueError, OSError):
            return None
    return rel.as_posix()


class ProjectIndex:
    """The symbol index of one project root. Thread-safe; see the module docstring.

    ``documents`` is where :meth:`text` reads open buffers from. The index is told of buffer
    changes through :meth:`update_document`, by whoever feeds it (an
    :class:`~lsp_server.context.index.feed.IndexFeed` in the server and the context process); it
    does not subscribe itself.
    """

    def __init__(
        self,
        root: Path,
        store: IndexStore,
        settings: Settings | SettingsSource,
        documents: Documents | None,
        workers: int,
    ) -> None:
        self.root = root
        self._documents = documents
        self._settings = SettingsSource.of(settings)
        self._lock = threading.RLock()
        self._disk = DiskFiles(store)
        self._buffers = Buffers()
        self._derived = DerivedTables(Sources(self._disk, self._buffers), self.text)
        self._refresher = Refresher(root, self._disk, self._derived, self._settings, workers, self._lock)

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        root: Path,
        settings: Settings | SettingsSource | None = None,
        documents: Documents | None = None,
        state_dir: Path | None = None,
        workers: int | None = None,
    ) -> ProjectIndex:
        """Open (or create) the index of ``root`` stored under the state directory.

        Nothing is parsed here: call :meth:`refresh` to bring the index up to date. With a
        :class:`SettingsSource`, each refresh reads the settings current at that moment.
        """
        source = SettingsSource.of(settings)
        root = Path(root).expanduser().resolve()
        base = state_dir if state_dir is not None else default_state_dir(source.current)
        store = IndexStore(store_path(base, root), root)
        return cls(root, store, source, documents, workers if workers is not None else default_workers())

    def close(self) -> None:
        with self._lock:
            self._disk.close()

    def __enter__(self) -> ProjectIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def generation(self) -> int:
        """Grows whenever the indexed content changes (cheap cache key for callers)."""
        with self._lock:
            self._settle()
            return self._derived.generation

    @property
    def store_path(self) -> Path:
        return self._disk.store_path

    # --- changes ------------------------------------------------------------------------------

    def refresh(self, progress: ProgressFn | None = None) -> IndexStats:
        """Bring the index in line with the disk: parse new and changed files, drop deleted."""
        return self._refresher.refresh(progress)

    def update_document(self, change: DocumentChange) -> None:
        """Re-index one buffer: incremental re-parse from the old tree when edits are given.

        Called synchronously by :class:`Documents` on every change, so it never raises: on an
        unexpected failure the buffer is dropped from the overlay (the disk version stays).
        """
        try:
            self._update_document(change)
        except Exception:
            log.exception("index: could not update %s from its buffer", change.path)
            rel = _relative(self.root, change.path)
            with self._lock:
                if rel is not None and self._buffers.drop(rel) is not None:
                    self._derived.changed(SymbolChange(rel, None, None, None, None))

    def _update_document(self, change: DocumentChange) -> None:
        rel = _relative(self.root, change.path)
        if rel is None:
            return
        spec = language_for(rel)
        if spec is None:
            return
        with self._lock:
            if change.closed:
                old = self._buffers.drop(rel)
                if old is not None:
                    self._derived.changed(SymbolChange(rel, old.positioned.definitions,
                                                       old.positioned.imports, None, None))
                self._refresher.reread(rel)
                return
            self._derived.changed(self._buffers.edit(rel, spec, change, self._disk.extracted))

    def _settle(self) -> None:
        """Under the lock, before anything reads: see :meth:`Buffers.settle`."""
        for change in self._buffers.settle():
            self._derived.changed(change)

    # --- queries ------------------------------------------------------------------------------

    def files(self) -> list[str]:
        """Relative POSIX paths of every indexed file (open unsaved buffers included)."""
        with self._lock:
            self._settle()
            return self._derived.paths()

    def file(self, path: str) -> FileSymbols | None:
        with self._lock:
            self._settle()
            return self._derived.file(path)

    def decode(self, path: str) -> FileSymbols | None:
        """What :meth:`file` returns, without the index keeping it: for one pass over every
        file by a caller that keeps what it needs (the ranking tables of a one-off command)."""
        with self._lock:
            self._settle()
            return self._derived.file(path, keep=False)

    def release_derived(self) -> None:
        """Drop the decoded files, name tables and edges the index keeps between queries; the
        next query that needs them decodes them again. A process that has read what it needs
        from them (a one-off command's ranking tables) gives their memory back."""
        with self._lock:
            self._derived.release()

    def definitions_named(self, name: str) -> list[Definition]:
        with self._lock:
            self._settle()
            return self._derived.names().definitions(name)

    def references_named(self, name: str) -> list[Reference]:
        with self._lock:
            self._settle()
            return self._derived.names().references(name)

    def definition_at(self, path: str, line: int) -> Definition | None:
        """The innermost definition whose lines enclose ``line`` (1-based)."""
        with self._lock:
            self._settle()
            fs = self._derived.file(path)
            if fs is None:
                return None
            best: Definition | None = None
            for d in fs.definitions:
                if d.start_line <= line <= d.end_line and (
                    best is None or d.end_byte - d.start_byte <= best.end_byte - best.start_byte
                ):
                    best = d
            return best

    def module_prefix(self, path: str) -> str:
        """``crate::shapes::circle`` / ``inventory.models``: what qualnames in ``path`` start with."""
        with self._lock:
            self._settle()
            return self._derived.resolution().module_prefix(path)

    def file_edges(self) -> dict[str, set[str]]:
        """File → project files it imports, declares (``mod``) or uses, resolved."""
        with self._lock:
            self._settle()
            return self._derived.resolution().file_edges()

    def imports_of(self, path: str) -> list[Import]:
        with self._lock:
            self._settle()
            return self._derived.resolution().imports_of(path)

    def symbol_edges(self) -> list[SymbolEdge]:
        """Reference → definition edges of the whole project (cached; see :mod:`graph`)."""
        with self._lock:
            self._settle()
            return [e for edges in self._derived.edges_by_file().values() for e in edges]

    def edges_by_file(self) -> dict[str, list[SymbolEdge]]:
        """Each file's outgoing reference edges, as the cached lists themselves (read only).

        A file whose edges did not change keeps the same list object, so a caller holding
        derived tables can redo only the files whose list is a new one.
        """
        with self._lock:
            self._settle()
            return self._derived.edges_by_file()

    def each_file_edges(self) -> Iterator[tuple[str, list[SymbolEdge]]]:
        """Each file's outgoing edges (as :meth:`edges_by_file`), one file at a time, holding
        only the project's definitions meanwhile: for a caller that reads every file's edges
        once (a one-off command's ranking tables). The index is locked until the last one."""
        with self._lock:
            self._settle()
            yield from self._derived.each_file_edges()

    def symbol_edges_from(self, path: str) -> list[SymbolEdge]:
        with self._lock:
            self._settle()
            return list(self._derived.edges_from(path, {}, {}))

    def text(self, path: str) -> str | None:
        """The editor buffer if the file is open, else the file on disk, else None."""
        full = self.root / path
        if self._documents is not None:
            return self._documents.text(full)
        try:
            return full.read_text(encoding="utf-8", errors="replace")
        except (OSError, ValueError):
            return None

    def content_digests(self) -> dict[str, str]:
        """Every indexed file's content hash (an open buffer's own), without reading symbols:
        what a snapshot of tables derived from the whole index is checked against."""
        with self._lock:
            self._settle()
            out: dict[str, str] = {}
            for path in self._derived.paths():
                buffer = self._buffers.get(path)
                if buffer is not None:
                    out[path] = buffer.content_hash
                else:
                    row = self._disk.get(path)
                    out[path] = row.content_hash if row is not None else ""
            return out

    def stored_files(self) -> dict[str, StoredFile]:
        """The stat/hash rows as held now (for diagnostics and tests)."""
        with self._lock:
            self._settle()
            return self._disk.stored()

    def buffer(self, path: str) -> Buffer | None:
        """The parsed state of an open buffer (for diagnostics and tests; read only)."""
        with self._lock:
            return self._buffers.get(path)
