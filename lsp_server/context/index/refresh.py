"""Bringing the stored files in line with the disk.

:meth:`Refresher.refresh` walks the tree and compares each file's mtime + size with the stored
row; only files whose stat changed are read, and only those whose content hash changed are
parsed (:mod:`pool`). Everything parsed is written in one SQLite transaction. The index stays
readable while files are parsed: the lock is held to plan and to apply, not in between.

The file limits (``context.max_files``, ``context.max_file_bytes``) are read from the settings
source when a refresh runs, so a changed setting applies to the next refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lsp_server.config import SettingsSource
from lsp_server.context.index.changes import SymbolChange
from lsp_server.context.index.codec import unpack_imports, unpack_symbols
from lsp_server.context.index.derived import DerivedTables
from lsp_server.context.index.files import DiskFiles
from lsp_server.context.index.languages import language_for
from lsp_server.context.index.parse_file import ParsedFile, parse_path
from lsp_server.context.index.pool import Task, parse_files
from lsp_server.context.index.walk import walk

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class IndexStats:
    files: int
    definitions: int
    references: int
    parsed: int  # files read and parsed in this refresh
    reused: int  # files whose stored rows were kept (same stat, or same hash)
    removed: int
    skipped: int  # files the walk left out (too large, unreadable, loops)
    with_notes: int  # files that yielded less than usual (binary, syntax errors, unreadable)
    elapsed: float  # seconds
    capped_at: int | None = None  # the context.max_files the walk reached (the rest left out)
    rebuilt: str | None = None  # why the stored index was discarded and built again, if it was

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def cap_note(self) -> str | None:
        """What to tell the user when the walk stopped at the file limit, else None."""
        if self.capped_at is None:
            return None
        return (f"indexed only the {self.files} source files nearest the project root: it holds "
                f"more than context.max_files ({self.capped_at}); raise that setting, or open the "
                "project's own folder")

    def notes(self) -> list[str]:
        """Everything the user should be told about this refresh (one line each)."""
        return [note for note in (self.rebuilt, self.cap_note()) if note]


class Refresher:
    """Refreshes one index's stored files from the disk and tells its derived tables."""

    def __init__(self, root: Path, disk: DiskFiles, derived: DerivedTables, settings: SettingsSource,
                 workers: int, lock: threading.RLock) -> None:
        self._root = root
        self._disk = disk
        self._derived = derived
        self._settings = settings
        self._workers = workers
        self._lock = lock  # the index's: held while planning and applying, not while parsing

    def refresh(self, progress: ProgressFn | None = None) -> IndexStats:
        """Parse new and changed files, drop deleted ones."""
        started = time.perf_counter()
        limits = self._settings.current.context
        found = walk(self._root, limits.max_file_bytes, max_files=limits.max_files)
        if found.capped:  # the callers tell the user (IndexStats.cap_note); this is for the log
            log.info("index: %s holds more than context.max_files (%d) source files; "
                        "indexed the %d nearest the root", self._root,
                        limits.max_files, len(found.files))
        for path, reason in found.skipped:
            log.info("index: skipped %s: %s", path, reason)
        with self._lock:
            current = {e.path: e for e in found.files}
            removed = [p for p in self._disk.paths() if p not in current]
            todo: list[Task] = []
            reused = 0
            for e in found.files:
                st = self._disk.get(e.path)
                if st is not None and st.language == e.language:
                    if st.mtime_ns == e.mtime_ns and st.size == e.size:
                        reused += 1
                        continue
                    todo.append((e.path, str(self._root / e.path), e.language, e.size, e.mtime_ns, st.content_hash))
                else:
                    todo.append((e.path, str(self._root / e.path), e.language, e.size, e.mtime_ns, ""))
            manifests_changed = self._disk.replace_manifests(found.manifests)

        touched: list[tuple[int, int, str]] = []
        parsed: list[ParsedFile] = []
        total = len(todo)
        done = 0
        if progress is not None:
            progress(0, total)
        for result in parse_files(todo, self._workers, self._disk.wait_checkpoint):
            done += 1
            if progress is not None and (done % 16 == 0 or done == total):
                progress(done, total)
            if result.unchanged:
                touched.append((result.mtime_ns, result.size, result.path))
                continue
            if result.note:
                log.info("index: %s: %s", result.path, result.note)
            parsed.append(result)

        with self._lock:
            self._disk.save(parsed, touched, removed)
            if parsed or removed or manifests_changed:
                self._derived.reset()
            if progress is not None and total == 0:
                progress(0, 0)
            stored = self._disk.stored().values()
            return IndexStats(
                files=len(stored),
                definitions=sum(f.n_defs for f in stored),
                references=sum(f.n_refs for f in stored),
                parsed=len(parsed),
                reused=reused + len(touched),
                removed=len(removed),
                skipped=len(found.skipped),
                with_notes=sum(1 for f in stored if f.note),
                elapsed=time.perf_counter() - started,
                capped_at=limits.max_files if found.capped else None,
                rebuilt=self._disk.take_rebuilt(),
            )

    def reread(self, rel: str) -> None:
        """Read one file from disk again (its buffer closed), updating the store. Called with
        the index's lock held."""
        spec = language_for(rel)
        full = self._root / rel
        try:
            st = full.stat()
        except OSError:
            if rel in self._disk:
                self._disk.save(removed=[rel])
                self._derived.reset()
            return
        known = self._disk.get(rel)
        if known is not None and known.mtime_ns == st.st_mtime_ns and known.size == st.st_size:
            return
        if spec is None or st.st_size > self._settings.current.context.max_file_bytes:
            return
        before = self._disk.extracted(rel) if known is not None else None
        r = parse_path(rel, str(full), spec.name, st.st_size, st.st_mtime_ns,
                       known.content_hash if known else "")
        if r.unchanged:
            self._disk.save(touched=[(r.mtime_ns, r.size, rel)])
            return
        self._disk.save([r])
        defs, _refs = unpack_symbols(r.symbols)
        self._derived.changed(SymbolChange(
            rel, before.definitions if before else None,
            [(0, i) for i in before.imports] if before else None,
            defs, [(0, i) for i in unpack_imports(r.imports)],
        ))
