"""The request-independent ranking tables of a project, kept current file by file.

Tokenizing every line, cutting definitions into passages and indexing them for BM25 is most
of the cost of ranking a large repository (seconds on tokio). None of it depends on the
request, and an editor change touches one file, so the tables are built once per index and
then updated for the files whose content changed: their definitions, passages and BM25
documents are removed and added again under fresh integer ids. The reference graph is
reassembled from per-file contributions, redoing only the files whose edges the index
recomputed (:mod:`~lsp_server.context.rank.links`).

Readers and the updater share :attr:`Prepared.lock`: hold it while reading (see
:func:`lsp_server.context.rank.ranking.tables_for`). The tables of an index stored on disk are
kept beside it (:mod:`snapshot`), so a new process starts from them instead of from nothing.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import sys
import threading
import time
import weakref
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from lsp_server.context.index.model import Definition, FileSymbols, Import
from lsp_server.context.rank import snapshot
from lsp_server.context.rank.bm25 import BM25
from lsp_server.context.rank.gc_pause import paused_collection
from lsp_server.context.rank.latent import LatentIndex
from lsp_server.context.rank.links import DefKey, EachEdgeSource, EdgeSource, Links
from lsp_server.context.rank.pagerank import Graph
from lsp_server.context.rank.passage_table import PassageTable
from lsp_server.context.rank.passages import (
    CONTAINER_KINDS,
    Chunks,
    passages,
    path_tokens,
    uncovered,
)
from lsp_server.context.rank.stored_texts import StoredTexts
from lsp_server.context.rank.terms import forget_words, split_identifier, tokenize
from lsp_server.context.tokens import line_prefix


class IndexView(EdgeSource, Protocol):
    """What ranking reads from :class:`~lsp_server.context.index.project.ProjectIndex`.

    ``generation`` grows with every change of the index, so unchanged tables are not
    rescanned; ``edges_by_file()`` keeps the same list object for a file whose edges did not
    change, so only the files with a new list are relinked.
    """

    @property
    def generation(self) -> int: ...

    def files(self) -> list[str]: ...

    def file(self, path: str) -> FileSymbols | None: ...

    def text(self, path: str) -> str | None: ...


@runtime_checkable
class ReleasingIndex(IndexView, EachEdgeSource, Protocol):
    """An index that can decode a file without keeping it and give back what it keeps."""

    def decode(self, path: str) -> FileSymbols | None: ...

    def release_derived(self) -> None: ...


@dataclass
class _FileRows:
    """What one file contributes to the tables, to take it out again."""

    key: tuple[str, int, str]
    symbolic: bool = False  # the index read symbols from it (not a text-only file)
    imports: list[Import] = field(default_factory=list)
    def_ids: list[int] = field(default_factory=list)
    passage_ids: list[int] = field(default_factory=list)
    used_names: set[str] = field(default_factory=set)


def give_back_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``) after a large
    structure is dropped, so the next one's growth does not stack on memory the process no
    longer uses; nothing where there is no glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        fn: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return None
    return fn


def _file_key(fs: FileSymbols | None, text: str | None) -> tuple[str, int, str]:
    """What identifies a file's content and the qualified names derived from it."""
    if fs is None:  # a digest, not hash(): the key must mean the same in the next process
        data = (text or "").encode("utf-8", "surrogatepass")
        return ("text", int.from_bytes(hashlib.blake2b(data, digest_size=8).digest()), "")
    return (fs.content_hash, len(fs.definitions), fs.definitions[0].qualname if fs.definitions else "")


