"""A/B variant assignment: deterministic per key, shares follow the weights."""

from __future__ import annotations

from collections import Counter

import pytest

from lsp_server.config import VariantSettings
from lsp_server.ledger.variants import assign_variant, bucket

A = VariantSettings(name="A", weight=1.0, escalate_below=0.8)
B = VariantSettings(name="B", weight=3.0, prompt_style="terse")


def test_no_variants_means_none() -> None:
    assert assign_variant("anything", ()) is None


def test_same_key_same_variant() -> None:
    first = [assign_variant(f"req-{i}", (A, B)) for i in range(200)]
    again = [assign_variant(f"req-{i}", (A, B)) for i in range(200)]
    assert first == again
    assert {v.name for v in first if v is not None} == {"A", "B"}


def test_shares_follow_weights() -> None:
    counts = Counter(assign_variant(f"key-{i}", (A, B)).name for i in range(20_000))  # type: ignore[union-attr]
    assert counts["A"] / 20_000 == pytest.approx(0.25, abs=0.02)
    assert counts["B"] / 20_000 == pytest.approx(0.75, abs=0.02)


def test_single_variant_takes_everything() -> None:
    assert all(assign_variant(str(i), (B,)) == B for i in range(50))


def test_bucket_is_in_unit_interval_and_stable() -> None:
    values = [bucket(str(i)) for i in range(1000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert bucket("x") == bucket("x") != bucket("y")
