"""Fixtures shared by the index and ranking tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def tree(tmp_path: Path, rust_example: Path, python_example: Path) -> Path:
    """The Rust example crate with the Python example's package beside it: both languages."""
    root = tmp_path / "ws"
    shutil.copytree(rust_example, root)
    shutil.copytree(python_example / "inventory", root / "inventory")
    return root
