"""Ledger test fixtures: settings with four real-looking models, and an empty ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from lsp_server.config import Settings, parse_settings
from lsp_server.ledger.store import Ledger


@pytest.fixture
def ledger_settings() -> Settings:
    return parse_settings({
        "models": [
            {"name": "local-coder", "provider": "ollama", "model": "qwen2.5-coder:7b", "tier": "local"},
            {"name": "groq-llama", "provider": "openai", "model": "llama-3.3-70b-versatile",
             "tier": "free", "base_url": "https://api.groq.com/openai/v1"},
            {"name": "sonnet", "provider": "anthropic", "model": "claude-sonnet-4-5", "tier": "premium"},
            {"name": "mystery", "provider": "openai", "model": "mystery-1",
             "tier": "budget", "base_url": "https://llm.example.com/v1"},
        ],
        "variants": [{"name": "A", "weight": 1}, {"name": "B", "weight": 1}],
    })


@pytest.fixture
def ledger(tmp_path: Path, ledger_settings: Settings) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "ledger.sqlite3", ledger_settings, tz=UTC) as opened:
        yield opened
