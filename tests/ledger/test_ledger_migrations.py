"""Opening a ledger written by an older version migrates it in place and keeps every row."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date
from pathlib import Path

import pytest

from lsp_server.ledger.schema import LATEST, MIGRATIONS, migrate
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Usage

# The schema as version 1 wrote it, frozen here on purpose: if a later edit changed migration 1
# instead of adding a new one, this test would still exercise what real old files contain.
V1_SCHEMA = """
CREATE TABLE requests (
    id TEXT PRIMARY KEY, ts REAL NOT NULL, day TEXT NOT NULL, workspace TEXT NOT NULL,
    kind TEXT NOT NULL, classification TEXT NOT NULL, reasons TEXT NOT NULL DEFAULT '[]',
    variant TEXT, outcome TEXT, finished_ts REAL, cost_usd REAL, premium_cost_usd REAL,
    latency_ms REAL, rating INTEGER, rejected INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE attempts (
    request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    ts REAL NOT NULL, day TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
    tier TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL, cost_usd REAL,
    latency_ms REAL NOT NULL, confidence REAL, error_class TEXT, reasons TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (request_id, seq)
);
CREATE INDEX requests_day ON requests(day);
PRAGMA user_version = 1;
"""
TS = 1760518800.0  # 2025-10-15 09:00 UTC


def _write_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.executemany(
        "INSERT INTO requests (id, ts, day, workspace, kind, classification, reasons, variant, "
        "outcome, finished_ts, cost_usd, premium_cost_usd, latency_ms, rating, rejected) "
        "VALUES (?, ?, '2025-10-15', '/ws', 'edit', 'simple', '[\"r\"]', ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ("r1", TS, "A", "accepted", TS + 1, 0.03, 0.03, 1000.0, 5, 0),
            ("r2", TS + 60, None, "failed", TS + 62, 0.0, 0.02, 2000.0, None, 1),
            ("r3", TS + 120, "B", "cache_hit", TS + 120, 0.0, 0.01, 4.0, None, 0),
        ],
    )
    conn.executemany(
        "INSERT INTO attempts (request_id, seq, ts, day, provider, model, tier, input_tokens, "
        "output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, confidence, "
        "error_class, reasons) VALUES (?, ?, ?, '2025-10-15', ?, ?, ?, 100, 10, 0, 0, ?, ?, ?, ?, '[]')",
        [
            ("r1", 1, TS, "ollama", "qwen2.5-coder:7b", "local", 0.0, 400.0, 0.3, None),
            ("r1", 2, TS, "sonnet", "claude-sonnet-4-5", "premium", 0.03, 600.0, 0.9, None),
            ("r2", 1, TS + 60, "groq-llama", "llama-3.3-70b-versatile", "free", None, 2000.0, None,
             "RateLimitedError"),
        ],
    )
    conn.commit()
    conn.close()


def test_v1_ledger_migrates_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _write_v1(path)
    with Ledger.open(path, tz=UTC) as led:
        conn = led.connection
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST >= 3
        assert conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 3
        assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 3
        r1 = led.request("r1")
        assert r1 is not None
        assert (r1["variant"], r1["outcome"], r1["rating"], r1["cost_usd"]) == ("A", "accepted", 5, 0.03)
        # backfilled by migration 2
        assert (r1["attempt_count"], r1["answered_by"], r1["answered_model"]) == (
            2, "claude-sonnet-4-5", "claude-sonnet-4-5")
        assert [a["label"] for a in r1["attempts"]] == ["Local", "claude-sonnet-4-5"]
        assert led.spent_on(date(2025, 10, 15)) == (pytest.approx(0.03), 1)
        report = led.summary("2025-10-15", "2025-10-15")
        assert (report.requests, report.successes, report.decided, report.cache_hits) == (3, 2, 3, 1)
        assert report.escalations == 1 and report.rejections == 1
        # the migrated file takes new rows as usual
        rid = led.start_request(kind="ask", workspace="/ws", classification="c", reasons=[])
        assert led.record_attempt(rid, provider="p", model="m", tier="free", usage=Usage(1, 1),
                                  cost_usd=0.0, latency_ms=1, confidence=None, error_class=None) == 1
    # reopening does not migrate twice
    with Ledger.open(path, tz=UTC) as led:
        assert led.connection.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 4


def test_migrating_step_by_step_matches_a_fresh_ledger(tmp_path: Path) -> None:
    stepwise = sqlite3.connect(tmp_path / "a.sqlite3", isolation_level=None)
    for m in MIGRATIONS:
        assert migrate(stepwise, m.version) == m.version
    fresh = sqlite3.connect(tmp_path / "b.sqlite3", isolation_level=None)
    migrate(fresh)

    def shape(conn: sqlite3.Connection) -> list[tuple[str, list[str]]]:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(t, [c[1] for c in conn.execute(f"PRAGMA table_info({t})")]) for t in tables]

    assert shape(stepwise) == shape(fresh)
    stepwise.close()
    fresh.close()


def test_frozen_v1_matches_migration_1(tmp_path: Path) -> None:
    frozen = sqlite3.connect(tmp_path / "frozen.sqlite3")
    frozen.executescript(V1_SCHEMA)
    built = sqlite3.connect(tmp_path / "built.sqlite3", isolation_level=None)
    migrate(built, 1)

    def columns(conn: sqlite3.Connection) -> dict[str, list[tuple[str, str]]]:
        return {t: [(c[1], c[2]) for c in conn.execute(f"PRAGMA table_info({t})")]
                for t in ("requests", "attempts")}

    assert columns(frozen) == columns(built)
    frozen.close()
    built.close()


def _write_v3(path: Path) -> None:
    """A ledger as version 3 wrote it: ``answered_by`` is the last attempt's model, failures
    included, and a rejected request keeps a premium equivalent."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, 3)
    conn.executemany(
        "INSERT INTO requests (id, ts, day, workspace, kind, classification, outcome, cost_usd, "
        "premium_cost_usd, latency_ms, answered_by, answered_model, attempt_count, rejected) "
        "VALUES (?, ?, '2025-10-15', '/ws', 'fix', 'c', ?, ?, ?, 10.0, ?, ?, ?, ?)",
        [
            ("ok", TS, "accepted", 0.0, 0.02, "Local", "qwen2.5-coder:7b", 1, 0),
            ("bad", TS + 1, "rejected", 0.0, 0.03, "Anthropic", "claude-sonnet-4-5", 2, 0),
            ("hit", TS + 2, "cache_hit", 0.0, 0.01, "Local", "qwen2.5-coder:7b", 1, 0),
            ("undone", TS + 3, "accepted", 0.0, 0.04, "Local", "qwen2.5-coder:7b", 1, 1),
        ],
    )
    conn.executemany(
        "INSERT INTO attempts (request_id, seq, ts, day, provider, model, tier, input_tokens, "
        "output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, confidence, "
        "error_class, label) VALUES (?, ?, ?, '2025-10-15', ?, ?, ?, 100, 10, 0, 0, ?, 5.0, NULL, "
        "?, ?)",
        [
            ("ok", 1, TS, "local", "qwen2.5-coder:7b", "local", 0.0, None, "Local"),
            ("bad", 1, TS + 1, "local", "qwen2.5-coder:7b", "local", 0.0, None, "Local"),
            ("bad", 2, TS + 1, "sonnet", "claude-sonnet-4-5", "premium", 0.0, "Timeout",
             "Anthropic"),
            ("hit", 1, TS + 2, "local", "qwen2.5-coder:7b", "local", 0.0, None, "Local"),
            ("undone", 1, TS + 3, "local", "qwen2.5-coder:7b", "local", 0.0, None, "Local"),
        ],
    )
    conn.execute("INSERT INTO daily_spend (day, cost_usd, unpriced) VALUES ('2025-10-15', 0, 0)")
    conn.close()


def test_v3_ledger_migrates_to_honest_accounting_and_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite3"
    _write_v3(path)
    with Ledger.open(path, tz=UTC) as led:
        conn = led.connection
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST >= 4
        assert conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 4
        assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 5
        statuses = {r[0] for r in conn.execute("SELECT cost_status FROM attempts")}
        assert statuses == {"measured"}  # as the vendor reports were recorded then
        bad, ok = led.request("bad"), led.request("ok")
        assert bad is not None and ok is not None
        # the rejected request was never answered by the premium model that timed out
        assert (bad["answered_by"], bad["answered_model"], bad["higher_tier"]) == (None, None, None)
        assert bad["premium_cost_usd"] == 0.03  # the stored figure is kept; reports ignore it
        assert (ok["answered_by"], ok["answered_model"]) == ("Local", "qwen2.5-coder:7b")
        report = led.summary("2025-10-15", "2025-10-15")
        # savings only on the accepted answer the user kept; the cache hit is an avoided call
        assert report.savings_usd == pytest.approx(0.02)
        assert report.avoided_usd == pytest.approx(0.01)
        assert (report.rejections, report.verifier_rejections) == (1, 1)
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"requests_report", "attempts_report"} <= indexes
        plan = " ".join(str(r[-1]) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT day, outcome, rejected, attempt_count, higher_tier, "
            "answered_by, COUNT(*) FROM requests WHERE day = '2025-10-15' "
            "GROUP BY day, outcome, rejected, attempt_count, higher_tier, answered_by"))
        assert "COVERING INDEX requests_report" in plan
