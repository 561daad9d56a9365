"""Ranking tables kept on disk: a new process starts from them and gets what a fresh build
gives, updating only the files that changed since they were written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.context.documents import Documents, TextChange
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank import snapshot
from lsp_server.context.rank.ranking import tables_for
from lsp_server.context.rank.tables import build_tables
from lsp_server.text import Position, Span

# One process: open the index, take the kept tables (from disk when there are some), and
# print how they were obtained, what ranking reads from them, and what a fresh build gives.
PROBE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_rank_tables import canonical, ranked
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.ranking import tables_for
from lsp_server.context.rank.tables import build_tables
idx = ProjectIndex.open(Path(sys.argv[1]), state_dir=Path(sys.argv[2]))
idx.refresh()
with tables_for(idx) as prep:
    print(prep.loaded, prep.last_sync_files)
    kept = ranked(prep)
    for bm in (prep.passage_bm25, prep.file_bm25):
        bm.reweight()
    fresh = build_tables(idx)
    # (weights kept from an older average length are what an editor's update serves too)
    print(canonical(prep) == canonical(fresh), ranked(prep) == ranked(fresh))
    print(repr(kept))
idx.close()
"""


def probe(tree: Path, state: Path, seed: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(tree), str(state), str(Path(__file__).parent)],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed},
    )
    return proc.stdout.splitlines()


def test_a_new_process_starts_from_the_tables_on_disk(tree: Path, tmp_path: Path) -> None:
    (tree / "NOTES.md").write_text("not source\n")
    state = tmp_path / "state"
    built = probe(tree, state, "1")
    assert built[:2] == ["False " + built[0].split()[1], "True True"]
    assert int(built[0].split()[1]) > 5  # every file's rows were built
    # Another process (another hash seed): loaded, nothing redone, the same rankings.
    loaded = probe(tree, state, "2")
    assert loaded[:2] == ["True 0", "True True"]
    assert loaded[2] == built[2]
    # A file changed on disk: only its rows are redone, and the tables equal a fresh build.
    units = tree / "src/units.rs"
    units.write_text(units.read_text() + "\npub fn added_between_runs() -> u32 { 2 }\n")
    updated = probe(tree, state, "3")
    assert updated[:2] == ["True 1", "True True"]
    assert updated[2] != built[2]
    # The update was written back: the next process redoes nothing.
    assert probe(tree, state, "4")[:2] == ["True 0", "True True"]


def test_unreadable_or_foreign_tables_are_rebuilt(tree: Path, tmp_path: Path) -> None:
    idx = ProjectIndex.open(tree, state_dir=tmp_path / "s")
    idx.refresh()
    with tables_for(idx) as prep:
        assert not prep.loaded
        expected = sorted(prep.defs_by_name)
    path = snapshot.snapshot_path(idx)
    data = path.read_bytes()
    idx.close()
    for damaged in (data[: len(data) // 2], data.replace(snapshot.code_key().encode(), b"0" * 32, 1)):
        path.write_bytes(damaged)
        idx = ProjectIndex.open(tree, state_dir=tmp_path / "s")
        idx.refresh()
        with tables_for(idx) as prep:
            assert not prep.loaded
            assert sorted(prep.defs_by_name) == expected
            assert sorted(build_tables(idx).defs_by_name) == expected
        idx.close()
        assert snapshot.load(path) is not None  # rewritten by the sync


def test_loaded_tables_hold_each_files_definitions_and_imports(tree: Path, tmp_path: Path) -> None:
    idx = ProjectIndex.open(tree, state_dir=tmp_path / "s")
    idx.refresh()
    with tables_for(idx):
        pass
    idx.close()
    idx = ProjectIndex.open(tree, state_dir=tmp_path / "s")
    idx.refresh()
    with tables_for(idx) as prep:
        assert prep.loaded and prep.last_sync_files == 0
        fs = idx.file("src/units.rs")
        assert fs is not None and prep.has_symbols("src/units.rs")
        assert prep.definitions_of("src/units.rs") == fs.definitions
        assert prep.imports_of("src/units.rs") == fs.imports
        assert prep.definitions_of("no/such.rs") is None and not prep.has_symbols("no/such.rs")
    idx.close()


def test_tables_that_cannot_be_written_are_used_and_tried_once(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tries: list[str] = []

    def full_disk(*args: object, **kwargs: object) -> tuple[int, str]:
        tries.append("mkstemp")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(snapshot.tempfile, "mkstemp", full_disk)
    docs = Documents()
    idx = ProjectIndex.open(tree, documents=docs, state_dir=tmp_path / "s")
    docs.subscribe(idx.update_document)
    idx.refresh()
    with tables_for(idx) as prep:
        assert "Length" in prep.defs_by_name
    units = tree / "src/units.rs"
    docs.open(units, units.read_text(), 1)
    docs.change(units, [TextChange("\npub fn typed_later() {}\n", Span(Position(0, 0), Position(0, 0)))], 2)
    with tables_for(idx) as prep:
        assert "typed_later" in prep.defs_by_name
    assert tries == ["mkstemp"]
    assert sum("could not write the ranking tables" in r.getMessage() for r in caplog.records) == 1
    assert not snapshot.snapshot_path(idx).exists()
    idx.close()


def test_a_buffer_opened_unchanged_redoes_nothing(tree: Path, tmp_path: Path) -> None:
    docs = Documents()
    idx = ProjectIndex.open(tree, documents=docs, state_dir=tmp_path / "s")
    docs.subscribe(idx.update_document)
    idx.refresh()
    with tables_for(idx) as prep:
        assert prep.last_sync_files > 5
    units = tree / "src/units.rs"
    generation = idx.generation
    docs.open(units, units.read_text(), 1)
    assert idx.generation != generation  # the index did see a change
    with tables_for(idx) as again:
        assert again is prep and again.last_sync_files == 0
    docs.change(units, [TextChange("\npub fn typed_now() {}\n", Span(Position(0, 0), Position(0, 0)))], 2)
    with tables_for(idx) as again:
        assert again.last_sync_files == 1 and "typed_now" in again.defs_by_name
        fresh = build_tables(idx)
        assert sorted(again.defs_by_name) == sorted(fresh.defs_by_name)
    idx.close()
