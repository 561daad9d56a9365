"""Embedding similarity between a request and the project's passages, from a local model.

Words and links miss code that says the same thing differently ("limit the number of
results" against ``max_results``). With ``context.embeddings`` on, each ranking passage (a
definition, or up to 60 lines of one) is embedded by a local embedding model, so code never
leaves the machine for this. Vectors are kept in SQLite under the state dir, keyed by model
and the passage's content digest: a passage is embedded once per content, across restarts
and projects. A request's vector is compared with every stored passage vector and each file
scores as its best passage. Passages not embedded yet do not score: ranking queues them in the
store, and :func:`drain` embeds them in batches, in the background, where the model client is.

The embedding call itself is passed in (:data:`Embed`): this package never talks to a model.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lsp_server.context.rank.tables import Prepared

Embed = Callable[[Sequence[str]], Awaitable[list[list[float]]]]

# Passages are cut to this many characters before embedding: embedding models read a few
# hundred tokens, and a passage's head says what it is.
MAX_PASSAGE_CHARS = 2000
BATCH = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    digest TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, digest)
);
CREATE TABLE IF NOT EXISTS pending (
    model TEXT NOT NULL,
    digest TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (model, digest)
);
"""
STORE_FILENAME = "embeddings.sqlite3"


@dataclass(frozen=True, slots=True)
class SemanticSpec:
    """What a context build needs for embedding similarity, in a form that crosses processes:
    the store, the model whose vectors to read, and the request's vector."""

    store_path: str
    model: str
    vector: tuple[float, ...]


def passage_text(prep: Prepared, passage: int, lines: dict[str, list[str]] | None = None) -> str:
    """What is embedded for one passage: its file's path, then its lines.

    ``lines`` caches each file's split text across calls.
    """
    path, _ = prep.passage_owner[passage]
    a, b = prep.passage_span[passage]
    cache = {} if lines is None else lines
    file_lines = cache.get(path)
    if file_lines is None:
        file_lines = cache[path] = prep.texts.get(path, "").split("\n")
    return (f"{path}\n" + "\n".join(file_lines[a - 1:b]))[:MAX_PASSAGE_CHARS]


