"""Ledger test fixtures: settings with four real-looking models, and an empty ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from ledger_seed import MODELS

from lsp_server.config import Settings, parse_settings
from lsp_server.ledger.store import Ledger


@pytest.fixture
def ledger_settings() -> Settings:
    return parse_settings({
        "models": MODELS,
        "variants": [{"name": "A", "weight": 1}, {"name": "B", "weight": 1}],
    })


@pytest.fixture
def ledger(tmp_path: Path, ledger_settings: Settings) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "ledger.sqlite3", ledger_settings, tz=UTC) as opened:
        yield opened

