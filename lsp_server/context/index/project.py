"""The project index: symbols of every source file, persisted, refreshed by stat, updated live.

``refresh()`` walks the tree and compares each file's mtime + size with the stored row; only
files whose stat changed are read, and only those whose content hash changed are parsed — by
this process and ``workers - 1`` helper processes claiming files off a shared counter when there
are many, in-process when there are few. Everything
parsed is written in one SQLite transaction. Symbol blobs are read from SQLite only when
something asks for symbols, so a restart on an unchanged tree costs a walk and one query.

Editor buffers override the disk: ``update_document`` (subscribed to
:class:`~lsp_server.context.documents.Documents`) re-parses incrementally from the previous
tree and re-extracts the edited items of that one file; nothing is written to SQLite for a
buffer (the store mirrors the disk, so a restart never sees unsaved text). When a keystroke
breaks the parse across much of the file (an unclosed bracket), or its re-parse runs past
``KEYSTROKE_PARSE_SECONDS``, the last good symbols are kept, shifted, and re-extracted once the
parse heals or before the next query reads them. Derived tables (module prefixes, import
targets, name maps, symbol edges) are rebuilt lazily and only as far as a change requires.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import posixpath
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from tree_sitter import Tree

from lsp_server.config import Settings
from lsp_server.context.documents import DocumentChange, Documents
from lsp_server.context.index import graph
from lsp_server.context.index.languages import LANGUAGES, ImportResolver, LanguageSpec, language_for
from lsp_server.context.index.model import Definition, FileSymbols, Import, Reference, SymbolEdge
from lsp_server.context.index.store import IndexStore, Row, StoredFile, store_path
from lsp_server.context.index.syntax import RawDef, RawImport, RawRef
from lsp_server.context.index.tags import (
    Claims,
    Extracted,
    ForkedCounter,
    MacroTrees,
    ParsedFile,
    ParsedRow,
    Positioned,
    Task,
    content_hash,
    count_lines,
    edited_region,
    extract_positioned,
    from_row,
    parse_claimed,
    parse_path,
    parse_within,
    parse_worker,
    parser_for,
    shift,
    splice,
    unpack_imports,
    unpack_symbols,
)
from lsp_server.context.index.walk import WalkEntry, walk
from lsp_server.paths import state_dir as default_state_dir

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]

PARALLEL_MIN_FILES = 24  # fewer changed files than this are parsed in-process
PARALLEL_MIN_BYTES = 256 * 1024
MACRO_TREES_MAX = 512  # macro body trees an open buffer keeps between edits
DEFER_REGION_BYTES = 32 * 1024  # a broken parse re-nesting more than this defers re-extraction
# A keystroke's incremental parse may take this long. Past it (error recovery after a bracket
# typed before its partner can re-parse much of a large file: tens of milliseconds) the parse
# stops; the buffer keeps its last good symbols, shifted, and the edited old tree, which the
# next keystroke parses from again and a read finishes (see :meth:`_settle`).
KEYSTROKE_PARSE_SECONDS = 0.003


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def cap_note(self) -> str | None:
        """What to tell the user when the walk stopped at the file limit, else None."""
        if self.capped_at is None:
            return None
        return (f"indexed only the {self.files} source files nearest the project root: it holds "
                f"more than context.max_files ({self.capped_at}); raise that setting, or open the "
                "project's own folder")


@dataclass(slots=True)
class _File:
    """What the index holds for a file on disk; blobs are None until first needed."""

    stored: StoredFile
    symbols: bytes | None = None
    imports: bytes | None = None


@dataclass(slots=True)
class _Live:
    """An open editor buffer, parsed. The flat view and the hash are computed when first read,
    so a keystroke costs the re-parse and the re-extraction of the edited items only."""

    tree: Tree
    source: bytes
    positioned: Positioned
    version: int
    macros: MacroTrees = field(default_factory=dict)  # its macro bodies' trees, for the next edit
    # Set while ``positioned`` is the last good extraction shifted through later edits, because
    # error recovery re-nested the code around an edit (a bracket typed before its partner):
    # the byte ranges edited since, and the tree that extraction came from, edited along.
    pending: list[tuple[int, int]] | None = None
    good: Tree | None = None
    # ``tree`` is edited to match ``source`` but not re-parsed: a keystroke's parse ran out
    # of time (``KEYSTROKE_PARSE_SECONDS``). ``pending`` is set then too.
    stale: bool = False
    _extracted: Extracted | None = None
    _hash: str | None = None

    @property
    def extracted(self) -> Extracted:
        if self._extracted is None:
            self._extracted = self.positioned.to_extracted()
        return self._extracted

    @property
    def content_hash(self) -> str:
        if self._hash is None:
            self._hash = content_hash(self.source)
        return self._hash


@dataclass(slots=True)
class _Resolution:
    resolvers: dict[str, ImportResolver]  # by language name
    imports: dict[str, list[Import]]
    edges: dict[str, set[str]]


def _spliced(
    spec: LanguageSpec, pos: Positioned, base: Tree, new_tree: Tree, data: bytes,
    ranges: list[tuple[int, int]], macro_trees: MacroTrees,
) -> tuple[Positioned | None, MacroTrees]:
    """``pos`` (the symbols of ``base``, shifted through the edits since) with the region that
    changed from ``base`` to ``new_tree`` re-extracted, and the macro bodies parsed on the way.

    ``ranges`` (the byte ranges edited since ``base``) grows by the changed ranges. None when
    the region must be re-extracted whole, or deferred: half-typed code that re-nested much of
    the file (more than ``DEFER_REGION_BYTES``, with errors).
    """
    # against the tree the kept symbols came from, so that closing the bracket that broke the
    # parse re-reads only what was typed in between
    ranges.extend((r.start_byte, r.end_byte) for r in base.changed_ranges(new_tree))
    region = edited_region(spec, new_tree, ranges)
    if region[1] - region[0] > DEFER_REGION_BYTES and new_tree.root_node.has_error:
        return None, macro_trees
    # bodies outside the region stay valid: keep them (bounded, reset on a full pass)
    macros = dict(macro_trees) if len(macro_trees) < MACRO_TREES_MAX else {}
    return splice(pos, extract_positioned(spec, new_tree, data, region, macro_trees, macros), region), macros


def _workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _process_context() -> ForkContext | ForkServerContext | SpawnContext:
    """fork is fastest, but forking a process that runs other threads (the language server's
    event loop and thread pool) can deadlock the children on a lock held at fork time."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


