"""Reciprocal rank fusion under explicit weights (what bench/fusion_oracle.py varies)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lsp_server.context.rank.ranking import FUSION, RRF_K, Signals, fused_scores


def _signals() -> Signals:
    sig = Signals()
    sig.mention_file.update({"src/a.rs": 2.0, "src/b.rs": 1.0})
    sig.file_lex = {"src/b.rs": 9.0, "src/c.rs": 3.0}
    sig.walk = {"src/c.rs": 0.5, "src/a.rs": 0.1}
    sig.latent = {"tests/t.rs": 0.9}
    return sig


def test_shipped_weights_sum_each_lists_reciprocal_ranks() -> None:
    fused = fused_scores(_signals())
    first, second = 1.0 / (RRF_K + 1), 1.0 / (RRF_K + 2)
    assert fused["src/a.rs"] == pytest.approx(FUSION.mentions * first + FUSION.walk * second)
    assert fused["src/b.rs"] == pytest.approx(FUSION.mentions * second + FUSION.file_text * first)
    assert fused["src/c.rs"] == pytest.approx(FUSION.file_text * second + FUSION.walk * first)
    # a test file nobody named is scaled down
    assert fused["tests/t.rs"] == pytest.approx(FUSION.latent * first * FUSION.peripheral)


def test_a_list_weighted_zero_contributes_nothing() -> None:
    only_walk = replace(FUSION, mentions=0.0, definitions=0.0, file_text=0.0, latent=0.0)
    fused = fused_scores(_signals(), only_walk)
    assert set(fused) == {"src/a.rs", "src/c.rs"}
    assert max(fused, key=fused.__getitem__) == "src/c.rs"


def test_a_named_peripheral_file_is_not_scaled() -> None:
    sig = _signals()
    sig.explicit.add("tests/t.rs")
    fused = fused_scores(sig, replace(FUSION, peripheral=0.1))
    assert fused["tests/t.rs"] == pytest.approx(FUSION.latent / (RRF_K + 1))


def test_raise_sites_count_as_first_places() -> None:
    sig = Signals()
    sig.raise_site = {"src/x.rs": 1.0}
    fused = fused_scores(sig, replace(FUSION, raise_site=3.0))
    assert fused["src/x.rs"] == pytest.approx(3.0 / (RRF_K + 1))


def test_a_small_rank_constant_trusts_each_lists_first_place() -> None:
    # a.rs is first in one list; b.rs is third in two. Agreement wins at the shipped k,
    # the single first place once k is small: 1/(k+1) > 2/(k+3) for k < 1.
    sig = Signals()
    sig.file_lex = {"src/a.rs": 9.0, "src/x.rs": 7.0, "src/b.rs": 5.0}
    sig.walk = {"src/y.rs": 0.9, "src/z.rs": 0.7, "src/b.rs": 0.5}
    even = replace(FUSION, file_text=1.0, walk=1.0)
    shipped = fused_scores(sig, even)
    assert shipped["src/b.rs"] > shipped["src/a.rs"]
    sharp = fused_scores(sig, replace(even, rank_constant=0.5))
    assert sharp["src/a.rs"] == pytest.approx(1 / 1.5)
    assert sharp["src/b.rs"] == pytest.approx(2 / 3.5)
    assert sharp["src/a.rs"] > sharp["src/b.rs"]
