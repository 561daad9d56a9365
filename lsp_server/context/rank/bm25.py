"""Okapi BM25 over any keyed collection of token lists, updatable one document at a time.

Used over definitions (name, qualified name, signature and body) to find the code a request
talks about, and over whole files (path + text) as the lexical baseline the benchmark
compares against. Standard parameters (k1 = 1.2, b = 0.75) and the non-negative idf of Lucene.

Each posting holds the document's precomputed term weight, which depends on the average
document length. When documents are added or removed (an editor buffer changed), weights
keep the average they were computed with until it drifts by more than ``REWEIGHT_DRIFT``;
then every weight is recomputed. Document frequencies and counts are always exact. A bulk
build (the ranking tables' first) defers the weights to its end and weighs each posting once.

Storage: every (re)weighing packs the postings into arrays (a term's documents, weights and
counts side by side, and each document's terms), a few bytes a posting where a dict of dicts
of Python floats cost about a hundred: on sympy the passages' postings went from about 170 MB
to under 30 MB, and arrays load from a snapshot at the speed of a file read. Documents added
after the packing are held in dicts on top (an editor's changes), and a removed packed
document is masked out, until the next weighing packs everything again. Scores are summed in
the same order as over plain dicts, so they are the same floats, in the same key order.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

K = TypeVar("K", bound=Hashable)

REWEIGHT_DRIFT = 0.1

_I32 = npt.NDArray[np.int32]
_F64 = npt.NDArray[np.float64]


def _empty_i32() -> _I32:
    return np.zeros(0, dtype=np.int32)


class _Packed(Generic[K]):
    """Documents and postings as arrays, weighed with one average length (read only but
    for the mask of removed documents)."""

    def __init__(self) -> None:
        self.keys: list[K] = []
        self.slot: dict[K, int] = {}
        self.terms: list[str] = []
        self.term_id: dict[str, int] = {}
        # per term: [t_start[t], t_start[t+1]) indexes t_docs / t_weights
        self.t_start: npt.NDArray[np.int64] = np.zeros(1, dtype=np.int64)
        self.t_docs: _I32 = _empty_i32()
        self.t_weights: _F64 = np.zeros(0)
        # per document: its terms (first occurrence order) and their counts
        self.d_start: npt.NDArray[np.int64] = np.zeros(1, dtype=np.int64)
        self.d_terms: _I32 = _empty_i32()
        self.d_tf: _I32 = _empty_i32()
        self.dead: npt.NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)
        self.dead_df: _I32 = _empty_i32()  # removed documents per term
        self.n_dead = 0

    def df(self, term: str) -> int:
        t = self.term_id.get(term)
        if t is None:
            return 0
        return int(self.t_start[t + 1] - self.t_start[t]) - int(self.dead_df[t])

    def counts(self, slot: int) -> dict[str, int]:
        a, b = int(self.d_start[slot]), int(self.d_start[slot + 1])
        terms = self.terms
        return {terms[t]: tf for t, tf in zip(self.d_terms[a:b].tolist(), self.d_tf[a:b].tolist(), strict=True)}

    def posting(self, term: str) -> tuple[_I32, _F64]:
        """The live documents of ``term`` (slots, in packing order) and their weights."""
        t = self.term_id.get(term)
        if t is None:
            return _empty_i32(), np.zeros(0)
        a, b = int(self.t_start[t]), int(self.t_start[t + 1])
        docs, weights = self.t_docs[a:b], self.t_weights[a:b]
        if self.n_dead and self.dead_df[t]:
            live = ~self.dead[docs]
            docs, weights = docs[live], weights[live]
        return docs, weights

    def kill(self, slot: int) -> None:
        self.dead[slot] = True
        self.n_dead += 1
        a, b = int(self.d_start[slot]), int(self.d_start[slot + 1])
        np.add.at(self.dead_df, self.d_terms[a:b], 1)
        del self.slot[self.keys[slot]]


class _Stream(Generic[K]):
    """Documents of a bulk build, counted straight into the arrays :meth:`BM25.reweight`
    packs: term ids in order of first occurrence, each document's terms and counts. A dict
    of counts per document until the end cost more than the packed postings themselves
    (about 50 MB on sympy, all of it garbage once packed)."""

    def __init__(self) -> None:
        self.keys: list[K] = []
        self.terms: list[str] = []
        self.term_id: dict[str, int] = {}
        self.d_terms = array("i")
        self.d_tf = array("i")
        self.d_start = array("q", [0])

    def add(self, key: K, counts: dict[str, int]) -> None:
        term_id = self.term_id
        terms = self.terms
        d_terms = self.d_terms
        for term, tf in counts.items():
            t = term_id.get(term)
            if t is None:
                t = term_id[term] = len(terms)
                terms.append(term)
            d_terms.append(t)
            self.d_tf.append(tf)
        self.d_start.append(len(d_terms))
        self.keys.append(key)

    def counts(self) -> Iterator[tuple[K, dict[str, int]]]:
        terms = self.terms
        d_terms, d_tf, d_start = self.d_terms, self.d_tf, self.d_start
        for i, key in enumerate(self.keys):
            a, b = d_start[i], d_start[i + 1]
            yield key, {terms[t]: tf for t, tf in zip(d_terms[a:b], d_tf[a:b], strict=True)}


class BM25(Generic[K]):
    """An inverted index; :meth:`scores` ranks documents for a bag of query tokens."""

    def __init__(self, docs: Mapping[K, Iterable[str]] | None = None, *,
                 k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.lengths: dict[K, int] = {}
        self._packed: _Packed[K] = _Packed()
        # Documents added since the last packing, and their postings (dicts, as they come).
        self._counts: dict[K, dict[str, int]] = {}
        self._extra: dict[str, dict[K, float]] = {}
        self._total = 0
        self._weighted_avg = 0.0  # the average length the stored weights were computed with
        self._deferred = False  # see :meth:`defer_weights`
        self._stream: _Stream[K] | None = None  # a bulk build's documents, counted into arrays
        if docs:
            for key, tokens in docs.items():
                counts = dict(Counter(tokens))
                self._counts[key] = counts
                length = sum(counts.values())
                self.lengths[key] = length
                self._total += length
            self.reweight()

    @property
    def n(self) -> int:
        return len(self.lengths)

    @property
    def avg_len(self) -> float:
        return self._total / len(self.lengths) if self.lengths else 0.0

    @property
    def postings(self) -> Postings[K]:
        """Term → {document: weight}, in posting order (a read-only view)."""
        return Postings(self)

    def _norm(self, length: int) -> float:
        """The length part of a document's term weights: k1·(1 − b + b·len/avg)."""
        return self.k1 * (1.0 - self.b + self.b * length / (self._weighted_avg or 1.0))

    def _post(self, key: K, counts: dict[str, int], length: int) -> None:
        # tf·(k1+1)/(tf+norm) per posting, so a query only multiplies by idf.
        norm = self._norm(length)
        k1p1 = self.k1 + 1.0
        extra = self._extra
        for term, tf in counts.items():
            slot = extra.get(term)
            if slot is None:
                extra[term] = slot = {}
            slot[key] = tf * k1p1 / (tf + norm)

    def counts(self, key: K) -> dict[str, int]:
        """One document's term counts (empty for an unknown key)."""
        self._unstream()
        counts = self._counts.get(key)
        if counts is not None:
            return dict(counts)
        slot = self._packed.slot.get(key)
        return self._packed.counts(slot) if slot is not None else {}

    def reweight(self) -> None:
        """Recompute every weight with the current average length: pack every document
        (the packed ones still live, then those added since, in their order) into arrays."""
        self._deferred = False
        self._weighted_avg = self.avg_len
        old = self._packed
        stream, self._stream = self._stream, None
        todo: list[K] = []  # documents still to pack here
        if stream is not None:  # a bulk build: counted into these arrays as it went
            keys: list[K] = stream.keys
            term_id, terms = stream.term_id, stream.terms
            d_terms, d_tf, d_start = stream.d_terms, stream.d_tf, stream.d_start
            d_len = array("q", [self.lengths[k] for k in keys])
            del stream
        else:
            keys = todo = [k for k in old.keys if k in old.slot] + list(self._counts)
            term_id = {}
            terms = []
            d_terms = array("i")
            d_tf = array("i")
            d_len = array("q")
            d_start = array("q", [0])
        old_terms = old.terms
        for key in todo:
            counts = self._counts.get(key)
            if counts is None:  # a packed document: its terms by the old packing's ids
                s = old.slot[key]
                a, b = int(old.d_start[s]), int(old.d_start[s + 1])
                pairs: Iterable[tuple[str, int]] = zip(
                    [old_terms[t] for t in old.d_terms[a:b].tolist()], old.d_tf[a:b].tolist(), strict=True)
            else:
                pairs = counts.items()
            for term, tf in pairs:
                t = term_id.get(term)
                if t is None:
                    t = term_id[term] = len(terms)
                    terms.append(term)
                d_terms.append(t)
                d_tf.append(tf)
            d_start.append(len(d_terms))
            d_len.append(self.lengths[key])
        packed: _Packed[K] = _Packed()
        packed.keys = keys
        packed.slot = {k: i for i, k in enumerate(keys)}
        packed.terms = terms
        packed.term_id = term_id
        packed.d_start = np.frombuffer(d_start, dtype=np.int64).copy()
        packed.d_terms = np.frombuffer(d_terms, dtype=np.int32).copy()
        packed.d_tf = np.frombuffer(d_tf, dtype=np.int32).copy()
        del d_terms, d_tf
        lengths = np.frombuffer(d_len, dtype=np.int64).astype(np.float64)
        # The same operations, in the same order, as _norm and _post: the same floats.
        norm = self.k1 * ((1.0 - self.b) + self.b * lengths / (self._weighted_avg or 1.0))
        doc_of = np.repeat(np.arange(len(keys), dtype=np.int32), np.diff(packed.d_start))
        order = np.argsort(packed.d_terms, kind="stable")  # by term, documents in packing order
        tfs = packed.d_tf[order].astype(np.float64)
        packed.t_docs = doc_of[order]
        packed.t_weights = tfs * (self.k1 + 1.0) / (tfs + norm[packed.t_docs])
        packed.t_start = np.concatenate(
            ([0], np.cumsum(np.bincount(packed.d_terms, minlength=len(terms))))).astype(np.int64)
        packed.dead = np.zeros(len(keys), dtype=np.bool_)
        packed.dead_df = np.zeros(len(terms), dtype=np.int32)
        self._packed = packed
        self._counts = {}
        self._extra = {}

    def defer_weights(self) -> None:
        """Until the next :meth:`settle`, :meth:`add` only counts: settle weighs every posting
        once, with the final average length (a bulk build, which would otherwise weigh each
        posting twice). Nothing may be scored in between."""
        self._deferred = True

    def add(self, key: K, tokens: Iterable[str]) -> None:
        """Index one document (replacing any document under the same key)."""
        if key in self.lengths:
            self.remove(key)
        counts = dict(Counter(tokens))
        length = sum(counts.values())
        self.lengths[key] = length
        self._total += length
        if self._stream is not None:
            self._stream.add(key, counts)
            return
        self._counts[key] = counts
        if self._deferred:
            return
        if not self._weighted_avg:
            self._weighted_avg = self.avg_len
        self._post(key, counts, length)

    def remove(self, key: K) -> None:
        """Drop one document; unknown keys are ignored."""
        self._unstream()
        counts = self._counts.pop(key, None)
        if counts is None:
            slot = self._packed.slot.get(key)
            if slot is None:
                return
            self._packed.kill(slot)
        else:
            for term in counts:
                posting = self._extra.get(term)
                if posting is not None:
                    posting.pop(key, None)
                    if not posting:
                        del self._extra[term]
        self._total -= self.lengths.pop(key)

    def _unstream(self) -> None:
        """A bulk build's documents as per-document counts (a removal or a read in the
        middle of the build: rare enough to pay for)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            self._counts.update(stream.counts())

    def settle(self) -> None:
        """Recompute weights if the average length drifted since they were computed (or
        were deferred)."""
        if self._deferred:
            self.reweight()
            return
        avg = self.avg_len
        if self._weighted_avg and abs(avg - self._weighted_avg) > REWEIGHT_DRIFT * self._weighted_avg:
            self.reweight()

    def df(self, term: str) -> int:
        """How many documents hold ``term``."""
        return self._packed.df(term) + len(self._extra.get(term, ()))

    def idf(self, term: str) -> float:
        df = self.df(term)
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

    def posting(self, term: str) -> dict[K, float]:
        """The documents holding ``term`` and their stored weights, in posting order."""
        packed = self._packed
        docs, weights = packed.posting(term)
        keys = packed.keys
        out = {keys[d]: w for d, w in zip(docs.tolist(), weights.tolist(), strict=True)}
        out.update(self._extra.get(term, {}))
        return out

    def terms(self) -> Iterator[str]:
        """Every term some document holds."""
        packed = self._packed
        for term in packed.terms:
            if self.df(term):
                yield term
        for term in self._extra:
            if term not in packed.term_id:
                yield term

    def columns(self) -> tuple[list[K], list[str], npt.NDArray[np.int64], _I32, _F64] | None:
        """The packed postings by term, as they are: (document keys, terms, each term's start,
        documents as indexes into the keys, weights); None unless every document is packed
        and live (right after a weighing), when they are exactly :attr:`postings`."""
        packed = self._packed
        if self._deferred or self._stream is not None or self._counts or self._extra or packed.n_dead:
            return None
        return packed.keys, packed.terms, packed.t_start, packed.t_docs, packed.t_weights

    def doc_weights(self, key: K) -> dict[str, float]:
        """One document's terms with their stored weight times idf (its row of the matrix)."""
        self._unstream()
        counts = self._counts.get(key)
        if counts is not None:
            extra = self._extra
            return {t: extra[t][key] * self.idf(t) for t in counts}
        slot = self._packed.slot.get(key)
        if slot is None:
            return {}
        norm = self._norm(self.lengths[key])
        k1p1 = self.k1 + 1.0
        return {t: tf * k1p1 / (tf + norm) * self.idf(t) for t, tf in self._packed.counts(slot).items()}

    def scores(self, query: Iterable[str]) -> dict[K, float]:
        """Each matching document's BM25 score; repeated query tokens count again (as Lucene).

        Documents appear in the order their first matching term lists them, as a sum over
        dict postings would give (rank ties are broken by this order downstream)."""
        packed = self._packed
        n_packed = len(packed.keys)
        sums = np.zeros(n_packed)
        seen = np.zeros(n_packed, dtype=np.bool_)
        order: list[_I32 | list[K]] = []
        out_extra: dict[K, float] = {}
        get = out_extra.get
        for term, qtf in Counter(query).items():
            idf = self.idf(term) * qtf
            docs, weights = packed.posting(term)
            if len(docs):
                sums[docs] += idf * weights
                fresh = docs[~seen[docs]]
                if len(fresh):
                    seen[fresh] = True
                    order.append(fresh)
            posting = self._extra.get(term)
            if posting:
                new: list[K] = []
                for key, weight in posting.items():
                    before = get(key)
                    if before is None:
                        new.append(key)
                        out_extra[key] = idf * weight
                    else:
                        out_extra[key] = before + idf * weight
                order.append(new)
        out: dict[K, float] = {}
        keys = packed.keys
        for part in order:
            if isinstance(part, list):
                for key in part:
                    out[key] = out_extra[key]
            else:
                for slot, score in zip(part.tolist(), sums[part].tolist(), strict=True):
                    out[keys[slot]] = score
        return out


class Postings(Mapping[str, dict[K, float]], Generic[K]):
    """A read-only view of a :class:`BM25`'s postings: term → {document: weight}."""

    def __init__(self, bm: BM25[K]) -> None:
        self._bm = bm

    def __getitem__(self, term: str) -> dict[K, float]:
        out = self._bm.posting(term)
        if not out:
            raise KeyError(term)
        return out

    def __iter__(self) -> Iterator[str]:
        return self._bm.terms()

    def __len__(self) -> int:
        return sum(1 for _ in self._bm.terms())