class Prepared:
    """Everything about the project that does not depend on the request."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.generation: int | None = None
        self.files: list[str] = []
        self.texts: StoredTexts = StoredTexts()  # compressed: a request reads a few files
        self.defs: dict[int, Definition] = {}
        self.def_ids: dict[tuple[str, int, str], int] = {}  # (path, start byte, qualname) → id
        self.place: dict[int, tuple[str, int, str]] = {}  # id → (path, start byte, qualname)
        self.defs_by_name: dict[str, list[int]] = {}
        self.defs_by_parts: dict[str, list[int]] = {}  # "max_depth" for maxDepth, MaxDepth
        # Definitions cut into passages, plus code outside definitions.
        self.passage_bm25: BM25[int] = BM25()
        self.passages = PassageTable()
        self.file_bm25: BM25[str] = BM25()
        # Latent semantic vectors of the files (see :mod:`latent`), built by the first sync and
        # kept current by folding in the files changed since.
        self.latent: LatentIndex | None = None
        self._latent_changed: set[str] = set()
        self.file_tokens: dict[str, int] = {}
        # Per file: running token count by line (4-byte ints: a list costs ~9x on sympy).
        self.line_prefix: dict[str, array[int]] = {}
        self.by_key: dict[DefKey, Definition] = {}
        self.users: dict[str, set[str]] = {}  # name → files that reference it
        self.links = Links()  # the reference graph and the definitions' neighbours
        self._rows: dict[str, _FileRows] = {}
        self._next_def = 0
        self._next_passage = 0
        self.last_sync_ms = 0.0  # how long the latest sync took (0 when nothing had changed)
        # Where the tables are kept on disk (see :mod:`snapshot`), the fingerprint of the index
        # content they were last synced with, and whether this process has written them yet.
        self.persist_to: Path | None = None
        self.fingerprint: str | None = None
        self._saved = False
        self.loaded = False  # these tables came from disk (a snapshot), not from nothing
        self.last_sync_files = 0  # files whose rows the latest sync redid

    # --- on disk ----------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """What a snapshot keeps: not the lock or the process's bookkeeping (:class:`Links`
        says what of the graph it keeps)."""
        state = dict(vars(self))
        for name in ("lock", "persist_to", "fingerprint", "_saved", "generation",
                     "_latent_changed", "last_sync_ms", "loaded", "last_sync_files"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        vars(self).update(state)

    # --- reading --------------------------------------------------------------------------

    @property
    def passage_owner(self) -> Mapping[int, tuple[str, int | None]]:
        """Passage id → (its file, the id of the definition it belongs to, or None)."""
        return self.passages.owners

    @property
    def passage_span(self) -> Mapping[int, tuple[int, int]]:
        """Passage id → its first and last line (1-based, inclusive)."""
        return self.passages.spans

    @property
    def graph(self) -> Graph:
        """The file → file reference graph the ranking walks."""
        return self.links.graph

    @property
    def global_rank(self) -> dict[str, float]:
        """Each file's rank with no request to personalise it."""
        return self.links.global_rank

    @property
    def callees(self) -> dict[DefKey, list[DefKey]]:
        """Definition → the definitions its body refers to (at most MAX_NEIGHBOURS)."""
        return self.links.callees

    def callers_of(self, key: DefKey) -> list[DefKey]:
        """The definitions whose bodies refer to ``key`` (at most MAX_NEIGHBOURS)."""
        return self.links.callers_of(key)

    def has_symbols(self, path: str) -> bool:
        """Whether the index read definitions from ``path`` (a source file it parsed)."""
        rows = self._rows.get(path)
        return rows is not None and rows.symbolic

    def definitions_of(self, path: str) -> list[Definition] | None:
        """A parsed file's definitions in the index's order (None for other files): the
        index's own objects, kept here so that ranking never decodes a file's symbols."""
        rows = self._rows.get(path)
        if rows is None or not rows.symbolic:
            return None
        return [self.defs[i] for i in rows.def_ids]

    def imports_of(self, path: str) -> list[Import]:
        """A parsed file's imports (empty for other files)."""
        rows = self._rows.get(path)
        return rows.imports if rows is not None else []

    def file_rows(self, path: str) -> tuple[list[int], list[int]]:
        """The ids of one file's definitions and passages (empty for an unknown file)."""
        rows = self._rows.get(path)
        return (rows.def_ids, rows.passage_ids) if rows is not None else ([], [])

    # --- updating -------------------------------------------------------------------------

    def sync(self, index: IndexView, *, once: bool = False) -> None:
        """Bring the tables up to date with ``index``, redoing only the files that changed.

        ``once``: the process answers one request and exits (a one-off command), so nothing
        will follow an edit: see :func:`sync_once`."""
        generation = index.generation
        if generation == self.generation:
            self.last_sync_ms = 0.0
            return
        started = time.perf_counter()
        self.last_sync_files = 0
        current: str | None = None
        if self.persist_to is not None and isinstance(index, snapshot.PersistentIndex):
            current = snapshot.fingerprint(index.content_digests())
            if current == self.fingerprint:
                # Every file holds what the tables were last synced with: loaded from disk
                # for an unchanged project, or a buffer opened, saved or closed unchanged.
                # (A sync would redo no file's rows, yet decode every file's symbols and
                # derive every edge to find that out.)
                self.generation = generation
                self._saved = True
                self.last_sync_ms = (time.perf_counter() - started) * 1000.0
                return
        first = not self._rows
        with paused_collection(collect_after=first):
            self._sync(index, generation, first, once)
        self.fingerprint = current
        if current is not None and self.persist_to is not None and not self._saved:
            # Once per process: later syncs follow single edits, and the next process brings
            # these tables up to date file by file anyway.
            # (also when the write failed: a read-only state directory is told of once)
            self._saved = True
            if first:  # the build's garbage, before the pickler's memo of every object
                give_back_memory()
            snapshot.save(self.persist_to, current, self)
        self.last_sync_ms = (time.perf_counter() - started) * 1000.0

    def _sync(self, index: IndexView, generation: int, first: bool, once: bool) -> None:
        files = sorted(index.files())
        if first:  # a bulk build: every posting is weighed once, at the end
            for bm in (self.passage_bm25, self.file_bm25):
                bm.defer_weights()
        present = set(files)
        for path in [p for p in self._rows if p not in present]:
            self._remove_file(path)
        read = index.file
        lean = once and isinstance(index, ReleasingIndex)
        early_latent = lean and first
        if early_latent:
            # The latent SVD's work arrays (~80 MB on sympy) are computed before any of the
            # other tables exist: they need only each file's words.
            self._file_documents(index, files)
            self.file_bm25.settle()
            self._sync_latent(files)
        if lean:
            # The edges need every file's references decoded and the project's name tables
            # at once (on sympy the references alone are ~90 MB of objects). Link the graph
            # first, let the index drop all of that, then read the files one at a time for
            # their rows: the peak is the larger of the two phases, not their sum. Nothing
            # will edit this index, so the edge lists are not kept for relinking either.
            assert isinstance(index, ReleasingIndex)
            self.files = files
            if first:
                self.links.link_each(index, files)
            else:
                self.links.relink(index, files, keep_edges=False)
                index.release_derived()
            give_back_memory()
            read = index.decode
        for path in files:
            fs = read(path)
            rows = self._rows.get(path)
            text: str | None = None
            if fs is None:
                text = index.text(path)
            key = _file_key(fs, text)
            if rows is not None and rows.key == key:
                continue
            if rows is not None:
                self._remove_file(path)
            self._add_file(path, fs, (index.text(path) if text is None else text) or "", key,
                           file_document=not early_latent)
        self.files = files
        for bm in (self.passage_bm25, self.file_bm25):
            bm.settle()
        if early_latent:
            self._latent_changed.clear()  # the files' words were in the SVD already
        else:
            self._sync_latent()
        if not lean:
            self.links.relink(index, files)
        else:
            forget_words()  # a cache for tokenizing many files; this process is done with it
        self.generation = generation

    def _file_documents(self, index: IndexView, files: list[str]) -> None:
        """Every file's BM25 document (its path's words and all of its text's), alone: the
        same tokens :meth:`_add_file` gives it (words never cross a line, so tokenizing the
        text at once equals tokenizing it piece by piece)."""
        for path in files:
            text = index.text(path) or ""
            self.file_bm25.add(path, path_tokens(path) + tokenize(text))

    def _sync_latent(self, files: list[str] | None = None) -> None:
        """Refit the SVD when it is missing or stale, else fold in the changed files.
        ``files``: every file's document (before :meth:`_add_file` has seen them)."""
        latent = self.latent
        if latent is None or latent.stale:
            docs = self.file_tokens.keys() if files is None else files
            columns = self.file_bm25.columns()
            if columns is not None:
                self.latent = LatentIndex.from_columns(columns, self.file_bm25.idf, docs)
            else:
                self.latent = LatentIndex(self.file_bm25.postings, self.file_bm25.idf, docs)
        else:
            for path in sorted(self._latent_changed):
                if path in self.file_tokens:
                    latent.fold_in(path, self.file_bm25.doc_weights(path))
                else:
                    latent.drop(path)
        self._latent_changed.clear()

    def _add_file(self, path: str, fs: FileSymbols | None, text: str, key: tuple[str, int, str],
                  file_document: bool = True) -> None:
        self._latent_changed.add(path)
        self.last_sync_files += 1
        rows = _FileRows(key)
        self._rows[path] = rows
        self.texts[path] = text
        ptoks = path_tokens(path)
        prefix = line_prefix(text)
        nlines = len(prefix) - 1
        self.line_prefix[path] = array("i", prefix)
        self.file_tokens[path] = prefix[-1]
        leaf_spans: list[tuple[int, int]] = []
        if fs is not None:
            leaf_spans = [(d.start_line, d.end_line) for d in fs.definitions
                          if d.kind not in CONTAINER_KINDS]
        loose = uncovered(nlines, leaf_spans)
        chunks = Chunks(text, [span for start, end in (*leaf_spans, *loose)
                                for span in passages(start, end)])
        if file_document:
            self.file_bm25.add(path, ptoks + chunks.tokens(1, nlines))
        if fs is None:
            return
        rows.symbolic = True
        rows.imports = list(fs.imports)
        for r in fs.references:
            rows.used_names.add(r.name)
        for name in rows.used_names:
            self.users.setdefault(name, set()).add(path)

        def passage(tokens: list[str], owner: int | None, span: tuple[int, int]) -> None:
            k = self._next_passage
            self._next_passage += 1
            self.passage_bm25.add(k, tokens)
            self.passages.add(k, path, owner, span)
            rows.passage_ids.append(k)

        for d in fs.definitions:
            i = self._next_def
            self._next_def += 1
            rows.def_ids.append(i)
            self.defs[i] = d
            self.defs_by_name.setdefault(d.name, []).append(i)
            self.defs_by_parts.setdefault("_".join(split_identifier(d.name)), []).append(i)
            place = (d.path, d.start_byte, d.qualname)  # one tuple for both tables
            self.def_ids[place] = i
            self.place[i] = place
            self.by_key.setdefault((d.path, d.qualname), d)
            head = tokenize(d.name) * 2 + tokenize(d.qualname) + ptoks
            if d.kind in CONTAINER_KINDS:
                passage(head + tokenize(d.signature), i, (d.start_line, d.start_line))
                continue
            for a, b in passages(d.start_line, d.end_line):
                passage(head + chunks.tokens(a, b), i, (a, b))
        for start, end in loose:
            for a, b in passages(start, end):
                toks = chunks.tokens(a, b)
                if toks:
                    passage(ptoks + toks, None, (a, b))

    def _remove_file(self, path: str) -> None:
        self._latent_changed.add(path)
        rows = self._rows.pop(path)
        for i in rows.def_ids:
            d = self.defs.pop(i)
            del self.place[i]
            for table, name in ((self.defs_by_name, d.name),
                                (self.defs_by_parts, "_".join(split_identifier(d.name)))):
                ids = table.get(name)
                if ids is not None:
                    ids.remove(i)
                    if not ids:
                        del table[name]
            if self.def_ids.get((d.path, d.start_byte, d.qualname)) == i:
                del self.def_ids[(d.path, d.start_byte, d.qualname)]
            self.by_key.pop((d.path, d.qualname), None)
        for k in rows.passage_ids:
            self.passage_bm25.remove(k)
            self.passages.remove(k)
        for name in rows.used_names:
            users = self.users.get(name)
            if users is not None:
                users.discard(path)
                if not users:
                    del self.users[name]
        self.file_bm25.remove(path)
        self.texts.pop(path, None)
        self.file_tokens.pop(path, None)
        self.line_prefix.pop(path, None)

