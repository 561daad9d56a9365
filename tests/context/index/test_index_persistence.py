"""The SQLite store: a restart on an unchanged tree parses nothing; changes are picked up."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from file_damage import scribble_middle, truncate

from lsp_server.cli import main
from lsp_server.context.index import claims, pool
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.index.store import IndexStore


@pytest.fixture
def tree(tmp_path: Path, rust_example: Path) -> Path:
    root = tmp_path / "geometry"
    shutil.copytree(rust_example, root)
    return root


def test_restart_reuses_stored_rows(tree: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with ProjectIndex.open(tree, state_dir=state) as first:
        cold = first.refresh()
        before = {p: first.file(p) for p in first.files()}
    assert (cold.parsed, cold.reused, cold.files) == (5, 0, 5)
    assert first.store_path.is_file() and first.store_path.is_relative_to(state)

    with ProjectIndex.open(tree, state_dir=state) as second:
        warm = second.refresh()
        assert (warm.parsed, warm.reused) == (0, 5)
        assert (warm.definitions, warm.references) == (cold.definitions, cold.references)
        # symbols come back from the blobs, identical to what was parsed
        assert {p: second.file(p) for p in second.files()} == before


def test_changed_added_deleted_and_touched_files(tree: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with ProjectIndex.open(tree, state_dir=state) as idx:
        idx.refresh()
    units = tree / "src/units.rs"
    units.write_text(units.read_text() + "\npub fn inches(v: f64) -> f64 { v * 0.0254 }\n")
    (tree / "src/shapes/rectangle.rs").unlink()
    (tree / "src/extra.rs").write_text("pub struct Extra;\n")
    mod_rs = tree / "src/shapes/mod.rs"
    st = mod_rs.stat()
    os.utime(mod_rs, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # same content, new mtime

    with ProjectIndex.open(tree, state_dir=state) as idx:
        stats = idx.refresh()
        assert (stats.parsed, stats.removed, stats.files) == (2, 1, 5)
        assert stats.reused == 3  # lib.rs, circle.rs unchanged; mod.rs re-hashed, not re-parsed
        assert [d.qualname for d in idx.definitions_named("inches")] == ["crate::units::inches"]
        assert "src/shapes/rectangle.rs" not in idx.files()
        assert idx.stored_files()["src/shapes/mod.rs"].mtime_ns == mod_rs.stat().st_mtime_ns

    with ProjectIndex.open(tree, state_dir=state) as idx:
        again = idx.refresh()
        assert (again.parsed, again.reused) == (0, 5)


def test_parallel_cold_index_equals_serial(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(30):
        (tree / f"src/gen{i}.rs").write_text(f"pub fn gen{i}() -> u32 {{ crate::units::Length::meters({i}.0); {i} }}\n")
    monkeypatch.setattr(pool, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(pool, "PARALLEL_MIN_BYTES", 0)
    with ProjectIndex.open(tree, state_dir=tmp_path / "a", workers=2) as par, \
            ProjectIndex.open(tree, state_dir=tmp_path / "b", workers=1) as ser:
        sp, ss = par.refresh(), ser.refresh()
        assert sp.parsed == ss.parsed == 35
        assert {p: par.file(p) for p in par.files()} == {p: ser.file(p) for p in ser.files()}


def test_files_of_a_dead_worker_are_parsed_by_the_parent(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(30):
        (tree / f"src/gen{i}.rs").write_text(f"pub fn gen{i}() -> u32 {{ {i} }}\n")
    monkeypatch.setattr(pool, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(pool, "PARALLEL_MIN_BYTES", 0)

    def dies(tasks: object, counter: claims.Claims, conn: object) -> None:
        claims.claim(counter, 10**9)  # takes a file, then vanishes without a word
        os._exit(3)

    monkeypatch.setattr(pool, "parse_worker", dies)
    monkeypatch.setattr(pool, "_process_context", lambda: multiprocessing.get_context("fork"))
    with ProjectIndex.open(tree, state_dir=tmp_path / "a", workers=2) as par, \
            ProjectIndex.open(tree, state_dir=tmp_path / "b", workers=1) as ser:
        assert par.refresh().parsed == ser.refresh().parsed == 35
        assert {p: par.file(p) for p in par.files()} == {p: ser.file(p) for p in ser.files()}
    assert "a parse worker died" in caplog.text


def test_schema_change_drops_stale_rows(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    with ProjectIndex.open(tree, state_dir=state) as idx:
        idx.refresh()
    monkeypatch.setattr("lsp_server.context.index.store.SCHEMA_VERSION", 999)
    with ProjectIndex.open(tree, state_dir=state) as idx:
        assert idx.refresh().parsed == 5


def test_unreadable_and_binary_files_are_kept_with_a_note(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "ok.py").write_text("def fine():\n    return 1\n")
    (root / "blob.py").write_bytes(b"\x00\x01\x02binary")
    (root / "broken.py").write_text("def good():\n    pass\n\ndef bad(:\n    x = \n\nclass Later:\n    pass\n")
    caplog.set_level("INFO")
    with ProjectIndex.open(root, state_dir=tmp_path / "s") as idx:
        stats = idx.refresh()
        assert stats.files == 3 and stats.with_notes == 2
        names = {d.name for d in idx.file("broken.py").definitions}  # type: ignore[union-attr]
        assert {"good", "Later"} <= names
        assert idx.file("broken.py").error_nodes > 0  # type: ignore[union-attr]
        assert idx.file("blob.py").definitions == []  # type: ignore[union-attr]
    assert "binary content" in caplog.text and "syntax error" in caplog.text


def test_an_unreadable_store_is_rebuilt(tree: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with ProjectIndex.open(tree, state_dir=state) as idx:
        idx.refresh()
        path = idx.store_path
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"not a database, as a crash might leave it" * 200)
    with ProjectIndex.open(tree, state_dir=state) as idx:
        stats = idx.refresh()
        assert (stats.parsed, stats.files) == (5, 5)
    with ProjectIndex.open(tree, state_dir=state) as idx:
        assert idx.refresh().parsed == 0  # and it persisted


def test_large_writes_are_checkpointed_off_the_write_path(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lsp_server.context.index.store.CHECKPOINT_BYTES", 1)
    with ProjectIndex.open(tree, state_dir=tmp_path / "state") as idx:
        idx.refresh()
        path = idx.store_path
    store = IndexStore(path, tree.resolve())
    try:
        store.write([("a.rs", "rust", 1, 1, "h", 1, 0, 0, 0, "", b"s" * 4096, b"i")])
        store.wait_checkpoint()
        assert not store.checkpointing and store.unchecked_bytes == 0
        wal = Path(f"{path}-wal")
        assert wal.exists()
    finally:
        store.close()
    assert not wal.exists()  # the last connection's close checkpointed and removed it


def test_file_limit_indexes_part_and_says_so(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lsp_server.cli import main
    from lsp_server.config import Settings

    state = tmp_path / "state"
    limited = Settings.model_validate({"context": {"max_files": 2}})
    with ProjectIndex.open(tree, settings=limited, state_dir=state) as idx:
        stats = idx.refresh()
        assert stats.capped_at == 2 and stats.files == 2
        note = stats.cap_note()
        assert note is not None and "context.max_files (2)" in note
    with ProjectIndex.open(tree, state_dir=state) as idx:  # the default limit: all five again
        stats = idx.refresh()
        assert stats.capped_at is None and stats.cap_note() is None
        assert (stats.files, stats.parsed, stats.reused) == (5, 3, 2)

    (tree / "agentic-optimizer.toml").write_text("[context]\nmax_files = 3\n")
    assert main(["index", "--project", str(tree)]) == 0
    err = capsys.readouterr().err
    assert "indexed only the 3 source files nearest the project root" in err


def test_refresh_reads_the_limits_current_when_it_runs(tree: Path, tmp_path: Path) -> None:
    from lsp_server.config import Settings, SettingsSource

    (tree / "src/big.rs").write_text("".join(f"pub fn f{i}() {{}}\n" for i in range(200)))
    source = SettingsSource(Settings.model_validate({"context": {"max_files": 2, "max_file_bytes": 1024}}))
    with ProjectIndex.open(tree, settings=source, state_dir=tmp_path / "state") as idx:
        first = idx.refresh()
        assert (first.files, first.capped_at) == (2, 2)
        assert len(idx.files()) == 2

        source.replace(Settings.model_validate({"context": {"max_files": 100}}))
        second = idx.refresh()  # no update_settings: the index reads the source when it acts
        assert (second.files, second.capped_at, second.skipped) == (6, None, 0)
        assert len(idx.files()) == 6 and "src/big.rs" in idx.files()


def _built(tree: Path, state: Path) -> Path:
    """A built store, closed cleanly (everything is in the main file)."""
    with ProjectIndex.open(tree, state_dir=state) as idx:
        assert idx.refresh().rebuilt is None
        return idx.store_path


@pytest.mark.parametrize("damage", [truncate, scribble_middle], ids=["truncated", "middle"])
def test_a_damaged_store_is_rebuilt_and_said_once(
    damage: Callable[[Path], None], tree: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    path = _built(tree, state)
    damage(path)

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


@pytest.mark.parametrize("damage", [truncate, scribble_middle], ids=["truncated", "middle"])
def test_cli_says_it_in_one_line(
    damage: Callable[[Path], None], tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "--project", str(tree)]) == 0  # the state dir is the test's home
    capsys.readouterr()
    with ProjectIndex.open(tree) as idx:
        path = idx.store_path
    damage(path)

    assert main(["index", "--project", str(tree)]) == 0
    captured = capsys.readouterr()
    assert "(5 parsed, 0 reused, 0 removed)" in captured.out
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("agentic-optimizer index: the index database ")
    assert "built again from the files" in captured.err

    assert main(["index", "--project", str(tree)]) == 0
    assert capsys.readouterr().err == ""

