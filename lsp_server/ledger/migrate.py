"""``ledger migrate --to URL``: copy a SQLite ledger into a team's shared ledger, losing nothing.

Requests are copied in chunks, each chunk one transaction on the target: the requests not there
yet, their attempts, and their spend added to the day's (team) and the user's totals. A request
already in the target is skipped with its attempts, so running the copy twice writes nothing
the second time, and a copy interrupted half way resumes where it stopped. Rows written before
users were recorded are attributed to ``ledger.user`` (default the OS user) and this machine.
Prompt text is copied only when ``ledger.store_prompts`` is on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lsp_server.ledger.backend import Sql
from lsp_server.ledger.store import Ledger

CHUNK = 1000
REQUEST_COLUMNS = (
    "id", "ts", "day", "workspace", "kind", "classification", "reasons", "variant", "outcome",
    "finished_ts", "cost_usd", "premium_cost_usd", "latency_ms", "rating", "rejected",
    "answered_by", "answered_model", "attempt_count", "feedback_ts", "higher_tier", "user_name",
    "machine",
)
ATTEMPT_COLUMNS = (
    "request_id", "seq", "ts", "day", "provider", "model", "tier", "input_tokens",
    "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "latency_ms",
    "confidence", "error_class", "reasons", "label", "cost_status", "user_name", "row_key",
    "first_token_ms", "stopped", "tool_calls", "tool_call_count",
)


@dataclass
class CopyResult:
    requests: int = 0  # copied now
    attempts: int = 0
    prompts: int = 0
    skipped: int = 0  # requests already in the target
    source_requests: int = 0
    source_attempts: int = 0


def _insert(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def copy_ledger(source: Ledger, target: Ledger, *, chunk: int = CHUNK,
                progress: Callable[[CopyResult], None] | None = None) -> CopyResult:
    """Copy every request of ``source`` missing from ``target`` (see the module docstring)."""
    result = CopyResult()
    user, machine = target.user, target.machine
    prompts = target.settings.ledger.store_prompts
    ui, mi = REQUEST_COLUMNS.index("user_name"), REQUEST_COLUMNS.index("machine")
    aui = ATTEMPT_COLUMNS.index("user_name")
    last = ""
    while True:
        with source.reading() as db:
            requests = [list(r) for r in db.execute(
                f"SELECT {', '.join(REQUEST_COLUMNS)} FROM requests WHERE id > ? ORDER BY id "
                "LIMIT ?", (last, chunk))]
            if not requests:
                break
            last = str(requests[-1][0])
            ids = [str(r[0]) for r in requests]
            marks = ", ".join("?" for _ in ids)
            attempts = [list(a) for a in db.execute(
                f"SELECT {', '.join(ATTEMPT_COLUMNS)} FROM attempts WHERE request_id IN ({marks})"
                " ORDER BY request_id, seq", ids)]
            texts = [list(p) for p in db.execute(
                f"SELECT request_id, seq, prompt, response FROM prompts WHERE request_id IN "
                f"({marks})", ids)] if prompts else []
        result.source_requests += len(requests)
        result.source_attempts += len(attempts)
        with target.writing() as out:
            there = {str(r[0]) for r in out.execute(
                f"SELECT id FROM requests WHERE id IN ({marks})", ids)}
            new_requests = [r for r in requests if str(r[0]) not in there]
            new_attempts = [a for a in attempts if str(a[0]) not in there]
            new_texts = [p for p in texts if str(p[0]) not in there]
            for r in new_requests:
                r[ui] = r[ui] or user
                r[mi] = r[mi] or machine
            for a in new_attempts:
                a[aui] = a[aui] or user
            if new_requests:
                out.executemany(_insert("requests", REQUEST_COLUMNS), new_requests)
            if new_attempts:
                out.executemany(_insert("attempts", ATTEMPT_COLUMNS), new_attempts)
            if new_texts:
                out.executemany(_insert("prompts", ("request_id", "seq", "prompt", "response")),
                                new_texts)
            _add_spend(out, new_attempts)
        result.requests += len(new_requests)
        result.attempts += len(new_attempts)
        result.prompts += len(new_texts)
        result.skipped += len(requests) - len(new_requests)
        if progress is not None:
            progress(result)
    return result


def _add_spend(out: Sql, attempts: list[list[Any]]) -> None:
    """Add the copied attempts' costs to the day's and the user's totals."""
    day_i, cost_i = ATTEMPT_COLUMNS.index("day"), ATTEMPT_COLUMNS.index("cost_usd")
    user_i = ATTEMPT_COLUMNS.index("user_name")
    days: dict[str, tuple[float, int]] = {}
    users: dict[tuple[str, str], tuple[float, int]] = {}
    for a in attempts:
        cost = a[cost_i]
        add = (float(cost or 0.0), 1 if cost is None else 0)
        c, u = days.get(a[day_i], (0.0, 0))
        days[a[day_i]] = (c + add[0], u + add[1])
        key = (a[day_i], a[user_i])
        c, u = users.get(key, (0.0, 0))
        users[key] = (c + add[0], u + add[1])
    if days:
        out.executemany(
            "INSERT INTO daily_spend (day, cost_usd, unpriced) VALUES (?, ?, ?) "
            "ON CONFLICT(day) DO UPDATE SET cost_usd = daily_spend.cost_usd + "
            "excluded.cost_usd, unpriced = daily_spend.unpriced + excluded.unpriced",
            [(d, c, u) for d, (c, u) in days.items()])
        out.executemany(
            "INSERT INTO user_spend (day, user_name, cost_usd, unpriced) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(day, user_name) DO UPDATE SET cost_usd = user_spend.cost_usd + "
            "excluded.cost_usd, unpriced = user_spend.unpriced + excluded.unpriced",
            [(d, user, c, u) for (d, user), (c, u) in users.items()])
