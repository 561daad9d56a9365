"""Migration 6 on both back ends: a version-5 ledger gains each attempt's first-token time and
early-stop reason, keeps its rows, and a model's latest calls are read back for its speed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger_seed import (
    old_postgres_ledger,
    old_sqlite_ledger,
    one_local_model,
    postgres_version,
    sqlite_version,
)

from lsp_server.ledger.postgres import schema_name
from lsp_server.ledger.schema import LATEST
from lsp_server.ledger.store import CallTiming, Ledger
from lsp_server.providers.base import Usage

T0 = datetime(2025, 10, 15, 9, 0, tzinfo=UTC)
OLD_ATTEMPT = (
    "INSERT INTO requests (id, ts, day, workspace, kind, classification) "
    "VALUES ('old', 1760518800, '2025-10-15', '/w', 'edit', 'simple')",
    "INSERT INTO attempts (request_id, seq, ts, day, provider, model, tier, input_tokens, "
    "output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, confidence, "
    "error_class, reasons) VALUES ('old', 1, 1760518800, '2025-10-15', 'gemma', 'gemma-3', "
    "'local', 900, 40, 0, 0, 0, 6000, 0.2, NULL, '[]')",
)


def _record_and_read(ledger: Ledger) -> None:
    """After the migration: the old row reads with no first-token time; new rows keep theirs."""
    rid = ledger.start_request(kind="edit", workspace="/w", classification="simple", now=T0)
    ledger.record_attempt(rid, provider="gemma", model="gemma-3", tier="local",
                          usage=Usage(input=1200, output=30), cost_usd=0.0, latency_ms=9000.0,
                          confidence=0.0, error_class=None, first_token_ms=8000.0,
                          stopped="no edit header in the first 30 tokens",
                          now=T0 + timedelta(minutes=1))
    ledger.record_attempt(rid, provider="sonnet", model="claude-sonnet-4-5", tier="premium",
                          usage=Usage(input=1500, output=200), cost_usd=0.01,
                          latency_ms=2000.0, confidence=0.9, error_class=None,
                          first_token_ms=400.0, now=T0 + timedelta(minutes=2))
    ledger.record_attempt(rid, provider="gemma", model="gemma-3", tier="local",
                          usage=Usage(input=0, output=0), cost_usd=None, latency_ms=5.0,
                          confidence=None, error_class="ProviderUnavailableError",
                          now=T0 + timedelta(minutes=3))
    row = ledger.request(rid)
    assert row is not None
    first = row["attempts"][0]
    assert first["first_token_ms"] == 8000.0
    assert first["stopped"] == "no edit header in the first 30 tokens"
    assert row["attempts"][1]["stopped"] is None
    old = ledger.request("old")
    assert old is not None and old["attempts"][0]["first_token_ms"] is None
    # newest first, only this model's calls that reached it
    assert ledger.call_speeds("gemma") == [
        CallTiming(1200, 30, 9000.0, 8000.0),
        CallTiming(900, 40, 6000.0, None),
    ]
    assert ledger.call_speeds("gemma", limit=1) == [CallTiming(1200, 30, 9000.0, 8000.0)]


def test_sqlite_v5_ledger_gains_speed_columns(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    old_sqlite_ledger(path, 5, OLD_ATTEMPT)
    with Ledger.open(path, one_local_model(), tz=UTC) as ledger:
        _record_and_read(ledger)
    assert sqlite_version(path) == LATEST >= 6


def test_postgres_v5_ledger_gains_speed_columns(pg_url: str) -> None:
    schema = schema_name("core")
    old_postgres_ledger(pg_url, schema, 5, OLD_ATTEMPT)
    with Ledger.open(settings=one_local_model(url=pg_url, team="core", user="ana"), tz=UTC) as ledger:
        assert ledger.shared
        _record_and_read(ledger)
    assert postgres_version(pg_url, schema) == LATEST
