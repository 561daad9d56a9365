"""The commands: metrics (plain, JSON, chart, compare), feedback, ledger export --csv."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ledger_seed import GROQ, LOCAL, MODELS, SONNET, add

from lsp_server.cli import main
from lsp_server.config import parse_settings
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Usage


@pytest.fixture
def home(_isolated_state: Path) -> Path:
    return _isolated_state


def _seed_today(state: Path | None = None) -> list[str]:
    now = datetime.now(UTC).replace(microsecond=0)
    layer: dict[str, object] = {"models": MODELS}
    if state is not None:
        layer["state_dir"] = str(state)
    with Ledger.open(settings=parse_settings(layer)) as led:  # the default ledger in the state dir
        ids = [
            add(led, now, [(*LOCAL, 150)], "accepted", latency_ms=150, premium=0.01, variant="A"),
            add(led, now, [(*LOCAL, 200), (*SONNET, 900)], "accepted", latency_ms=1100,
                premium=0.05, variant="B"),
            add(led, now, [(*GROQ, 300)], "failed", latency_ms=300, premium=0.01, kind="explain"),
            add(led, now, [], "cache_hit", latency_ms=3, premium=0.02),
            add(led, now - timedelta(days=2), [(*SONNET, 700)], "accepted", latency_ms=700,
                premium=0.05),
        ]
    return ids


def test_metrics_plain_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    _seed_today()
    assert main(["metrics", "--daily"]) == 0
    out = capsys.readouterr().out
    with Ledger.open() as led:
        today = led.today().isoformat()
    assert out.splitlines() == [
        f"Daily Metrics ({today}):",
        "  Total Requests: 4",
        "  Success Rate: 75.0%",
        "  Costs:",
        "    Anthropic:  $0.05 (1 request, 25%)",
        "    Cache:      $0.00 (1 request, 25%)",
        "    Local:      $0.00 (1 request, 25%)",
        "    No model:   $0.00 (1 request, 25%)",
        "    Groq:       $0.0020 (0 requests, 0%)",
        "    Total:      $0.05",
        "  Savings: $0.01 vs all-premium $0.06 (2 accepted answers)",
        "  Avoided Calls: 1 (1 cache, 0 index), estimated $0.02 at premium prices",
        "  Cache Hits: 1",
        "  Escalation Rate: 33.3%",
        "  Performance:",
        "    P50 latency: 150ms",
        "    P95 latency: 1.1s",
        "    P99 latency: 1.1s",
    ]


def test_metrics_json(capsys: pytest.CaptureFixture[str]) -> None:
    _seed_today()
    assert main(["metrics", "--days", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"]["days"] == 3
    assert data["requests"] == 5
    assert data["cost_usd"] == pytest.approx(0.102)
    assert data["premium_cost_usd"] == pytest.approx(0.11)
    assert data["savings_usd"] == pytest.approx(0.01)
    assert data["avoided_calls"]["estimated_value_usd"] == pytest.approx(0.02)
    assert data["cache_hits"] == 1
    assert data["escalation_rate"] == pytest.approx(0.25)
    assert set(data["latency_ms"]) == {"p50", "p95", "p99"}
    assert data["by_provider"]["Anthropic"]["requests"] == 2
    assert data["by_provider"]["Local"] == {"requests": 1, "cost_usd": 0.0, "share": 0.2,
                                           "unpriced_calls": 0, "unknown_cost_calls": 0,
                                           "tool_calls": 0}
    assert data["tool_calls"] == 0
    assert [d["requests"] for d in data["daily"]] == [1, 0, 4]


def test_metrics_days_prints_a_chart(capsys: pytest.CaptureFixture[str]) -> None:
    _seed_today()
    assert main(["metrics", "--days", "3", "--by", "task"]) == 0
    out = capsys.readouterr().out
    assert "  Costs by task:" in out
    chart = out.split("  Spend per day:\n")[1].splitlines()
    assert len(chart) == 3 and "#" in chart[0] and "#" in chart[2]


def test_metrics_since_and_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    _seed_today()
    since = (datetime.now() - timedelta(days=5)).date().isoformat()
    assert main(["metrics", "--since", since, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["requests"] == 5
    with pytest.raises(SystemExit) as exc:
        main(["metrics", "--since", "last-tuesday"])
    assert exc.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_metrics_compare(capsys: pytest.CaptureFixture[str]) -> None:
    _seed_today()
    assert main(["metrics", "--compare", "A", "B"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Variants A vs B (all time):")
    assert "not yet meaningful" in out
    assert main(["metrics", "--compare", "A", "Z"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agentic-optimizer metrics: variant 'Z' has no requests")
    assert len(err.strip().splitlines()) == 1


def test_feedback_command(capsys: pytest.CaptureFixture[str]) -> None:
    ids = _seed_today()
    assert main(["feedback", ids[0], "--rating", "4"]) == 0
    assert f"Request {ids[0]} rated 4/5." in capsys.readouterr().out
    assert main(["feedback", ids[1][:8], "--reject"]) == 0
    assert f"Request {ids[1]} rejected." in capsys.readouterr().out
    with Ledger.open() as led:
        first, second = led.request(ids[0]), led.request(ids[1])
    assert first is not None and first["rating"] == 4
    assert second is not None and second["rejected"] == 1
    assert main(["feedback", "doesnotexist", "--rating", "3"]) == 2
    assert "no request 'doesnotexist'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["feedback", ids[0], "--rating", "9"])
    with pytest.raises(SystemExit):
        main(["feedback", ids[0]])


def test_ledger_export_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _seed_today()
    out_file = tmp_path / "ledger.csv"
    assert main(["ledger", "export", "--csv", "--output", str(out_file)]) == 0
    assert "Wrote 5 requests" in capsys.readouterr().err
    rows = list(csv.DictReader(out_file.open(encoding="utf-8")))
    assert {r["id"] for r in rows} == set(ids)
    escalated = next(r for r in rows if r["id"] == ids[1])
    assert escalated["attempts"] == "2" and escalated["answered_by"] == "Anthropic"
    assert escalated["reasons"] == "short instruction"
    assert escalated["started"].endswith("Z")
    assert main(["ledger", "export", "--csv", "--attempts"]) == 0
    attempts = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(attempts) == 5
    assert {a["label"] for a in attempts} == {"Local", "Anthropic", "Groq"}
    assert main(["ledger", "export", "--csv", "--output", str(tmp_path / "no" / "dir.csv")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_config_and_project_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "elsewhere"
    config = tmp_path / "agentic-optimizer.toml"
    config.write_text(f'state_dir = "{state}"\n')
    _seed_today(state)
    assert main(["metrics", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["requests"] == 4
    assert main(["metrics", "--json", "--project", str(tmp_path)]) == 0  # finds the toml there
    assert json.loads(capsys.readouterr().out)["requests"] == 4
    assert main(["metrics", "--json"]) == 0  # default state dir: empty
    assert json.loads(capsys.readouterr().out)["requests"] == 0


def test_metrics_in_a_real_process(home: Path) -> None:
    _seed_today()
    result = subprocess.run([sys.executable, "-m", "lsp_server", "metrics"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Daily Metrics (")
    assert "Total Requests: 4" in result.stdout


def test_metrics_on_a_terminal_is_a_table(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    _seed_today()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["metrics", "--days", "3"]) == 0
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert "┃ Provider" in out and "Spend per day" in out and "█" in out
    assert "Anthropic" in out and "$0.10" in out


def test_metrics_compare_json(capsys: pytest.CaptureFixture[str]) -> None:
    _seed_today()
    assert main(["metrics", "--compare", "A", "B", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["variants"]["A"]["requests"] == 1 and data["variants"]["B"]["requests"] == 1
    assert all(not t["meaningful"] for t in data["tests"])
    assert {t["test"] for t in data["tests"]} == {"two-proportion z-test", "Mann-Whitney U test"}


def test_unknown_and_estimated_costs_are_shown_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    """An attempt whose billing is unknown (a timeout) is never shown as $0: the report counts
    it as unknown, and the CSV export leaves its cost empty with its cost status beside it."""
    now = datetime.now(UTC).replace(microsecond=0)
    with Ledger.open(settings=parse_settings({"models": MODELS})) as led:
        rid = led.start_request(kind="ask", workspace="/ws", classification="c", reasons=[],
                                higher_tier=False, now=now)
        led.record_attempt(rid, provider="sonnet", model="claude-sonnet-4-5", tier="premium",
                           usage=Usage(), cost_usd=0.0, latency_ms=30_000, confidence=None,
                           error_class="ProviderTimeoutError", cost_status="unknown", now=now)
        led.record_attempt(rid, provider="groq-llama", model="llama-3.3-70b-versatile",
                           tier="free", usage=Usage(input=900, output=80), cost_usd=0.001,
                           latency_ms=800, confidence=0.9, error_class=None,
                           cost_status="estimated", now=now)
        led.finish_request(rid, outcome="accepted", cost_usd=0.001, premium_cost_usd=0.004,
                           latency_ms=31_000, now=now,
                           answered_by=("groq-llama", "llama-3.3-70b-versatile", "free"))
    assert main(["metrics", "--daily"]) == 0
    out = capsys.readouterr().out
    assert "    Anthropic:  $0.00 + 1 unknown (0 requests, 0%)" in out
    assert "    Total:      $0.0010 + 1 unknown" in out
    assert "  Attempt Costs: 0 measured, 1 estimated, 1 unknown" in out
    assert "  Escalation Rate: n/a (no higher tier)" in out
    assert main(["metrics", "--daily", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["unknown_cost_calls"] == 1 and data["unpriced_calls"] == 0
    assert data["attempt_cost_status"] == {"measured": 0, "estimated": 1, "unknown": 1}
    assert main(["metrics", "--days", "1", "--json"]) == 0
    day = json.loads(capsys.readouterr().out)["daily"][-1]
    assert (day["unpriced_calls"], day["unknown_cost_calls"]) == (0, 1)
    assert main(["ledger", "export", "--csv", "--attempts"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["cost_status"], r["cost_usd"]) for r in rows] == [("unknown", ""),
                                                                 ("estimated", "0.001")]
