"""Write a small project tree for a test (a uniquely named module, unlike conftest)."""

from __future__ import annotations

from pathlib import Path


def make(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path → text) under ``root``; return ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
