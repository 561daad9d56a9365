"""Migration 7 on both back ends: each attempt's tool calls (a bounded, scrubbed summary) and
their number; ``metrics`` counts them per day and per model, ``ledger export --csv --attempts``
lists them and ``ledger migrate`` carries them into a team's ledger."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger_seed import (
    old_postgres_ledger,
    old_sqlite_ledger,
    one_local_model,
    postgres_version,
    sqlite_version,
)

from lsp_server.ledger.free_text import TOOL_ARGS_CHARS, TOOL_CALLS_KEPT
from lsp_server.ledger.migrate import copy_ledger
from lsp_server.ledger.postgres import schema_name
from lsp_server.ledger.render import report_json
from lsp_server.ledger.schema import LATEST
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Usage

T0 = datetime(2025, 10, 15, 9, 0, tzinfo=UTC)
OLD_ATTEMPT = (
    "INSERT INTO requests (id, ts, day, workspace, kind, classification) "
    "VALUES ('old', 1760518800, '2025-10-15', '/w', 'edit', 'simple')",
    "INSERT INTO attempts (request_id, seq, ts, day, provider, model, tier, input_tokens, "
    "output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, confidence, "
    "error_class, reasons, label) VALUES ('old', 1, 1760518800, '2025-10-15', 'gemma', "
    "'gemma-3', 'local', 900, 40, 0, 0, 0, 6000, 0.2, NULL, '[]', 'Local')",
)
SECRET = "sk-live-abcdefghijklmnopqrstuvwxyz0123456789"
CALLS = [{"name": "find_definition", "args": {"name": "apply_rate"}, "ok": True},
         {"name": "read_file", "args": {"path": "../outside.txt", "token": SECRET}, "ok": False}]


def _record(ledger: Ledger) -> str:
    rid = ledger.start_request(kind="explain", workspace="/w", classification="simple", now=T0)
    many = [{"name": "search_code", "args": {"query": "x" * 1000, "n": i}, "ok": True}
            for i in range(TOOL_CALLS_KEPT + 4)]
    for minute, calls in ((1, CALLS), (2, many), (3, [])):
        ledger.record_attempt(rid, provider="gemma", model="gemma-3", tier="local",
                              usage=Usage(input=500, output=20), cost_usd=0.0, latency_ms=900.0,
                              confidence=None, error_class=None, tool_calls=calls,
                              now=T0 + timedelta(minutes=minute))
    ledger.finish_request(rid, outcome="accepted", answered_by=("gemma", "gemma-3", "local"),
                          cost_usd=0.0, premium_cost_usd=0.0, latency_ms=3000.0,
                          now=T0 + timedelta(minutes=4))
    return rid


def _check(ledger: Ledger, rid: str) -> None:
    row = ledger.request(rid)
    assert row is not None
    first, second, final = row["attempts"]
    listed = json.loads(first["tool_calls"])
    assert [c["name"] for c in listed] == ["find_definition", "read_file"]
    assert listed[0] == {"name": "find_definition", "args": '{"name": "apply_rate"}', "ok": True}
    assert SECRET not in first["tool_calls"] and "[redacted]" in listed[1]["args"]
    assert first["tool_call_count"] == 2
    kept = json.loads(second["tool_calls"])  # bounded: every call counted, not every one listed
    assert len(kept) == TOOL_CALLS_KEPT and second["tool_call_count"] == TOOL_CALLS_KEPT + 4
    assert all(len(c["args"]) <= TOOL_ARGS_CHARS for c in kept)
    assert final["tool_calls"] is None and final["tool_call_count"] == 0
    old = ledger.request("old")
    assert old is not None and old["attempts"][0]["tool_call_count"] == 0

    report = ledger.summary(T0.date(), T0.date(), by="model", team=True)
    assert report.tool_calls == 2 + TOOL_CALLS_KEPT + 4
    data = report_json(report, include_days=True)
    assert data["tool_calls"] == report.tool_calls and data["daily"][0]["tool_calls"] == report.tool_calls
    assert data["by_model"]["gemma-3"]["tool_calls"] == report.tool_calls

    out = io.StringIO()
    ledger.export_csv(out, attempts=True)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    cell = next(r["tool_calls"] for r in rows if r["request_id"] == rid)
    assert cell.startswith('find_definition {"name": "apply_rate"}; read_file ')
    assert cell.endswith("[error]") and SECRET not in out.getvalue()


def test_sqlite_v6_ledger_gains_tool_calls_and_migrate_carries_them(tmp_path: Path,
                                                                    pg_url: str) -> None:
    path = tmp_path / "ledger.sqlite3"
    old_sqlite_ledger(path, 6, OLD_ATTEMPT)
    with Ledger.open(path, one_local_model(), tz=UTC) as ledger:
        rid = _record(ledger)
        _check(ledger, rid)
        with Ledger.open(settings=one_local_model(url=pg_url, team="core", user="ana"), tz=UTC) as team:
            copy_ledger(ledger, team)
            _check(team, rid)
    assert sqlite_version(path) == LATEST >= 7


def test_postgres_v6_ledger_gains_tool_calls(pg_url: str) -> None:
    schema = schema_name("core")
    old_postgres_ledger(pg_url, schema, 6, OLD_ATTEMPT)
    with Ledger.open(settings=one_local_model(url=pg_url, team="core", user="ana"), tz=UTC) as ledger:
        _check(ledger, _record(ledger))
    assert postgres_version(pg_url, schema) == LATEST
