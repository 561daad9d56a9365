"""Ledger test fixtures: settings with four real-looking models, an empty ledger, and a
throwaway PostgreSQL cluster for the shared-ledger tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from ledger_seed import MODELS
from postgres_cluster import Cluster, start_cluster

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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the session (see tests/postgres_cluster.py)."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def pg_url(pg_cluster: Cluster, request: pytest.FixtureRequest) -> str:
    """A fresh database of its own for each test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    return pg_cluster.new_database(name)