def digest_of(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class EmbeddingStore:
    """Vectors by (model, content digest) in one SQLite file, safe to share between threads."""

    def __init__(self, path: Path, model: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.model = model
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def get_many(self, digests: Iterable[str]) -> dict[str, np.ndarray]:
        wanted = list(dict.fromkeys(digests))
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT digest, vector FROM vectors WHERE model = ? AND digest IN ({marks})",
                    (self.model, *chunk),
                ).fetchall()
                for digest, blob in rows:
                    out[digest] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_many(self, items: Sequence[tuple[str, Sequence[float]]]) -> None:
        rows = [(self.model, d, np.asarray(v, dtype=np.float32).tobytes()) for d, v in items]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            self._db.executemany("DELETE FROM pending WHERE model = ? AND digest = ?",
                                 [(self.model, d) for d, _ in items])

    def request_many(self, items: Iterable[tuple[str, str]]) -> None:
        """Queue (digest, text) pairs to be embedded by whichever process holds the model."""
        rows = [(self.model, d, text) for d, text in items]
        if rows:
            with self._lock, self._db:
                self._db.executemany("INSERT OR IGNORE INTO pending VALUES (?, ?, ?)", rows)

    def take_pending(self, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` queued (digest, text) pairs, oldest first (they stay queued until
        their vectors are stored)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT digest, text FROM pending WHERE model = ? ORDER BY rowid LIMIT ?",
                (self.model, limit)).fetchall()
        return [(str(d), str(t)) for d, t in rows]

    def pending_count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM pending WHERE model = ?", (self.model,)).fetchone()
        return int(n)

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM vectors WHERE model = ?", (self.model,)).fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass(frozen=True)
class SemanticQuery:
    """A request's vector, to score a project's passages with."""

    index: SemanticIndex
    vector: np.ndarray

    def file_scores(self, prep: Prepared) -> dict[str, float]:
        return self.index.file_scores(prep, self.vector)


class SemanticIndex:
    """The stored vectors of one project's current passages, as a matrix for fast scoring."""

    def __init__(self, store: EmbeddingStore) -> None:
        self.store = store
        self._digests: dict[int, str] = {}  # passage id → content digest (ids are never reused)
        self._vectors: dict[str, np.ndarray] = {}
        self._looked_up: set[str] = set()  # digests already asked of the store
        self._requested: set[str] = set()  # digests already queued for embedding
        self._lines: dict[str, list[str]] = {}
        self._matrix: tuple[int, int, np.ndarray, list[str]] | None = None  # key, rows, paths

    def _digest(self, prep: Prepared, passage: int) -> str:
        d = self._digests.get(passage)
        if d is None:
            d = self._digests[passage] = digest_of(passage_text(prep, passage, self._lines))
        return d

    def _refresh(self, prep: Prepared) -> None:
        """Forget passages that are gone; read stored vectors for new ones. Hold prep.lock."""
        live = prep.passage_span.keys()
        for k in [k for k in self._digests if k not in live]:
            del self._digests[k]
        fresh = [d for d in (self._digest(prep, k) for k in live)
                 if d not in self._vectors and d not in self._looked_up]
        self._lines = {}  # file lines are only needed while digesting new passages
        if fresh:
            self._vectors.update(self.store.get_many(fresh))
            self._looked_up.update(fresh)

    def pending(self, prep: Prepared, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` (digest, text) pairs of passages with no vector yet. Hold prep.lock."""
        self._refresh(prep)
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        lines: dict[str, list[str]] = {}
        for k in prep.passage_span:
            d = self._digest(prep, k)
            if d not in self._vectors and d not in seen:
                seen.add(d)
                out.append((d, passage_text(prep, k, lines)))
                if len(out) >= limit:
                    break
        return out

    def reload(self) -> None:
        """Read again what another process may have stored since (vectors for queued passages)."""
        self._looked_up.clear()
        self._matrix = None

    def coverage(self, prep: Prepared) -> tuple[int, int]:
        """(passages with a vector, passages). Hold prep.lock."""
        self._refresh(prep)
        have = sum(1 for k in prep.passage_span if self._digest(prep, k) in self._vectors)
        return have, len(prep.passage_span)

    def file_scores(self, prep: Prepared, query: np.ndarray) -> dict[str, float]:
        """Each file's best cosine similarity with ``query`` (files with no vector: absent)."""
        key = (id(prep), len(self._vectors) * 1_000_003 + len(prep.passage_span))
        if self._matrix is None or (self._matrix[0], self._matrix[1]) != key:
            self._refresh(prep)
            rows: list[np.ndarray] = []
            paths: list[str] = []
            dim = query.shape[0]
            for k, (path, _) in prep.passage_owner.items():
                v = self._vectors.get(self._digest(prep, k))
                if v is not None and v.shape[0] == dim:
                    rows.append(v)
                    paths.append(path)
            if rows:
                m = np.vstack(rows)
                m /= np.linalg.norm(m, axis=1, keepdims=True) + 1e-12
            else:
                m = np.zeros((0, dim), dtype=np.float32)
            self._matrix = (*key, m, paths)
        _, _, m, paths = self._matrix
        if m.shape[0] == 0 or m.shape[1] != query.shape[0]:
            return {}
        q = query.astype(np.float32)
        q /= np.linalg.norm(q) + 1e-12
        sims = m @ q
        out: dict[str, float] = {}
        for path, s in zip(paths, sims.tolist(), strict=True):
            if s > out.get(path, -1.0):
                out[path] = s
        return out

    def request_missing(self, prep: Prepared) -> int:
        """Queue in the store every current passage that has no vector. Hold prep.lock."""
        todo = self.pending(prep, len(prep.passage_span))
        fresh = [(d, t) for d, t in todo if d not in self._requested]
        self.store.request_many(fresh)
        self._requested.update(d for d, _ in fresh)
        return len(fresh)


async def drain(store: EmbeddingStore, embed: Embed, *, max_batches: int | None = None,
                progress: Callable[[int], None] | None = None) -> int:
    """Embed what context builds queued in ``store`` (see :meth:`SemanticIndex.request_missing`),
    ``BATCH`` texts a call; returns how many were stored. Runs where the model client lives.
    ``progress`` hears the running count after each batch."""
    import asyncio

    done = batches = 0
    while max_batches is None or batches < max_batches:
        todo = await asyncio.to_thread(store.take_pending, BATCH)
        if not todo:
            break
        vectors = await embed([text for _, text in todo])
        if len(vectors) != len(todo):
            raise ValueError(f"{len(vectors)} vectors for {len(todo)} passages")
        await asyncio.to_thread(store.put_many, [(d, v) for (d, _), v in zip(todo, vectors, strict=True)])
        done += len(todo)
        batches += 1
        if progress is not None:
            progress(done)
    return done


_INDEXES: weakref.WeakKeyDictionary[Prepared, dict[tuple[str, str], SemanticIndex]] = (
    weakref.WeakKeyDictionary())


def semantic_index(prep: Prepared, store_path: str, model: str) -> SemanticIndex:
    """The tables' own :class:`SemanticIndex` for that store and model (kept while the
    tables live), refreshed from the store, with every passage that still lacks a vector
    queued for embedding. Hold prep.lock."""
    per_prep = _INDEXES.setdefault(prep, {})
    key = (store_path, model)
    semantic = per_prep.get(key)
    if semantic is None:
        semantic = per_prep[key] = SemanticIndex(EmbeddingStore(Path(store_path), model))
    else:
        semantic.reload()
    semantic.request_missing(prep)
    return semantic


def query_for(prep: Prepared, spec: SemanticSpec) -> SemanticQuery:
    """The scorer for ``spec`` over ``prep`` (see :func:`semantic_index`). Hold prep.lock."""
    semantic = semantic_index(prep, spec.store_path, spec.model)
    return SemanticQuery(semantic, np.asarray(spec.vector, dtype=np.float32))
