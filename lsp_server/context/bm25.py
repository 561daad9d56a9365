"""Okapi BM25 over any keyed collection of token lists.

Used twice: over definitions (name, qualified name, signature and body) to find the code a
request talks about, and over whole files (path + text) as the lexical baseline the benchmark
compares against. Standard parameters (k1 = 1.2, b = 0.75) and the non-negative idf of Lucene.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class BM25(Generic[K]):
    """An inverted index; :meth:`scores` ranks documents for a bag of query tokens."""

    def __init__(self, docs: Mapping[K, Iterable[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        counted = {key: Counter(tokens) for key, tokens in docs.items()}
        self.lengths: dict[K, int] = {key: sum(c.values()) for key, c in counted.items()}
        self.n = len(self.lengths)
        self.avg_len = (sum(self.lengths.values()) / self.n) if self.n else 0.0
        # Each posting holds the document's term weight tf·(k1+1)/(tf+k1·(1-b+b·len/avg)),
        # so a query only multiplies by idf and adds.
        self.postings: dict[str, list[tuple[K, float]]] = {}
        avg = self.avg_len or 1.0
        for key, counts in counted.items():
            norm = k1 * (1.0 - b + b * self.lengths[key] / avg)
            for term, tf in counts.items():
                self.postings.setdefault(term, []).append((key, tf * (k1 + 1.0) / (tf + norm)))

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

    def scores(self, query: Iterable[str]) -> dict[K, float]:
        """Each matching document's BM25 score; repeated query tokens count again (as Lucene)."""
        out: dict[K, float] = {}
        get = out.get
        for term, qtf in Counter(query).items():
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = self.idf(term) * qtf
            for key, weight in posting:
                out[key] = get(key, 0.0) + idf * weight
        return out
