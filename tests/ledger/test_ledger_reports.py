"""Reports over a seeded ledger: exact plain text (golden), JSON keys, groupings, chart, rich."""

from __future__ import annotations

import io
from datetime import UTC, date, timedelta

import pytest
from ledger_seed import DAY, GROQ, LOCAL, SONNET, add, seed_day
from rich.console import Console

from lsp_server.errors import LedgerError
from lsp_server.ledger import render
from lsp_server.ledger.reports import percentile
from lsp_server.ledger.store import Ledger

GOLDEN_DAILY = """\
Daily Metrics (2025-10-15):
  Total Requests: 14
  Success Rate: 84.6%
  Costs:
    Local:            $0.00 (6 requests, 43%)
    No model:         $0.00 (3 requests, 21%)
    Anthropic:        $0.05 (1 request, 7%)
    Groq:             $0.0040 (1 request, 7%)
    Cache:            $0.00 (1 request, 7%)
    Index:            $0.00 (1 request, 7%)
    llm.example.com:  $0.00 + 1 unpriced (1 request, 7%)
    Total:            $0.05 + 1 unpriced
  Savings: $0.07 vs all-premium $0.12 (8 accepted answers)
  Avoided Calls: 2 (1 cache, 1 index), estimated $0.02 at premium prices
  Cache Hits: 1
  Escalation Rate: 8.3%
  Feedback: 0 rated, 0 rejected by the user; 1 rejected by verification
  Performance:
    P50 latency: 200ms
    P95 latency: 3.0s
    P99 latency: 3.0s
"""


def test_daily_report_golden(ledger: Ledger) -> None:
    seed_day(ledger)
    # traffic on other days stays out of the daily report
    add(ledger, DAY - timedelta(days=1), [(*SONNET, 500)], "accepted", latency_ms=500, premium=0.05)
    add(ledger, DAY + timedelta(days=1), [(*GROQ, 500)], "accepted", latency_ms=500, premium=0.05)
    report = ledger.summary(date(2025, 10, 15), date(2025, 10, 15))
    assert render.render_plain(report) == GOLDEN_DAILY


def test_report_figures(ledger: Ledger) -> None:
    seed_day(ledger)
    r = ledger.summary("2025-10-15", "2025-10-15")
    assert (r.requests, r.successes, r.decided) == (14, 11, 13)
    assert r.cost_usd == pytest.approx(0.054)
    assert r.unpriced == 1
    # savings count only accepted answers priced both ways: not the rejected, failed or
    # cancelled requests, not the unpriced one, and not the cache hit or the index answer
    assert r.premium_cost_usd == pytest.approx(0.06 + 0.01 + 0.05)
    assert r.savings_usd == pytest.approx(0.06 + 0.008 + 0.0)
    assert r.earning_requests == 8
    assert (r.avoided_calls, r.avoided_usd) == (2, pytest.approx(0.02))
    assert (r.rejections, r.verifier_rejections) == (0, 1)
    assert (r.escalations, r.model_requests) == (1, 12)
    assert r.outcomes == {"accepted": 9, "rejected": 1, "failed": 1, "cache_hit": 1, "index": 1,
                          "cancelled": 1}
    assert sum(g.requests for g in r.groups) == r.requests
    assert sum(g.cost_usd for g in r.groups) == pytest.approx(r.cost_usd)


def test_json_has_the_documented_keys(ledger: Ledger) -> None:
    seed_day(ledger)
    data = render.report_json(ledger.summary("2025-10-15", "2025-10-15"))
    documented = {"period", "requests", "success_rate", "cost_usd", "premium_cost_usd",
                  "savings_usd", "cache_hits", "escalation_rate", "latency_ms", "by_provider"}
    assert documented <= set(data)
    assert set(data["latency_ms"]) == {"p50", "p95", "p99"}
    assert data["latency_ms"] == {"p50": 200.0, "p95": 3000.0, "p99": 3000.0}
    assert data["requests"] == 14
    assert data["success_rate"] == pytest.approx(11 / 13, abs=1e-4)
    assert data["cache_hits"] == 1
    local = data["by_provider"]["Local"]
    assert {"requests", "cost_usd", "share"} <= set(local)
    assert local == {"requests": 6, "cost_usd": 0.0, "share": 0.4286, "unpriced_calls": 0,
                     "unknown_cost_calls": 0, "tool_calls": 0}
    assert data["savings_usd"] == pytest.approx(0.068)
    assert data["avoided_calls"] == {"cache_hits": 1, "index_answers": 1,
                                     "estimated_value_usd": 0.02}
    assert data["feedback"]["rejected"] == 0 and data["feedback"]["verifier_rejected"] == 1
    assert data["by_provider"]["llm.example.com"]["unpriced_calls"] == 1


