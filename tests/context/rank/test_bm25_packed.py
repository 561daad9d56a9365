"""Packed BM25 postings score exactly as plain dicts of postings did: the same floats, the
same keys in the same order, through additions, removals and re-weighing."""

from __future__ import annotations

import math
import pickle
import random
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

import pytest

from lsp_server.context.rank.bm25 import BM25

K = TypeVar("K", bound=Hashable)

REWEIGHT_DRIFT = 0.1


class DictBM25(Generic[K]):
    """The implementation before packing (dicts of dicts of floats), the reference."""

    def __init__(self, docs: Mapping[K, Iterable[str]] | None = None, *,
                 k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.lengths: dict[K, int] = {}
        self.postings: dict[str, dict[K, float]] = {}
        self._counts: dict[K, Counter[str]] = {}
        self._total = 0
        self._weighted_avg = 0.0  # the average length the stored weights were computed with
        self._deferred = False  # see :meth:`defer_weights`
        if docs:
            for key, tokens in docs.items():
                counts = Counter(tokens)
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

    def _norm(self, length: int) -> float:
        """The length part of a document's term weights: k1·(1 − b + b·len/avg)."""
        return self.k1 * (1.0 - self.b + self.b * length / (self._weighted_avg or 1.0))

    def _post(self, postings: dict[str, dict[K, float]], key: K, counts: Counter[str], length: int) -> None:
        # tf·(k1+1)/(tf+norm) per posting, so a query only multiplies by idf.
        norm = self._norm(length)
        k1p1 = self.k1 + 1.0
        for term, tf in counts.items():
            slot = postings.get(term)
            if slot is None:
                postings[term] = slot = {}
            slot[key] = tf * k1p1 / (tf + norm)

    def reweight(self) -> None:
        """Recompute every weight with the current average length."""
        self._deferred = False
        self._weighted_avg = self.avg_len
        postings: dict[str, dict[K, float]] = {}
        lengths = self.lengths
        for key, counts in self._counts.items():
            self._post(postings, key, counts, lengths[key])
        self.postings = postings

    def defer_weights(self) -> None:
        """Until the next :meth:`settle`, :meth:`add` only counts: settle weighs every posting
        once, with the final average length (a bulk build, which would otherwise weigh each
        posting twice). Nothing may be scored in between."""
        self._deferred = True

    def add(self, key: K, tokens: Iterable[str]) -> None:
        """Index one document (replacing any document under the same key)."""
        if key in self.lengths:
            self.remove(key)
        counts = Counter(tokens)
        length = sum(counts.values())
        self._counts[key] = counts
        self.lengths[key] = length
        self._total += length
        if self._deferred:
            return
        if not self._weighted_avg:
            self._weighted_avg = self.avg_len
        self._post(self.postings, key, counts, length)

    def remove(self, key: K) -> None:
        """Drop one document; unknown keys are ignored."""
        counts = self._counts.pop(key, None)
        if counts is None:
            return
        self._total -= self.lengths.pop(key)
        for term in counts:
            slot = self.postings.get(term)
            if slot is not None:
                slot.pop(key, None)
                if not slot:
                    del self.postings[term]

    def settle(self) -> None:
        """Recompute weights if the average length drifted since they were computed (or
        were deferred)."""
        if self._deferred:
            self.reweight()
            return
        avg = self.avg_len
        if self._weighted_avg and abs(avg - self._weighted_avg) > REWEIGHT_DRIFT * self._weighted_avg:
            self.reweight()

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

    def doc_weights(self, key: K) -> dict[str, float]:
        """One document's terms with their stored weight times idf (its row of the matrix)."""
        counts = self._counts.get(key)
        if counts is None:
            return {}
        return {t: self.postings[t][key] * self.idf(t) for t in counts}

    def scores(self, query: Iterable[str]) -> dict[K, float]:
        """Each matching document's BM25 score; repeated query tokens count again (as Lucene)."""
        out: dict[K, float] = {}
        get = out.get
        for term, qtf in Counter(query).items():
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = self.idf(term) * qtf
            for key, weight in posting.items():
                out[key] = get(key, 0.0) + idf * weight
        return out


WORDS = [f"w{i}" for i in range(40)]


def doc(rng: random.Random) -> list[str]:
    return [rng.choice(WORDS[: rng.randint(3, 40)]) for _ in range(rng.randint(0, 30))]


def same(packed: BM25[int], ref: DictBM25[int], rng: random.Random) -> None:
    for _ in range(5):
        query = [rng.choice(WORDS) for _ in range(rng.randint(1, 6))] + ["absent"]
        got, want = packed.scores(query), ref.scores(query)
        assert list(got.items()) == list(want.items())  # same floats, same order
    assert {t: list(p.items()) for t, p in packed.postings.items()} == \
        {t: list(p.items()) for t, p in ref.postings.items()}
    for key in list(ref.lengths)[:5]:
        assert packed.doc_weights(key) == ref.doc_weights(key)
        assert packed.counts(key) == dict(ref._counts[key])
    assert packed.n == ref.n and packed.avg_len == ref.avg_len


@pytest.mark.parametrize("seed", range(6))
def test_packed_postings_score_as_dicts_did(seed: int) -> None:
    rng = random.Random(seed)
    packed: BM25[int] = BM25()
    ref: DictBM25[int] = DictBM25()
    bulk = seed % 2 == 0
    if bulk:
        packed.defer_weights()
        ref.defer_weights()
    for key in range(60):
        tokens = doc(rng)
        packed.add(key, tokens)
        ref.add(key, tokens)
    packed.settle()
    ref.settle()
    same(packed, ref, rng)
    for step in range(200):
        key = rng.randrange(80)
        if rng.random() < 0.3:
            packed.remove(key)
            ref.remove(key)
        else:
            tokens = doc(rng)
            packed.add(key, tokens)
            ref.add(key, tokens)
        if step % 17 == 0:
            packed.settle()
            ref.settle()
        if step % 40 == 0:  # what a snapshot on disk holds, read back
            packed = pickle.loads(pickle.dumps(packed))
        if step % 10 == 0:
            same(packed, ref, rng)
    packed.reweight()
    ref.reweight()
    same(packed, ref, rng)
