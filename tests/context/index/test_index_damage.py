"""A damaged index database (truncated, overwritten in the middle) is deleted, built again from
the files and said once: in the refresh's notes, and as one stderr line from the CLI."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lsp_server.cli import main
from lsp_server.context.index.project import ProjectIndex


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:7])


def _scribble_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    assert len(data) > 3 * 4096
    middle = len(data) // 2
    data[middle - 4096 : middle + 4096] = b"\xde\xad\xbe\xef" * 2048
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {"truncated": _truncate, "garbage in the middle": _scribble_middle}


@pytest.fixture
def tree(tmp_path: Path, rust_example: Path) -> Path:
    root = tmp_path / "geometry"
    shutil.copytree(rust_example, root)
    return root


def _built(tree: Path, state: Path) -> Path:
    with ProjectIndex.open(tree, state_dir=state) as idx:
        assert idx.refresh().rebuilt is None
        path = idx.store_path
    for suffix in ("-wal", "-shm"):  # closed cleanly: everything is in the main file
        assert not Path(f"{path}{suffix}").exists() or Path(f"{path}{suffix}").stat().st_size == 0
    return path


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_store_is_rebuilt_and_said_once(
    damage: str, tree: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    path = _built(tree, state)
    DAMAGE[damage](path)

    with ProjectIndex.open(tree, state_dir=state) as idx:
        stats = idx.refresh()
        assert (stats.parsed, stats.files) == (5, 5)
        assert stats.rebuilt is not None and str(path) in stats.rebuilt
        assert stats.notes() == [stats.rebuilt]
        assert [d.qualname for d in idx.definitions_named("Circle") if d.kind == "struct"] == [
            "crate::shapes::circle::Circle"
        ]
        assert idx.refresh().rebuilt is None  # said once
    assert sum("is damaged" in r.getMessage() for r in caplog.records) == 1

    with ProjectIndex.open(tree, state_dir=state) as idx:  # the rebuilt file persisted
        again = idx.refresh()
        assert (again.parsed, again.reused, again.rebuilt) == (0, 5, None)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_cli_says_it_in_one_line(
    damage: str, tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "--project", str(tree)]) == 0  # the state dir is the test's home
    capsys.readouterr()
    with ProjectIndex.open(tree) as idx:
        path = idx.store_path
    DAMAGE[damage](path)

    assert main(["index", "--project", str(tree)]) == 0
    captured = capsys.readouterr()
    assert "(5 parsed, 0 reused, 0 removed)" in captured.out
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("agentic-optimizer index: the index database ")
    assert "built again from the files" in captured.err

    assert main(["index", "--project", str(tree)]) == 0
    assert capsys.readouterr().err == ""