class ProjectIndex:
    """The symbol index of one project root. Thread-safe; see the module docstring."""

    def __init__(
        self,
        root: Path,
        store: IndexStore,
        settings: Settings,
        documents: Documents | None,
        workers: int,
    ) -> None:
        self.root = root
        self.settings = settings
        self.documents = documents
        self.workers = workers
        self._store = store
        self._lock = threading.RLock()
        self._files: dict[str, _File] = {p: _File(s) for p, s in store.stats().items()}
        self._manifests: list[WalkEntry] = []
        self._live: dict[str, _Live] = {}
        self._unsettled: set[str] = set()  # open buffers holding shifted symbols (``_Live.pending``)
        self._generation = 0
        self._fs_cache: dict[str, FileSymbols] = {}
        self._resolution: _Resolution | None = None
        self._def_index: dict[str, dict[str, list[Definition]]] | None = None
        self._ref_index: dict[str, dict[str, list[Reference]]] | None = None
        self._stale_names: set[str] = set()
        self._names_of: dict[str, tuple[set[str], set[str]]] = {}
        self._edges: dict[str, list[SymbolEdge]] | None = None
        if documents is not None:
            documents.subscribe(self.update_document)
            for path in documents.open_paths():
                doc = documents.get(path)
                if doc is not None:
                    self.update_document(DocumentChange(path, doc.text, doc.version, ()))

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        root: Path,
        settings: Settings | None = None,
        documents: Documents | None = None,
        state_dir: Path | None = None,
        workers: int | None = None,
    ) -> ProjectIndex:
        """Open (or create) the index of ``root`` stored under the state directory.

        Nothing is parsed here: call :meth:`refresh` to bring the index up to date.
        """
        settings = settings or Settings()
        root = Path(root).expanduser().resolve()
        base = state_dir if state_dir is not None else default_state_dir(settings)
        store = IndexStore(store_path(base, root), root)
        return cls(root, store, settings, documents, workers if workers is not None else _workers())

    def close(self) -> None:
        with self._lock:
            self._store.close()

    def __enter__(self) -> ProjectIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def generation(self) -> int:
        """Grows whenever the indexed content changes (cheap cache key for callers)."""
        with self._lock:
            self._settle()
            return self._generation

    @property
    def store_path(self) -> Path:
        return self._store.path

    # --- refresh ------------------------------------------------------------------------------

    def refresh(self, progress: ProgressFn | None = None) -> IndexStats:
        """Bring the index in line with the disk: parse new and changed files, drop deleted."""
        started = time.perf_counter()
        found = walk(self.root, self.settings.context.max_file_bytes,
                     max_files=self.settings.context.max_files)
        if found.capped:  # the callers tell the user (IndexStats.cap_note); this is for the log
            log.info("index: %s holds more than context.max_files (%d) source files; "
                        "indexed the %d nearest the root", self.root,
                        self.settings.context.max_files, len(found.files))
        for path, reason in found.skipped:
            log.info("index: skipped %s: %s", path, reason)
        with self._lock:
            current = {e.path: e for e in found.files}
            removed = [p for p in self._files if p not in current]
            todo: list[Task] = []
            reused = 0
            for e in found.files:
                known = self._files.get(e.path)
                if known is not None and known.stored.language == e.language:
                    st = known.stored
                    if st.mtime_ns == e.mtime_ns and st.size == e.size:
                        reused += 1
                        continue
                    todo.append((e.path, str(self.root / e.path), e.language, e.size, e.mtime_ns, st.content_hash))
                else:
                    todo.append((e.path, str(self.root / e.path), e.language, e.size, e.mtime_ns, ""))
            manifests_changed = [(m.path, m.mtime_ns, m.size) for m in found.manifests] != [
                (m.path, m.mtime_ns, m.size) for m in self._manifests
            ]
            self._manifests = found.manifests

        rows: list[Row] = []
        touched: list[tuple[int, int, str]] = []
        parsed: list[ParsedFile] = []
        total = len(todo)
        done = 0
        if progress is not None:
            progress(0, total)
        for result in self._parse(todo):
            done += 1
            if progress is not None and (done % 16 == 0 or done == total):
                progress(done, total)
            if result.unchanged:
                touched.append((result.mtime_ns, result.size, result.path))
                continue
            if result.note:
                log.info("index: %s: %s", result.path, result.note)
            parsed.append(result)
            rows.append(
                (
                    result.path, result.language, result.mtime_ns, result.size, result.content_hash,
                    result.lines, result.error_nodes, result.n_defs, result.n_refs, result.note,
                    result.symbols, result.imports,
                )
            )

        with self._lock:
            if rows or touched or removed:
                self._store.write(rows, touched, removed)
            for mtime_ns, size, path in touched:
                st = self._files[path].stored
                st.mtime_ns, st.size = mtime_ns, size
            for path in removed:
                del self._files[path]
            for r in parsed:
                stored = StoredFile(
                    r.path, r.language, r.mtime_ns, r.size, r.content_hash, r.lines,
                    r.error_nodes, r.n_defs, r.n_refs, r.note,
                )
                self._files[r.path] = _File(stored, r.symbols, r.imports)
            if parsed or removed or manifests_changed:
                self._reset_derived()
                self._generation += 1
            if progress is not None and total == 0:
                progress(0, 0)
            return IndexStats(
                files=len(self._files),
                definitions=sum(f.stored.n_defs for f in self._files.values()),
                references=sum(f.stored.n_refs for f in self._files.values()),
                parsed=len(parsed),
                reused=reused + len(touched),
                removed=len(removed),
                skipped=len(found.skipped),
                with_notes=sum(1 for f in self._files.values() if f.stored.note),
                elapsed=time.perf_counter() - started,
                capped_at=self.settings.context.max_files if found.capped else None,
            )

    def _parse(self, todo: list[Task]) -> Iterator[ParsedFile]:
        size = sum(item[3] for item in todo)
        if self.workers < 2 or len(todo) < PARALLEL_MIN_FILES or size < PARALLEL_MIN_BYTES:
            for item in todo:
                yield parse_path(*item)
            return
        # This process parses too, beside ``workers - 1`` helpers: one process per core, and
        # its own results need no pickling. Everyone claims files largest first off a shared
        # counter, so all finish within about one small file of each other.
        tasks = sorted(todo, key=lambda it: -it[3])
        for spec in {LANGUAGES[item[2]] for item in tasks}:
            parser_for(spec)
            spec.tags_query  # compiled once here, inherited by forked helpers  # noqa: B018
        self._store.wait_checkpoint()  # a thread of our own must not make fork look unsafe
        ctx = _process_context()
        counter: Claims = ForkedCounter(ctx.Lock()) if isinstance(ctx, ForkContext) else ctx.Value("q", 0)
        helpers: list[tuple[BaseProcess, Connection]] = []
        done = bytearray(len(tasks))
        try:
            for _ in range(min(self.workers, len(tasks)) - 1):
                recv, send = ctx.Pipe(duplex=False)
                worker = ctx.Process(target=parse_worker, args=(tasks, counter, send), daemon=True)
                worker.start()
                send.close()
                helpers.append((worker, recv))
            for i, parsed in parse_claimed(tasks, counter):
                done[i] = 1
                yield parsed
            for _proc, recv in helpers:
                try:
                    got: list[tuple[int, ParsedRow]] = recv.recv()
                except (EOFError, OSError):
                    log.warning("index: a parse worker died; parsing its files here")
                    got = []
                for i, row in got:
                    done[i] = 1
                    yield from_row(row)
            for i, item in enumerate(tasks):  # claimed by a worker that failed
                if not done[i]:
                    yield parse_path(*item)
        finally:
            for proc, recv in helpers:
                recv.close()
                proc.join(timeout=5)
                if proc.is_alive():
                    proc.terminate()
                    proc.join()

    # --- editor buffers -----------------------------------------------------------------------

    def _rel(self, path: Path) -> str | None:
        try:
            rel = Path(path).absolute().relative_to(self.root)
        except ValueError:
            try:
                rel = Path(path).resolve().relative_to(self.root)
            except (ValueError, OSError):
                return None
        return rel.as_posix()

    def update_document(self, change: DocumentChange) -> None:
        """Re-index one buffer: incremental re-parse from the old tree when edits are given.

        Called synchronously by :class:`Documents` on every change, so it never raises: on an
        unexpected failure the buffer is dropped from the overlay (the disk version stays).
        """
        try:
            self._update_document(change)
        except Exception:
            log.exception("index: could not update %s from its buffer", change.path)
            rel = self._rel(change.path)
            with self._lock:
                if rel is not None and self._live.pop(rel, None) is not None:
                    self._unsettled.discard(rel)
                    self._changed(rel, None, None, None, None)

    def _update_document(self, change: DocumentChange) -> None:
        rel = self._rel(change.path)
        if rel is None:
            return
        spec = language_for(rel)
        if spec is None:
            return
        with self._lock:
            old = self._live.get(rel)
            if change.closed:
                if old is not None:
                    del self._live[rel]
                    self._unsettled.discard(rel)
                    self._changed(rel, old.positioned.definitions, old.positioned.imports, None, None)
                self._refresh_path(rel)
                return
            data = change.text.encode("utf-8", "surrogatepass")
            parser = parser_for(spec)
            positioned: Positioned | None = None
            pending: list[tuple[int, int]] | None = None
            good: Tree | None = None
            stale = False
            if old is not None and change.edits:
                tree = old.tree
                base = old.good
                pos = old.positioned
                ranges: list[tuple[int, int]] = list(old.pending or ())
                for e in change.edits:
                    for t in (tree, base) if base is not None else (tree,):
                        t.edit(
                            start_byte=e.start_byte,
                            old_end_byte=e.old_end_byte,
                            new_end_byte=e.new_end_byte,
                            start_point=e.start_point,
                            old_end_point=e.old_end_point,
                            new_end_point=e.new_end_point,
                        )
                    rows = e.new_end_point[0] - e.old_end_point[0]
                    pos = shift(pos, e.start_byte, e.old_end_byte, e.new_end_byte, rows)
                    delta = e.new_end_byte - e.old_end_byte
                    ranges = [(a + delta if a >= e.old_end_byte else min(a, e.start_byte),
                               b + delta if b >= e.old_end_byte else max(min(b, e.start_byte), e.new_end_byte))
                              for a, b in ranges]
                    ranges.append((e.start_byte, e.new_end_byte))
                new_tree = parse_within(parser, data, tree, KEYSTROKE_PARSE_SECONDS)
                if new_tree is None:
                    # Out of time: error recovery is re-parsing much of the file. Keep the
                    # edited tree (and the good one, if that is another) to parse from later.
                    stale = True
                else:
                    base = base if base is not None else tree
                    positioned, macros = _spliced(spec, pos, base, new_tree, data, ranges, old.macros)
                    tree = new_tree
                if positioned is None:
                    # An unclosed bracket makes error recovery re-nest the code after it, and
                    # re-parsing and re-extracting all of that on each keystroke costs tens of
                    # milliseconds for symbols of half-typed code: keep the last good ones,
                    # shifted, until the parse heals or something reads this file (:meth:`_settle`).
                    positioned, pending, good, macros = pos, ranges, base, old.macros
            else:
                tree = parser.parse(data)
            if positioned is None:
                macros = {}
                positioned = extract_positioned(spec, tree, data, None, old.macros if old else None, macros)
            self._live[rel] = _Live(tree, data, positioned, change.version, macros, pending, good, stale)
            if pending is None:
                self._unsettled.discard(rel)
            else:
                self._unsettled.add(rel)
            if old is not None and positioned.replaced is not None:
                removed, added = positioned.replaced
                same = sorted(removed) == sorted(added)
                self._changed(rel, None if same else old.positioned.definitions, old.positioned.imports,
                              None if same else positioned.definitions, positioned.imports)
            elif old is not None:
                self._changed(rel, old.positioned.definitions, old.positioned.imports,
                              positioned.definitions, positioned.imports)
            else:
                disk = self._disk_extracted(rel)
                self._changed(rel, disk.definitions if disk else None,
                              [(0, i) for i in disk.imports] if disk else None,
                              positioned.definitions, positioned.imports)

    def _settle(self) -> None:
        """Re-extract the open buffers whose symbols were kept shifted, before anything reads.

        Under the lock, at the start of every query: the derived tables then see exactly what a
        full extraction of each buffer's current tree gives.
        """
        while self._unsettled:
            rel = self._unsettled.pop()
            live = self._live.get(rel)
            spec = language_for(rel)
            if live is None or live.pending is None or spec is None:
                continue
            before = live.positioned
            got: Positioned | None = None
            macros: MacroTrees = {}
            if live.stale:  # a keystroke's parse ran out of time: finish it, then splice if it can
                new_tree = parser_for(spec).parse(live.source, live.tree)
                base = live.good if live.good is not None else live.tree
                got, macros = _spliced(spec, before, base, new_tree, live.source, live.pending, live.macros)
                live.tree, live.stale = new_tree, False
            if got is None:
                macros = {}
                got = extract_positioned(spec, live.tree, live.source, None, live.macros, macros)
            live.positioned = got
            live.macros, live.pending, live.good, live._extracted = macros, None, None, None
            self._changed(rel, before.definitions, before.imports, live.positioned.definitions,
                          live.positioned.imports)

    def _refresh_path(self, rel: str) -> None:
        """Re-read one file from disk (after its buffer closed), updating the store."""
        spec = language_for(rel)
        full = self.root / rel
        try:
            st = full.stat()
        except OSError:
            if self._files.pop(rel, None) is not None:
                self._store.write((), (), [rel])
                self._reset_derived()
                self._generation += 1
            return
        known = self._files.get(rel)
        if known is not None and known.stored.mtime_ns == st.st_mtime_ns and known.stored.size == st.st_size:
            return
        if spec is None or st.st_size > self.settings.context.max_file_bytes:
            return
        before = self._disk_extracted(rel) if known is not None else None
        r = parse_path(rel, str(full), spec.name, st.st_size, st.st_mtime_ns,
                       known.stored.content_hash if known else "")
        if r.unchanged:
            self._store.write((), [(r.mtime_ns, r.size, rel)], ())
            if known is not None:
                known.stored.mtime_ns, known.stored.size = r.mtime_ns, r.size
            return
        self._store.write([(r.path, r.language, r.mtime_ns, r.size, r.content_hash, r.lines,
                            r.error_nodes, r.n_defs, r.n_refs, r.note, r.symbols, r.imports)])
        self._files[rel] = _File(
            StoredFile(r.path, r.language, r.mtime_ns, r.size, r.content_hash, r.lines,
                       r.error_nodes, r.n_defs, r.n_refs, r.note),
            r.symbols, r.imports,
        )
        defs, _refs = unpack_symbols(r.symbols)
        self._changed(rel, before.definitions if before else None,
                      [(0, i) for i in before.imports] if before else None,
                      defs, [(0, i) for i in unpack_imports(r.imports)])

    def _disk_extracted(self, rel: str) -> Extracted | None:
        f = self._files.get(rel)
        if f is None:
            return None
        self._load_blobs([rel])
        assert f.symbols is not None and f.imports is not None
        defs, refs = unpack_symbols(f.symbols)
        return Extracted(defs, refs, unpack_imports(f.imports), f.stored.errors)

    def _changed(
        self,
        rel: str,
        defs_before: list[RawDef] | None,
        imports_before: list[tuple[int, RawImport]] | None,
        defs_after: list[RawDef] | None,
        imports_after: list[tuple[int, RawImport]] | None,
    ) -> None:
        """Invalidate what one file's new content affects, as narrowly as possible."""
        self._generation += 1
        self._fs_cache.pop(rel, None)
        self._stale_names.add(rel)

        def import_keys(items: list[tuple[int, RawImport]] | None) -> list[tuple[Any, ...]] | None:
            return [(i[0], i[1], i[3], i[4], i[5]) for _b, i in items] if items is not None else None

        if import_keys(imports_before) != import_keys(imports_after):
            self._resolution = None
            self._edges = None
            return
        if self._resolution is not None and imports_after is not None:
            raw = [i for _b, i in imports_after]
            self._resolution.imports[rel] = self._resolve_file(self._resolution, rel, raw)
        if self._edges is None:
            return
        self._edges.pop(rel, None)
        keys_before = {(d[0], d[2]) for d in defs_before} if defs_before else set()
        keys_after = {(d[0], d[2]) for d in defs_after} if defs_after else set()
        if keys_before == keys_after:
            return
        # A definition appeared, vanished or moved: only files that refer to one of those
        # names can resolve differently (files edited since the last query were popped).
        if self._ref_index is None:
            self._edges = None
            return
        for name in {k[0] for k in keys_before ^ keys_after}:
            for user in self._ref_index.get(name, {}):
                self._edges.pop(user, None)

    # --- derived tables -----------------------------------------------------------------------

    def _reset_derived(self) -> None:
        self._fs_cache = {}
        self._resolution = None
        self._def_index = None
        self._ref_index = None
        self._stale_names = set()
        self._edges = None

    def _load_blobs(self, paths: Iterable[str] | None) -> None:
        wanted = [p for p in (paths if paths is not None else self._files) if p in self._files
                  and self._files[p].symbols is None]
        if not wanted:
            return
        source = self._store.blobs(None if len(wanted) > 200 else wanted)
        for path, symbols, imports in source:
            f = self._files.get(path)
            if f is not None and f.symbols is None:
                f.symbols, f.imports = symbols, imports

    def _raw_imports(self, rel: str) -> list[RawImport]:
        live = self._live.get(rel)
        if live is not None:
            return live.extracted.imports
        f = self._files.get(rel)
        if f is None:
            return []
        if f.imports is None:
            self._load_blobs([rel])
        return unpack_imports(f.imports) if f.imports else []

    def _raw_symbols(self, rel: str) -> tuple[list[RawDef], list[RawRef], int]:
        live = self._live.get(rel)
        if live is not None:
            return live.extracted.definitions, live.extracted.references, live.extracted.error_nodes
        f = self._files.get(rel)
        if f is None:
            return [], [], 0
        if f.symbols is None:
            self._load_blobs([rel])
        defs, refs = unpack_symbols(f.symbols) if f.symbols else ([], [])
        return defs, refs, f.stored.errors

    def _all_paths(self) -> list[str]:
        paths = set(self._files)
        paths.update(self._live)
        return sorted(paths)

    def _language(self, rel: str) -> str:
        f = self._files.get(rel)
        if f is not None:
            return f.stored.language
        spec = language_for(rel)
        return spec.name if spec is not None else ""

    def _resolve(self) -> _Resolution:
        res = self._resolution
        if res is not None:
            return res
        self._load_blobs(None)
        paths = self._all_paths()
        raw = {p: self._raw_imports(p) for p in paths}
        files_of: dict[str, set[str]] = {name: set() for name in LANGUAGES}
        for p in paths:
            lang = self._language(p)
            if lang in files_of:
                files_of[lang].add(p)
        resolvers: dict[str, ImportResolver] = {}
        for name, spec in LANGUAGES.items():
            manifests: dict[str, str] = {}
            for m in self._manifests:
                if posixpath.basename(m.path) in spec.manifests:
                    text = self.text(m.path)
                    if text is not None:
                        manifests[m.path] = text
            files = files_of[name]
            resolvers[name] = spec.resolver(files, {p: raw[p] for p in files}, manifests)
        res = _Resolution(resolvers, {}, {})
        for p in paths:
            res.imports[p] = self._resolve_file(res, p, raw[p])
        res.edges = graph.file_edges(res.imports)
        self._resolution = res
        return res

    def _resolve_file(self, res: _Resolution, rel: str, raw: list[RawImport]) -> list[Import]:
        resolver = res.resolvers.get(self._language(rel))
        out = resolver.imports(rel, raw) if resolver is not None else []
        if res.edges:
            res.edges[rel] = {i.target for i in out if i.target is not None and i.target != rel}
        return out

    def module_prefix(self, path: str) -> str:
        """``crate::shapes::circle`` / ``inventory.models``: what qualnames in ``path`` start with."""
        with self._lock:
            self._settle()
            return self._module_prefix(self._resolve(), path)

    def _module_prefix(self, res: _Resolution, path: str) -> str:
        resolver = res.resolvers.get(self._language(path))
        return resolver.module_prefix(path) if resolver is not None else ""

    def _materialize(self, rel: str) -> FileSymbols | None:
        cached = self._fs_cache.get(rel)
        if cached is not None:
            return cached
        live = self._live.get(rel)
        f = self._files.get(rel)
        if live is None and f is None:
            return None
        res = self._resolve()
        lang = self._language(rel)
        spec = LANGUAGES.get(lang)
        sep = spec.separator if spec is not None else "."
        prefix = self._module_prefix(res, rel)
        head = prefix + sep if prefix else ""
        defs, refs, errors = self._raw_symbols(rel)
        definitions = [
            Definition(rel, name, kind, head + qual, sig, sl, el, sb, eb,
                       head + parent if parent else None)
            for name, kind, qual, sig, sl, el, sb, eb, parent in defs
        ]
        references = [
            Reference(rel, name, kind, line, head + enc if enc else None)
            for name, kind, line, enc in refs
        ]
        if live is not None:
            digest, size, lines = live.content_hash, len(live.source), count_lines(live.source)
        else:
            assert f is not None
            digest, size, lines = f.stored.content_hash, f.stored.size, f.stored.lines
        fs = FileSymbols(rel, lang, digest, size, lines, definitions, references,
                         list(res.imports.get(rel, [])), errors)
        self._fs_cache[rel] = fs
        return fs

    def _name_indexes(self) -> tuple[dict[str, dict[str, list[Definition]]], dict[str, dict[str, list[Reference]]]]:
        if self._def_index is None or self._ref_index is None:
            self._load_blobs(None)
            defs: dict[str, dict[str, list[Definition]]] = {}
            refs: dict[str, dict[str, list[Reference]]] = {}
            self._names_of = {}
            for rel in self._all_paths():
                fs = self._materialize(rel)
                if fs is not None:
                    self._add_names(fs, defs, refs)
            self._def_index, self._ref_index = defs, refs
            self._stale_names.clear()
        elif self._stale_names:
            for rel in self._stale_names:
                def_names, ref_names = self._names_of.pop(rel, ((), ()))
                for table, names in ((self._def_index, def_names), (self._ref_index, ref_names)):
                    for name in names:
                        by_path = table.get(name)
                        if by_path is not None:
                            by_path.pop(rel, None)
                            if not by_path:
                                del table[name]
                fs = self._materialize(rel)
                if fs is not None:
                    self._add_names(fs, self._def_index, self._ref_index)
            self._stale_names.clear()
        return self._def_index, self._ref_index

    def _add_names(
        self,
        fs: FileSymbols,
        defs: dict[str, dict[str, list[Definition]]],
        refs: dict[str, dict[str, list[Reference]]],
    ) -> None:
        for d in fs.definitions:
            defs.setdefault(d.name, {}).setdefault(fs.path, []).append(d)
        for r in fs.references:
            refs.setdefault(r.name, {}).setdefault(fs.path, []).append(r)
        self._names_of[fs.path] = ({d.name for d in fs.definitions}, {r.name for r in fs.references})

    # --- queries ------------------------------------------------------------------------------

    def files(self) -> list[str]:
        """Relative POSIX paths of every indexed file (open unsaved buffers included)."""
        with self._lock:
            self._settle()
            return self._all_paths()

    def file(self, path: str) -> FileSymbols | None:
        with self._lock:
            self._settle()
            return self._materialize(path)

    def definitions_named(self, name: str) -> list[Definition]:
        with self._lock:
            self._settle()
            by_path = self._name_indexes()[0].get(name)
            return [d for ds in by_path.values() for d in ds] if by_path else []

    def references_named(self, name: str) -> list[Reference]:
        with self._lock:
            self._settle()
            by_path = self._name_indexes()[1].get(name)
            return [r for rs in by_path.values() for r in rs] if by_path else []

    def definition_at(self, path: str, line: int) -> Definition | None:
        """The innermost definition whose lines enclose ``line`` (1-based)."""
        with self._lock:
            self._settle()
            fs = self._materialize(path)
            if fs is None:
                return None
            best: Definition | None = None
            for d in fs.definitions:
                if d.start_line <= line <= d.end_line and (
                    best is None or d.end_byte - d.start_byte <= best.end_byte - best.start_byte
                ):
                    best = d
            return best

    def file_edges(self) -> dict[str, set[str]]:
        """File → project files it imports, declares (``mod``) or uses, resolved."""
        with self._lock:
            self._settle()
            return {k: set(v) for k, v in self._resolve().edges.items()}

    def imports_of(self, path: str) -> list[Import]:
        with self._lock:
            self._settle()
            return list(self._resolve().imports.get(path, []))

    def symbol_edges(self) -> list[SymbolEdge]:
        """Reference → definition edges of the whole project (cached; see :mod:`graph`)."""
        with self._lock:
            self._settle()
            named: dict[str, list[Definition]] = {}
            groups: dict[str, str] = {}
            return [e for p in self._all_paths() for e in self._edges_from(p, named, groups)]

    def edges_by_file(self) -> dict[str, list[SymbolEdge]]:
        """Each file's outgoing reference edges, as the cached lists themselves (read only).

        A file whose edges did not change keeps the same list object, so a caller holding
        derived tables can redo only the files whose list is a new one.
        """
        with self._lock:
            self._settle()
            # Shared by every file of this pass: the definitions of a name, and the crate or
            # package of a path, are looked up once rather than once per file.
            named: dict[str, list[Definition]] = {}
            groups: dict[str, str] = {}
            return {p: self._edges_from(p, named, groups) for p in self._all_paths()}

    def symbol_edges_from(self, path: str) -> list[SymbolEdge]:
        with self._lock:
            self._settle()
            return list(self._edges_from(path, {}, {}))

    def _edges_from(self, path: str, named_memo: dict[str, list[Definition]],
                    group_memo: dict[str, str]) -> list[SymbolEdge]:
        """One file's edges (cached until the index changes); the memos live for one call of
        the caller, while the index is locked and cannot change under them."""
        if self._edges is None:
            self._edges = {}
        edges_cache = self._edges
        cached = edges_cache.get(path)
        if cached is not None:
            return cached
        fs = self._materialize(path)
        if fs is None:
            return []
        res = self._resolve()
        def_index = self._name_indexes()[0]

        def named(name: str) -> list[Definition]:
            found = named_memo.get(name)
            if found is None:
                by_path = def_index.get(name)
                found = named_memo[name] = [d for ds in by_path.values() for d in ds] if by_path else []
            return found

        def group(p: str) -> str:
            g = group_memo.get(p)
            if g is None:
                g = group_memo[p] = self._group(p)
            return g

        edges = graph.edges_for_file(fs, named, res.edges.get(path, set()), group)
        edges_cache[path] = edges
        return edges

    def _group(self, path: str) -> str:
        """The crate (Rust) or top-level package (Python) a file belongs to."""
        resolver = self._resolve().resolvers.get(self._language(path))
        return resolver.group(path) if resolver is not None else ""

    def text(self, path: str) -> str | None:
        """The editor buffer if the file is open, else the file on disk, else None."""
        full = self.root / path
        if self.documents is not None:
            return self.documents.text(full)
        try:
            return full.read_text(encoding="utf-8", errors="replace")
        except (OSError, ValueError):
            return None

    def stored_files(self) -> dict[str, StoredFile]:
        """The stat/hash rows as held now (for diagnostics and tests)."""
        with self._lock:
            self._settle()
            return {p: f.stored for p, f in self._files.items()}
