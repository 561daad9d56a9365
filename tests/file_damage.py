"""Damage done to a database file as a crash or a bad disk might: for the fault tests."""

from __future__ import annotations

from pathlib import Path

PAGE = 4096


def truncate(path: Path, keep: int = 10) -> None:
    """Cut the file to its first ``keep`` bytes."""
    path.write_bytes(path.read_bytes()[:keep])


def scribble_middle(path: Path) -> None:
    """Overwrite two pages in the middle of the file with a repeated pattern."""
    data = bytearray(path.read_bytes())
    assert len(data) > 3 * PAGE, "the file is too small to damage its middle only"
    middle = len(data) // 2
    data[middle - PAGE : middle + PAGE] = b"\xde\xad\xbe\xef" * (2 * PAGE // 4)
    path.write_bytes(bytes(data))
