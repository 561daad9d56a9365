"""Embedding models for the Ollama stand-in's ``/api/embed`` that tests can reason about.

A real embedding model puts texts that mean the same thing close together. These put each
text on one axis per concept (a set of words that "mean" the same), so a test can say which
file a question should find by meaning and check that it does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

Embedder = Callable[[str], list[float]]


def concept_embedder(concepts: Iterable[Iterable[str]]) -> Embedder:
    """An embedder whose vector counts, per concept, the words of the text in that concept
    (identifiers split at underscores), plus a small constant so no vector is zero."""
    groups = [frozenset(group) for group in concepts]

    def embed(text: str) -> list[float]:
        parts = [p for w in re.findall(r"[A-Za-z]+", text.lower()) for p in w.split("_")]
        return [*(float(sum(p in group for p in parts)) for group in groups), 0.1]

    return embed
