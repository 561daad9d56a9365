"""Shared fixtures: every test gets its own state directory, and no model keys leak in."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/standins/ (vendor HTTP stand-ins) is importable as `standins` from every test folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from postgres_cluster import Cluster, start_cluster  # (importable after the line above)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
KEY_VARS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GROQ_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("AGENTIC_OPTIMIZER_HOME", str(home))
    monkeypatch.delenv("AGENTIC_OPTIMIZER_CONFIG", raising=False)
    for var in KEY_VARS:
        monkeypatch.delenv(var, raising=False)
    yield home


@pytest.fixture
def rust_example() -> Path:
    return EXAMPLES / "rust-crate"


@pytest.fixture
def python_example() -> Path:
    return EXAMPLES / "python-pkg"


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
    """A fresh database of its own for each test that asks for one."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    return pg_cluster.new_database(name)
