"""Helpers that fill a ledger with known traffic, shared by the ledger tests."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from lsp_server.config import Settings, parse_settings
from lsp_server.ledger.schema import migrate, migrate_postgres
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Usage

DAY = datetime(2025, 10, 15, 9, 0, tzinfo=UTC)
DEFAULT_USAGE = Usage(input=1000, output=200)
MODELS = [  # the models the seeded traffic names, as settings describe them
    {"name": "local-coder", "provider": "ollama", "model": "qwen2.5-coder:7b", "tier": "local"},
    {"name": "groq-llama", "provider": "openai", "model": "llama-3.3-70b-versatile",
     "tier": "free", "base_url": "https://api.groq.com/openai/v1"},
    {"name": "sonnet", "provider": "anthropic", "model": "claude-sonnet-4-5", "tier": "premium"},
    {"name": "mystery", "provider": "openai", "model": "mystery-1",
     "tier": "budget", "base_url": "https://llm.example.com/v1"},
]


def add(
    ledger: Ledger,
    at: datetime,
    attempts: list[tuple[str, str, str, float | None, float]],
    outcome: str | None,
    *,
    latency_ms: float,
    premium: float | None = None,
    kind: str = "edit",
    variant: str | None = None,
    usage: Usage = DEFAULT_USAGE,
) -> str:
    """One request with attempts given as (name, model, tier, cost, latency_ms)."""
    rid = ledger.start_request(kind=kind, workspace="/ws", classification="simple",
                               reasons=["short instruction"], variant=variant, now=at)
    for name, model, tier, cost, ms in attempts:
        ledger.record_attempt(rid, provider=name, model=model, tier=tier, usage=usage,
                              cost_usd=cost, latency_ms=ms, confidence=0.9, error_class=None,
                              now=at)
    if outcome is not None:
        known = [a[3] for a in attempts]
        total = None if any(c is None for c in known) else sum(c for c in known if c is not None)
        answered = attempts[-1][:3] if outcome == "accepted" and attempts else None
        ledger.finish_request(rid, outcome=outcome, cost_usd=total, premium_cost_usd=premium,
                              latency_ms=latency_ms, now=at + timedelta(milliseconds=latency_ms),
                              answered_by=answered)
    return rid


LOCAL = ("local-coder", "qwen2.5-coder:7b", "local", 0.0)
GROQ = ("groq-llama", "llama-3.3-70b-versatile", "free", 0.002)
SONNET = ("sonnet", "claude-sonnet-4-5", "premium", 0.05)


def seed_day(ledger: Ledger, day: datetime = DAY) -> None:
    """A day of traffic whose report is checked line by line in the golden test."""
    t = day
    for i, ms in enumerate((120, 150, 180, 200, 240, 300)):
        add(ledger, t + timedelta(minutes=i), [(*LOCAL, ms)], "accepted", latency_ms=ms, premium=0.01)
    add(ledger, t + timedelta(minutes=10), [(*GROQ, 800)], "accepted", latency_ms=800, premium=0.01)
    add(ledger, t + timedelta(minutes=11), [(*GROQ, 900)], "rejected", latency_ms=900, premium=0.01)
    # escalated: local then premium
    add(ledger, t + timedelta(minutes=20), [(*LOCAL, 400), (*SONNET, 1700)], "accepted",
        latency_ms=2100, premium=0.05)
    # premium failed
    add(ledger, t + timedelta(minutes=21), [(SONNET[0], SONNET[1], SONNET[2], 0.0, 3000)], "failed",
        latency_ms=3000, premium=0.05)
    add(ledger, t + timedelta(minutes=30), [], "cache_hit", latency_ms=5, premium=0.02)
    add(ledger, t + timedelta(minutes=31), [], "index", latency_ms=20, premium=None)
    add(ledger, t + timedelta(minutes=32), [(*LOCAL, 90)], "cancelled", latency_ms=90, premium=0.01)
    # an unpriced model
    add(ledger, t + timedelta(minutes=40), [("mystery", "mystery-1", "budget", None, 1000)],
        "accepted", latency_ms=1000, premium=0.01)


def old_sqlite_ledger(path: Path, version: int, statements: Sequence[str]) -> None:
    """A SQLite ledger at schema ``version`` holding the rows ``statements`` insert."""
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=version) == version
    for statement in statements:
        conn.execute(statement)
    conn.close()


def old_postgres_ledger(url: str, schema: str, version: int, statements: Sequence[str]) -> None:
    """A team ledger (``schema``) at schema ``version`` holding the rows ``statements`` insert."""
    with psycopg.connect(url, autocommit=True) as conn:
        assert migrate_postgres(conn, schema, target=version) == version
        conn.execute(f"SET search_path TO {schema}")
        for statement in statements:
            conn.execute(statement.encode())


def sqlite_version(path: Path) -> int:
    """The schema version a SQLite ledger file records (``PRAGMA user_version``)."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def postgres_version(url: str, schema: str) -> int | None:
    """The schema version a team ledger records."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(f"SELECT MAX(version) FROM {schema}.ao_schema").fetchone()
    return None if row is None else int(row[0])


def one_local_model(**ledger: str) -> Settings:
    """Settings with one local model and these ``ledger`` settings (migration tests)."""
    return parse_settings({"models": [{"name": "gemma", "provider": "openai", "tier": "local",
                                       "model": "gemma-3", "base_url": "http://127.0.0.1:1/v1"}],
                           "ledger": ledger})
