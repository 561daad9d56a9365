"""``ledger export --csv``: the ledger as CSV for spreadsheets, one row per request or attempt.

Columns are the stored fields (never prompt text); reasons are joined with ``; ``. An attempt's
``cost_status`` says whether its cost is measured, estimated or unknown; an unknown cost is an
empty cell, never 0. ``user`` (and a request's ``machine``) say who made a row, for a team's
shared ledger; the machine is empty in a SQLite ledger. An attempt's ``tool_calls`` lists the
calls of a tool turn, ``name {arguments}`` joined with ``; ``, a call that was refused or
failed marked ``[error]``.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from typing import Any, TextIO

from lsp_server.ledger.backend import Sql

REQUEST_COLUMNS = (
    "id", "started", "day", "workspace", "kind", "classification", "reasons", "variant",
    "outcome", "attempts", "answered_by", "answered_model", "cost_usd", "premium_cost_usd",
    "latency_ms", "rating", "rejected", "user", "machine",
)
ATTEMPT_COLUMNS = (
    "request_id", "seq", "time", "day", "provider", "label", "model", "tier", "input_tokens",
    "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "latency_ms",
    "confidence", "error_class", "reasons", "cost_status", "user", "first_token_ms", "stopped",
    "tool_calls",
)
_REQUEST_SQL = (
    "SELECT id, ts, day, workspace, kind, classification, reasons, variant, outcome, "
    "attempt_count, answered_by, answered_model, cost_usd, premium_cost_usd, latency_ms, rating, "
    "rejected, user_name, machine FROM requests"
)
_ATTEMPT_SQL = (
    "SELECT request_id, seq, ts, day, provider, label, model, tier, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, confidence, error_class, reasons, "
    "cost_status, user_name, first_token_ms, stopped, tool_calls FROM attempts"
)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _reasons(raw: str) -> str:
    try:
        items = json.loads(raw)
    except ValueError:
        return raw
    return "; ".join(str(i) for i in items) if isinstance(items, list) else raw


def _tool_calls(raw: str | None) -> str:
    try:
        items = json.loads(raw) if raw else []
    except ValueError:
        return raw or ""
    return "; ".join(f"{c.get('name')} {c.get('args')}" + ("" if c.get("ok") else " [error]")
                     for c in items if isinstance(c, dict)) if isinstance(items, list) else ""


def _cell(value: Any) -> Any:
    return "" if value is None else value


def write_csv(
    conn: Sql,
    out: TextIO,
    since: date | None = None,
    until: date | None = None,
    *,
    attempts: bool = False,
) -> int:
    """Write a header and the rows whose day lies in since..until; returns the row count."""
    sql = _ATTEMPT_SQL if attempts else _REQUEST_SQL
    columns = ATTEMPT_COLUMNS if attempts else REQUEST_COLUMNS
    clauses, params = [], []
    if since is not None:
        clauses.append("day >= ?")
        params.append(since.isoformat())
    if until is not None:
        clauses.append("day <= ?")
        params.append(until.isoformat())
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY ts, request_id, seq" if attempts else " ORDER BY ts, id"
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    time_col = columns.index("time" if attempts else "started")
    reasons_col = columns.index("reasons")
    count = 0
    for row in conn.execute(sql, params):
        cells = [_cell(v) for v in row]
        cells[time_col] = _iso(float(row[time_col]))
        cells[reasons_col] = _reasons(str(row[reasons_col]))
        if attempts:
            cells[-1] = _tool_calls(row[-1])
        writer.writerow(cells)
        count += 1
    return count
