"""The small projects under ``tests/edits/fixtures``, copied for a test module to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lsp_server.config import Settings, parse_settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_copy(factory: pytest.TempPathFactory, name: str) -> tuple[Path, Settings]:
    """A fresh copy of fixture ``name``, and settings whose state directory sits beside it."""
    base = factory.mktemp(name)
    root = base / name
    shutil.copytree(FIXTURES / name, root)
    return root, parse_settings({"state_dir": str(base / "state")})
