"""The cyclic collector is paused while ranking tables are built, and always comes back."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.gc_pause import paused_collection
from lsp_server.context.rank.tables import build_tables


def test_pause_restores_the_collector_after_nesting_and_errors() -> None:
    assert gc.isenabled()
    with paused_collection():
        assert not gc.isenabled()
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block found it paused: it leaves it paused
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_collection():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_pause_leaves_a_collector_that_was_off_off() -> None:
    gc.disable()
    try:
        with paused_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_tables_are_built_with_the_collector_paused(rust_example: Path, tmp_path: Path) -> None:
    seen: list[bool] = []

    class Watched(ProjectIndex):
        def files(self) -> list[str]:
            seen.append(gc.isenabled())
            return super().files()

    idx = Watched.open(rust_example, state_dir=tmp_path / "s")
    try:
        idx.refresh()
        prep = build_tables(idx)
        assert prep.defs_by_name  # a real build happened
        assert seen and not any(seen)
        assert gc.isenabled()
    finally:
        idx.close()


def test_a_bulk_pause_ends_with_one_full_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, ...]] = []

    def collect(*args: object) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    with paused_collection():
        pass
    assert calls == []
    with paused_collection(collect_after=True):
        assert calls == []
    assert calls == [()]
