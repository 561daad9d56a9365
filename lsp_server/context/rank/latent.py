"""Latent semantic indexing over whole files: words that travel together in this project.

BM25 only credits a file for the request's own words. A truncated SVD of the project's
file-term matrix (Deerwester et al., 1990) puts words that occur in the same files near each
other, so a request about "exit codes" also reaches the file that says ``ExitCode`` and
``process::exit`` near "error" and "status", with no model weights to download: the project
is its own corpus. It is one more ranked list in the fusion, weaker than BM25 on its own.
In a project with not many more files than :data:`RANK` the space is barely reduced, and the
list is close to cosine similarity over the same weighted words.

The SVD is randomized (Halko, Martinsson and Tropp, 2011) and runs on the BM25 postings as
a sparse matrix in chunks, so memory stays O((files + terms) x rank). A file that changes
after the SVD is folded in (projected onto the existing term vectors) instead of redoing
it; the SVD is redone when folded-in files become a large share of the project.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import numpy.typing as npt

RANK = 100  # dimensions kept
OVERSAMPLE = 10
POWER_ITERATIONS = 2
MIN_FILES = 40  # below this, words barely co-occur: the list would be noise
MAX_DF_SHARE = 0.5  # words in more than this share of files carry no topic
MAX_TERMS = 20000  # the most widespread of the rest: bounds memory and time on huge projects
CHUNK = 4096  # matrix entries handled at once (memory: CHUNK x rank floats)
REFIT_SHARE = 0.2  # redo the SVD once this share of files was folded in since the last one
TOP = 200  # files returned per query

Matrix = npt.NDArray[np.float64]
# Postings packed by term: document keys, term names, each term's start in the two arrays
# (one more than there are terms), the documents (indexes into keys) and their weights.
Columns = tuple[list[str], list[str], npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float64]]


class LatentIndex:
    """File and term vectors of one project; :meth:`scores` compares a query with files."""

    def __init__(self, postings: Mapping[str, Mapping[str, float]], idf: Callable[[str], float],
                 files: Iterable[str], seed: int = 0) -> None:
        self.files = sorted(files)
        n = len(self.files)
        row_of = {p: i for i, p in enumerate(self.files)}
        terms = _kept_terms([(len(post), t) for t, post in postings.items()], n)
        # compact typed arrays while collecting: a list of Python numbers costs ~8x the memory
        rows = array("i")
        cols = array("i")
        vals = array("f")
        for j, t in enumerate(terms):
            w = idf(t)
            for p, tf in postings[t].items():
                i = row_of.get(p)
                if i is not None:
                    rows.append(i)
                    cols.append(j)
                    vals.append(tf * w)
        self._fit(row_of, terms, np.frombuffer(rows, dtype=np.int32).copy(),
                  np.frombuffer(cols, dtype=np.int32).copy(), np.frombuffer(vals, dtype=np.float32).copy(),
                  seed)

    @classmethod
    def from_columns(cls, columns: Columns, idf: Callable[[str], float], files: Iterable[str],
                     seed: int = 0) -> LatentIndex:
        """The same index from postings packed by term (:meth:`BM25.columns`), gathered with
        array operations instead of one dict per term: on sympy seconds and tens of MB less.
        The entries, their order and their float32 values are those of the constructor."""
        keys, term_names, t_start, t_docs, t_weights = columns
        self = cls.__new__(cls)
        self.files = sorted(files)
        n = len(self.files)
        row_of = {p: i for i, p in enumerate(self.files)}
        df = np.diff(t_start)
        term_id = {t: i for i, t in enumerate(term_names)}
        terms = _kept_terms([(d, term_names[i]) for i, d in enumerate(df.tolist()) if d], n)
        ids = np.fromiter((term_id[t] for t in terms), dtype=np.int64, count=len(terms))
        lengths = df[ids]
        total = int(lengths.sum())
        # every kept term's slice of the postings, one after another
        first = np.repeat(t_start[ids] - (np.cumsum(lengths) - lengths), lengths)
        idx = first + np.arange(total, dtype=np.int64)
        slot_row = np.fromiter((row_of.get(k, -1) for k in keys), dtype=np.int32, count=len(keys))
        rows = slot_row[t_docs[idx]]
        cols = np.repeat(np.arange(len(terms), dtype=np.int32), lengths)
        weights = np.fromiter((idf(t) for t in terms), dtype=np.float64, count=len(terms))
        vals = (t_weights[idx] * np.repeat(weights, lengths)).astype(np.float32)
        del idx, first
        if (rows < 0).any():  # a document that is not one of the files: left out, as above
            keep = rows >= 0
            rows, cols, vals = rows[keep], cols[keep], vals[keep]
        self._fit(row_of, terms, rows, cols, vals, seed)
        return self

    def _fit(self, row_of: dict[str, int], terms: list[str], rows: npt.NDArray[np.int32],
             cols: npt.NDArray[np.int32], vals: npt.NDArray[np.float32], seed: int) -> None:
        """The SVD of the (files x terms) matrix given as coordinates, ordered by term."""
        n = len(self.files)
        self.term_ids = {t: j for j, t in enumerate(terms)}
        self._rows, self._cols, self._vals = rows, cols, vals
        # Entries come by term, so the column order is their own order (no permutation kept);
        # the row order as 4-byte indexes (a project has far fewer than 2**31 entries).
        self._by_row = np.argsort(self._rows, kind="stable").astype(np.int32)
        self._by_col = None
        self.shape = (n, len(terms))
        k = min(RANK, n - 1, len(terms) - 1)
        self.rank = max(k, 0)
        self.folded = 0
        if self.rank < 2 or n < MIN_FILES:
            self.rank = 0
            self.term_vectors: Matrix = np.zeros((len(terms), 0))
            self.doc_vectors: Matrix = np.zeros((n, 0))
            self.singular_values: Matrix = np.zeros(0)
            self.row_of = row_of
            self._forget_matrix()
            return
        u, s, vt = self._svd(np.random.default_rng(seed))
        # A document is u * s; a query folds in as q · V (the same as a document's own x · V).
        self.term_vectors = vt.T
        self.doc_vectors = _normalized(u * s)
        self.singular_values = s
        self.row_of = row_of
        self._forget_matrix()

    def _forget_matrix(self) -> None:
        """Only the SVD needs the matrix itself; folding in uses the term vectors."""
        del self._rows, self._cols, self._vals, self._by_row, self._by_col

    # --- sparse products over the postings, in chunks ---------------------------------------

    def _x_times(self, m: Matrix) -> Matrix:
        """X @ m for the (files x terms) matrix held as coordinates."""
        return _product(self._by_row, self._rows, self._cols, self._vals, m, self.shape[0])

    def _xt_times(self, m: Matrix) -> Matrix:
        """X.T @ m."""
        return _product(self._by_col, self._cols, self._rows, self._vals, m, self.shape[1])

    def _svd(self, rng: np.random.Generator) -> tuple[Matrix, Matrix, Matrix]:
        width = min(self.rank + OVERSAMPLE, min(self.shape))
        y = self._x_times(rng.standard_normal((self.shape[1], width)))
        q, _ = np.linalg.qr(y)
        for _ in range(POWER_ITERATIONS):
            z, _ = np.linalg.qr(self._xt_times(q))
            q, _ = np.linalg.qr(self._x_times(z))
        b = self._xt_times(q).T  # (width x terms) = Q.T @ X
        ub, s, vt = np.linalg.svd(b, full_matrices=False)
        u = q @ ub
        return u[:, : self.rank], s[: self.rank], vt[: self.rank]

    # --- use --------------------------------------------------------------------------------

    def fold_in(self, path: str, weights: Mapping[str, float]) -> None:
        """Place a new or changed file by its term weights, without redoing the SVD."""
        vec = self._project(weights)
        i = self.row_of.get(path)
        if i is None:
            self.row_of[path] = len(self.files)
            self.files.append(path)
            self.doc_vectors = np.vstack([self.doc_vectors, vec[None, :]])
        else:
            self.doc_vectors[i] = vec
        self.folded += 1

    def drop(self, path: str) -> None:
        """Forget a removed file (its row stays, zeroed, until the next SVD)."""
        i = self.row_of.pop(path, None)
        if i is not None:
            self.doc_vectors[i] = 0.0
            self.folded += 1

    @property
    def stale(self) -> bool:
        return self.folded > REFIT_SHARE * max(1, len(self.row_of))

    def _project(self, weights: Mapping[str, float]) -> npt.NDArray[np.float64]:
        get = self.term_ids.get
        pairs = [(j, w) for t, w in weights.items() if (j := get(t)) is not None]
        if not pairs or self.rank == 0:
            return np.zeros(self.rank)
        idx = np.fromiter((j for j, _ in pairs), dtype=np.int64, count=len(pairs))
        ws = np.fromiter((w for _, w in pairs), dtype=np.float64, count=len(pairs))
        vec: npt.NDArray[np.float64] = ws @ self.term_vectors[idx]
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else vec

    def scores(self, query: Iterable[str]) -> dict[str, float]:
        """Cosine of the query with each file in the latent space: the best :data:`TOP`.

        The query's words count as often as they occur: their rarity is already in the term
        vectors, which come from idf-weighted columns."""
        if self.rank == 0:
            return {}
        weights: dict[str, float] = {}
        for t in query:
            if t in self.term_ids:
                weights[t] = weights.get(t, 0.0) + 1.0
        q = self._project(weights)
        if not q.any():
            return {}
        sim = self.doc_vectors @ q
        best = np.argsort(-sim)[:TOP]
        by_row = {i: p for p, i in self.row_of.items()}
        return {by_row[int(i)]: float(sim[i]) for i in best if sim[i] > 0 and int(i) in by_row}


def _kept_terms(df_terms: list[tuple[int, str]], n: int) -> list[str]:
    """The terms the SVD uses, sorted: in at least two files and at most MAX_DF_SHARE of
    them, the MAX_TERMS most widespread of those. ``df_terms``: (document frequency, term)."""
    kept = [(df, t) for df, t in df_terms if 2 <= df <= MAX_DF_SHARE * n]
    if len(kept) > MAX_TERMS:
        kept = sorted(kept, key=lambda x: (-x[0], x[1]))[:MAX_TERMS]
    return sorted(t for _df, t in kept)


def _product(order: npt.NDArray[np.int32] | None, out_idx: npt.NDArray[np.int32], in_idx: npt.NDArray[np.int32],
             vals: npt.NDArray[np.float32], m: Matrix, n_out: int) -> Matrix:
    """Sum of ``vals * m[in_idx]`` into rows ``out_idx``, visiting entries in ``order`` (sorted
    by ``out_idx``; None: as they are, already sorted) a chunk at a time, with one segment sum
    per chunk."""
    m = m.astype(np.float32)
    out = np.zeros((n_out, m.shape[1]), dtype=np.float32)
    for a in range(0, len(out_idx), CHUNK):
        sel: npt.NDArray[np.int32] | slice = slice(a, a + CHUNK) if order is None else order[a : a + CHUNK]
        dst = out_idx[sel]
        contrib = vals[sel, None] * m[in_idx[sel]]
        starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
        out[dst[starts]] += np.add.reduceat(contrib, starts, axis=0)
    return out.astype(np.float64)


def _normalized(m: Matrix) -> Matrix:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Matrix = m / norms
    return out