@pytest.mark.parametrize("by,expected", [
    ("model", {"qwen2.5-coder:7b": 6, "claude-sonnet-4-5": 1, "llama-3.3-70b-versatile": 1,
               "mystery-1": 1, "Cache": 1, "Index": 1, "No model": 3}),
    ("task", {"edit": 3, "explain": 2}),
    ("variant", {"A": 2, "B": 1, "(none)": 2}),
])
def test_group_by(ledger: Ledger, by: str, expected: dict[str, int]) -> None:
    if by == "model":
        seed_day(ledger)
    else:
        add(ledger, DAY, [(*SONNET, 100)], "accepted", latency_ms=100, kind="edit", variant="A")
        add(ledger, DAY, [(*GROQ, 100)], "accepted", latency_ms=100, kind="edit", variant="A")
        add(ledger, DAY, [(*LOCAL, 100)], "accepted", latency_ms=100, kind="edit", variant="B")
        add(ledger, DAY, [(*SONNET, 100)], "accepted", latency_ms=100, kind="explain")
        add(ledger, DAY, [], "cache_hit", latency_ms=1, kind="explain")
    r = ledger.summary(DAY.date(), DAY.date(), by=by)
    assert {g.name: g.requests for g in r.groups} == expected
    assert sum(g.cost_usd for g in r.groups) == pytest.approx(r.cost_usd)
    data = render.report_json(r)
    if by != "provider":
        assert set(data[f"by_{by}"]) == set(expected)
    if by == "task":
        costs = {g.name: g.cost_usd for g in r.groups}
        assert costs == pytest.approx({"edit": 0.052, "explain": 0.05})


def test_bad_dimension_and_period(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="cannot group by"):
        ledger.summary(DAY.date(), DAY.date(), by="colour")
    with pytest.raises(LedgerError, match="ends before it starts"):
        ledger.summary("2025-10-15", "2025-10-01")
    with pytest.raises(LedgerError, match="not a date"):
        ledger.summary("yesterday")


def test_days_chart(ledger: Ledger) -> None:
    add(ledger, DAY - timedelta(days=2), [(*SONNET, 100)], "accepted", latency_ms=100)
    add(ledger, DAY, [(*SONNET, 100)], "accepted", latency_ms=100)
    add(ledger, DAY, [(*SONNET, 100)], "accepted", latency_ms=100)
    r = ledger.summary(DAY.date() - timedelta(days=2), DAY.date())
    assert [(d.day.isoformat(), d.requests) for d in r.days] == [
        ("2025-10-13", 1), ("2025-10-14", 0), ("2025-10-15", 2)]
    text = render.render_plain(r, chart=True)
    chart = text.split("  Spend per day:\n")[1].splitlines()
    assert chart[0].split() == ["2025-10-13", "$0.05", "#" * 15, "1", "request"]
    assert chart[1].split() == ["2025-10-14", "$0.00", "0", "requests"]
    assert chart[2].split() == ["2025-10-15", "$0.10", "#" * 30, "2", "requests"]
    assert text.startswith("Metrics (2025-10-13 to 2025-10-15, 3 days):\n")


def test_rich_rendering_shows_the_figures(ledger: Ledger) -> None:
    seed_day(ledger)
    console = Console(file=io.StringIO(), width=120, color_system=None)
    render.render_rich(ledger.summary("2025-10-15", "2025-10-15"), console, chart=True)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    for text in ("Daily Metrics (2025-10-15)", "84.6%", "Local", "Groq", "$0.0040",
                 "$0.05 + 1 unpriced", "200ms / 3.0s / 3.0s", "Spend per day", "█"):
        assert text in out


def test_empty_period(ledger: Ledger) -> None:
    r = ledger.summary("2025-10-15", "2025-10-15")
    assert r.requests == 0 and r.success_rate is None and r.latency_p50 is None
    assert "Success Rate: n/a" in render.render_plain(r)


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_money_formatting_never_hides_small_amounts() -> None:
    assert render.money(0) == "$0.00"
    assert render.money(0.0042) == "$0.0042"
    assert render.money(12.345) == "$12.35"
    assert render.duration(180) == "180ms"
    assert render.duration(2100) == "2.1s"


def test_day_boundary_follows_the_ledger_time_zone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    tokyo = timezone(timedelta(hours=9))
    with Ledger.open(tmp_path / "tz.sqlite3", tz=tokyo) as led:
        # 20:00 UTC on the 14th is 05:00 on the 15th in UTC+9
        led.start_request(kind="edit", workspace="/w", classification="c", reasons=[],
                          now=datetime(2025, 10, 14, 20, 0, tzinfo=UTC))
        assert led.summary("2025-10-15", "2025-10-15").requests == 1
        assert led.summary("2025-10-14", "2025-10-14").requests == 0


def test_day_totals_agree_with_the_report(ledger: Ledger) -> None:
    seed_day(ledger)
    report = ledger.summary(DAY.date(), DAY.date())
    totals = ledger.day_totals(DAY.date())
    assert totals["requests"] == report.requests
    assert totals["spent_usd"] == pytest.approx(report.cost_usd)
    assert totals["unpriced_calls"] == report.unpriced
    assert totals["premium_usd"] == pytest.approx(report.premium_cost_usd)
    assert totals["saved_usd"] == pytest.approx(report.savings_usd)
    assert ledger.day_totals(DAY.date() + timedelta(days=1))["requests"] == 0
