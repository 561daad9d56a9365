"""A/B variants: each request is assigned to a named variant, deterministically and by weight.

The same key always lands in the same variant (a SHA-256 of the key read as a number in [0, 1)),
so a retried request or a second editor window agrees on the assignment, and the shares follow the
configured weights however many requests there are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from lsp_server.config import VariantSettings


def bucket(key: str) -> float:
    """A stable, uniformly spread number in [0, 1) for ``key``."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_variant(key: str, variants: Sequence[VariantSettings]) -> VariantSettings | None:
    """The variant for ``key`` (None when no variants are configured), chosen by weight."""
    if not variants:
        return None
    total = sum(v.weight for v in variants)
    point = bucket(key) * total
    running = 0.0
    for variant in variants:
        running += variant.weight
        if point < running:
            return variant
    return variants[-1]
