"""`metrics --compare`: side-by-side figures and honest significance verdicts."""

from __future__ import annotations

import math

import pytest
from ledger_seed import DAY, GROQ, LOCAL, SONNET, add

from lsp_server.errors import LedgerError
from lsp_server.ledger import render
from lsp_server.ledger.stats import mann_whitney_p, two_proportion_p
from lsp_server.ledger.store import Ledger


def test_two_proportion_z_test_textbook_value() -> None:
    # 45/100 vs 30/100: pooled 0.375, z = 0.15 / sqrt(0.375 * 0.625 * 0.02) = 2.1909
    p = two_proportion_p(45, 100, 30, 100)
    assert p == pytest.approx(math.erfc(2.1909 / math.sqrt(2)), rel=1e-3)
    assert p == pytest.approx(0.02846, abs=1e-4)
    assert two_proportion_p(3, 4, 1, 4) is None  # too few for the approximation
    assert two_proportion_p(50, 100, 50, 100) == pytest.approx(1.0)


def test_mann_whitney_separated_and_identical_samples() -> None:
    x = [float(v) for v in range(1, 11)]
    y = [float(v) for v in range(11, 21)]
    # U = 0, mean 50, variance 100 * 21 / 12 = 175; continuity-corrected z = 49.5 / sqrt(175)
    assert mann_whitney_p(x, y) == pytest.approx(math.erfc(49.5 / math.sqrt(175) / math.sqrt(2)))
    assert mann_whitney_p(y, x) == pytest.approx(mann_whitney_p(x, y))
    assert mann_whitney_p(x, x) == pytest.approx(1.0)
    assert mann_whitney_p([1.0] * 12, [1.0] * 12) == 1.0  # all tied
    assert mann_whitney_p(x[:5], y) is None


def test_mann_whitney_with_ties_is_corrected() -> None:
    x = [1.0] * 10 + [2.0] * 10
    y = [2.0] * 10 + [3.0] * 10
    p = mann_whitney_p(x, y)
    assert p is not None and p < 0.001


def test_small_samples_are_not_yet_meaningful(ledger: Ledger) -> None:
    for i in range(4):
        add(ledger, DAY, [(*LOCAL, 100 + i)], "accepted", latency_ms=100 + i, variant="A")
        add(ledger, DAY, [(*SONNET, 900 + i)], "accepted", latency_ms=900 + i, variant="B")
    cmp = ledger.compare("A", "B")
    assert (cmp.a.requests, cmp.b.requests) == (4, 4)
    assert all(not t.meaningful for t in cmp.tests)
    text = render.render_comparison_plain(cmp)
    assert "Variants A vs B (all time):" in text
    assert "Success rate: not yet meaningful: too few decided requests" in text
    assert "two-proportion z-test" in text and "Mann-Whitney U test" in text


def test_clear_differences_are_called(ledger: Ledger) -> None:
    for i in range(40):
        add(ledger, DAY, [(*LOCAL, 100 + i)], "accepted" if i % 10 else "failed",
            latency_ms=100 + i, variant="A")
        add(ledger, DAY, [(*SONNET, 900 + i)], "accepted", latency_ms=900 + i, variant="B")
    for rid_variant in ("A", "B"):
        for _ in range(2):
            rid = add(ledger, DAY, [(*GROQ, 50)], "accepted", latency_ms=50, variant=rid_variant)
            ledger.feedback(rid, rating=5 if rid_variant == "A" else 2)
    cmp = ledger.compare("A", "B", DAY.date(), DAY.date())
    verdict = {t.metric: t for t in cmp.tests}
    assert verdict["Cost per request"].meaningful
    assert "A costs less than B" in verdict["Cost per request"].note
    assert verdict["Latency"].meaningful and "A is faster than B" in verdict["Latency"].note
    assert not verdict["Rating"].meaningful  # only 2 ratings each
    assert "too few ratings" in verdict["Rating"].note
    # 38/42 vs 42/42 successes (4 failures in A)
    assert (cmp.a.successes, cmp.a.decided, cmp.b.successes, cmp.b.decided) == (38, 42, 42, 42)
    data = render.comparison_json(cmp)
    assert set(data["variants"]) == {"A", "B"}
    assert data["variants"]["A"]["requests"] == 42
    assert {t["metric"] for t in data["tests"]} == {"Success rate", "Cost per request", "Latency", "Rating"}
    text = render.render_comparison_plain(cmp)
    assert "Variants A vs B (2025-10-15 to 2025-10-15):" in text
    assert "90.5% (38/42)" in text and "100.0% (42/42)" in text


def test_unknown_variant_names_the_known_ones(ledger: Ledger) -> None:
    add(ledger, DAY, [(*LOCAL, 10)], "accepted", latency_ms=10, variant="A")
    with pytest.raises(LedgerError, match=r"variant 'C' has no requests.*variants in the ledger: A"):
        ledger.compare("A", "C")
    with pytest.raises(LedgerError, match="two different"):
        ledger.compare("A", "A")