_CACHE_LOCK = threading.Lock()
_CACHE: weakref.WeakKeyDictionary[object, Prepared] = weakref.WeakKeyDictionary()
# Indexes that cannot be weakly referenced get tables of their own each time.


def tables_of(index: IndexView) -> Prepared:
    """The (possibly stale) tables kept for ``index``; sync them under their lock."""
    with _CACHE_LOCK:
        try:
            prep = _CACHE.get(index)
        except TypeError:
            return Prepared()
        if prep is None:
            prep = _from_disk(index)
            _CACHE[index] = prep
        return prep


def _from_disk(index: IndexView) -> Prepared:
    """The tables kept on disk for ``index`` (synced before use), or empty ones."""
    if not isinstance(index, snapshot.PersistentIndex):
        return Prepared()
    path = snapshot.snapshot_path(index)
    loaded = snapshot.load(path)
    prep = Prepared()
    if loaded is not None and isinstance(loaded[1], Prepared):
        prep = loaded[1]
        prep.fingerprint = loaded[0]
        prep.loaded = True
    prep.persist_to = path
    return prep


def sync_once(index: IndexView) -> Prepared:
    """The tables of ``index``, synced for a process that answers one request and exits.

    Loaded from disk when they are current; otherwise built (or brought up to date) with the
    least memory: the index's decoded files, name tables and edges are dropped once the graph
    is linked, and the files are then decoded one at a time (:meth:`Prepared._sync`). Later
    reads of the index decode what they need again, so the index stays correct, only slower
    to query. :func:`~lsp_server.context.rank.ranking.tables_for` then finds them synced."""
    prep = tables_of(index)
    with prep.lock:
        prep.sync(index, once=True)
    return prep


def build_tables(index: IndexView) -> Prepared:
    """Fresh tables for ``index``, not kept (tests and benchmarks compare against these)."""
    prep = Prepared()
    with prep.lock:
        prep.sync(index)
    return prep
