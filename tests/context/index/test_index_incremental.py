"""Editor buffers: incremental re-parse from the Documents overlay equals a full re-parse."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lsp_server.context.documents import Documents, TextChange
from lsp_server.context.index import incremental
from lsp_server.context.index.extract import extract_positioned
from lsp_server.context.index.languages import LANGUAGES
from lsp_server.context.index.parsers import parser_for
from lsp_server.context.index.project import ProjectIndex
from lsp_server.text import Position, Span


@pytest.fixture(autouse=True)
def unhurried_keystrokes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keystroke parses never run out of time here unless a test says so: what these tests
    see must not depend on how busy the machine is."""
    monkeypatch.setattr(incremental, "KEYSTROKE_PARSE_SECONDS", 60.0)


def full_extraction(lang: str, text: str) -> tuple[object, ...]:
    spec = LANGUAGES[lang]
    data = text.encode()
    fresh = extract_positioned(spec, parser_for(spec).parse(data), data)
    return (fresh.definitions, fresh.refs, fresh.imports)


SNIPPETS = ["x", " ", "\n", "fn q() {}\n", "}", "{", "(", ";", "let v = 1;", "mod m;", "use crate::units::Length;",
            "def f(a):\n    return g(a)\n", "class K:\n    pass\n", "import os\n", ":", "    "]


@pytest.mark.parametrize(("rel", "lang", "seed"), [
    ("src/lib.rs", "rust", 1), ("src/shapes/mod.rs", "rust", 2), ("src/units.rs", "rust", 3),
    ("inventory/models.py", "python", 4), ("inventory/pricing.py", "python", 5),
])
@pytest.mark.parametrize(("defer_bytes", "halts"), [
    (incremental.DEFER_REGION_BYTES, False),
    (0, False),  # every edit that leaves a syntax error keeps the old symbols until read or healed
    (incremental.DEFER_REGION_BYTES, True),  # half the keystroke parses run out of time
    (0, True),  # both
])
def test_random_edits_match_a_full_reparse(
    tree: Path, tmp_path: Path, rel: str, lang: str, seed: int, defer_bytes: int, halts: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(incremental, "DEFER_REGION_BYTES", defer_bytes)
    if halts:
        coin = random.Random(seed + 100)
        real = incremental.parse_within
        monkeypatch.setattr(incremental, "parse_within",
                            lambda *a: None if coin.random() < 0.5 else real(*a))
    docs = Documents()
    idx = ProjectIndex.open(tree, documents=docs, state_dir=tmp_path / "s")
    docs.subscribe(idx.update_document)
    idx.refresh()
    path = tree / rel
    docs.open(path, path.read_text(), 1)
    rng = random.Random(seed)
    for version in range(2, 160):
        text = docs.text(path) or ""
        lines = text.split("\n")
        line = rng.randrange(len(lines))
        col = rng.randrange(len(lines[line]) + 1)
        if rng.random() < 0.6:
            end = Position(line, col)
            insert = rng.choice(SNIPPETS)
        else:
            end = Position(line, min(len(lines[line]), col + rng.randrange(1, 8)))
            insert = ""
        docs.change(path, [TextChange(insert, Span(Position(line, col), end))], version)
        if idx.buffer(rel).pending is not None and rng.random() < 0.5:
            continue  # symbols kept shifted across an unbalanced parse: read them a few edits later
        assert idx.file(rel) is not None  # a read settles kept symbols
        live = idx.buffer(rel)
        assert live.pending is None
        # the spliced extraction equals a full extraction of the same (incrementally parsed) tree
        data = (docs.text(path) or "").encode()
        spec = LANGUAGES[lang]
        whole = extract_positioned(spec, live.tree, data)
        got = live.positioned
        assert (got.definitions, got.refs, got.imports, got.errors) == (
            whole.definitions, whole.refs, whole.imports, whole.errors,
        ), f"after edit {version}"
        if not live.tree.root_node.has_error:
            assert (got.definitions, got.refs, got.imports) == full_extraction(lang, docs.text(path) or "")
    idx.close()


def test_buffer_overrides_disk_and_close_restores(tree: Path, tmp_path: Path) -> None:
    docs = Documents()
    idx = ProjectIndex.open(tree, documents=docs, state_dir=tmp_path / "s")
    docs.subscribe(idx.update_document)
    idx.refresh()
    units = tree / "src/units.rs"
    disk = units.read_text()
    generation = idx.generation
    docs.open(units, disk, 1)
    pos = Position(disk.count("\n"), 0)
    docs.change(units, [TextChange("pub fn yards(v: f64) -> Length { Length::feet(v * 3.0) }\n", Span(pos, pos))], 2)
    assert idx.generation > generation
    yards = idx.definitions_named("yards")
    assert [d.qualname for d in yards] == ["crate::units::yards"]
    assert ("src/units.rs", "crate::units::yards") in {(r.path, r.enclosing) for r in idx.references_named("feet")}
    assert idx.text("src/units.rs") != disk
    fs = idx.file("src/units.rs")
    assert fs is not None and fs.content_hash != idx.stored_files()["src/units.rs"].content_hash
    # nothing unsaved reaches the store
    assert idx.stored_files()["src/units.rs"].n_defs == len([d for d in fs.definitions]) - 1
    docs.close(units)
    assert idx.definitions_named("yards") == []
    idx.close()


def test_unsaved_new_buffer_and_edits_to_imports(tree: Path, tmp_path: Path) -> None:
    docs = Documents()
    idx = ProjectIndex.open(tree, documents=docs, state_dir=tmp_path / "s")
    docs.subscribe(idx.update_document)
    idx.refresh()
    lib = tree / "src/lib.rs"
    text = lib.read_text()
    docs.open(lib, text, 1)
    assert "src/units.rs" in idx.file_edges()["src/lib.rs"]
    new = tree / "inventory/reports.py"
    docs.open(new, "from .pricing import total_value\n\ndef report(stock):\n    return total_value(stock)\n", 1)
    assert "inventory/reports.py" in idx.files()
    assert idx.file_edges()["inventory/reports.py"] == {"inventory/pricing.py"}
    edges = [e for e in idx.symbol_edges_from("inventory/reports.py") if e.name == "total_value"]
    assert [(e.source, e.target_path, e.target) for e in edges] == [
        ("inventory.reports.report", "inventory/pricing.py", "inventory.pricing.total_value"),
    ]
    # removing `pub mod units;` from the buffer drops the edge (resolution follows the buffer)
    start = text.index("pub mod units;")
    line = text[:start].count("\n")
    docs.change(lib, [TextChange("", Span(Position(line, 0), Position(line + 1, 0)))], 2)
    assert "src/units.rs" not in {i.target for i in idx.imports_of("src/lib.rs") if i.kind == "mod"}
    idx.close()


def _edges(idx: ProjectIndex) -> dict[str, list[tuple[object, ...]]]:
    return {p: sorted((e.source or "", e.target_path, e.target, e.name, e.count, round(e.weight, 9))
                      for e in es)
            for p, es in idx.edges_by_file().items()}


def test_edges_after_new_and_removed_definitions_match_a_fresh_index(tree: Path, tmp_path: Path) -> None:
    """Only files naming a changed definition are re-resolved; the result equals a cold index."""
    docs = Documents()
    idx = ProjectIndex.open(tree, documents=docs, state_dir=tmp_path / "s")
    docs.subscribe(idx.update_document)
    idx.refresh()
    before = idx.edges_by_file()
    lib = tree / "src/lib.rs"
    units = tree / "src/units.rs"
    # units.rs gains a function that lib.rs (untouched) does not call, and lib.rs's list stays cached
    docs.open(units, units.read_text() + "\npub fn brand_new_helper() -> u32 { 1 }\n", 1)
    after = idx.edges_by_file()
    assert after["src/lib.rs"] is before["src/lib.rs"]
    # lib.rs starts calling it: an edge to units.rs appears
    docs.open(lib, lib.read_text() + "\npub fn caller() -> u32 { units::brand_new_helper() }\n", 1)
    assert any(e.target == "crate::units::brand_new_helper" for e in idx.edges_by_file()["src/lib.rs"])
    # units.rs loses every definition named `brand_new_helper`: lib.rs is re-resolved
    docs.change(units, [TextChange(units.read_text(), Span(Position(0, 0), Position(10**6, 0)))], 2)
    got = _edges(idx)
    # the same content, written to disk and indexed cold
    for path in (lib, units):
        path.write_text(docs.text(path) or "")
    fresh = ProjectIndex.open(tree, state_dir=tmp_path / "fresh")
    fresh.refresh()
    assert got == _edges(fresh)
    assert not any(e.target.endswith("brand_new_helper") for e in idx.edges_by_file()["src/lib.rs"])
    idx.close()
    fresh.close()


MACRO_FILE = """\
cfg_rt! {
    pub mod runtime;
    pub fn spawn(task: Task) -> Handle { Handle::new(task) }
}

pub struct Task { id: u32 }

cfg_net! {
    impl Task {
        pub fn poll(&self) -> bool { helper(self.id) }
    }
    mod inner { cfg_io! { pub fn deep() {} } }
}

fn helper(id: u32) -> bool { id > 0 }
"""


def test_macro_bodies_are_reused_between_edits_and_match_a_full_reparse(tree: Path, tmp_path: Path) -> None:
    docs = Documents()
    idx = ProjectIndex.open(tree, documents=docs, state_dir=tmp_path / "s")
    docs.subscribe(idx.update_document)
    idx.refresh()
    path = tree / "src/macros.rs"
    docs.open(path, MACRO_FILE, 1)
    before = dict(idx.buffer("src/macros.rs").macros)
    assert len(before) == 3  # cfg_rt!, cfg_net! and the cfg_io! inside it
    # typing in the last function leaves every macro body as it was: no body is parsed again
    line = MACRO_FILE.split("\n").index("fn helper(id: u32) -> bool { id > 0 }")
    docs.change(path, [TextChange(" ", Span(Position(line, 30), Position(line, 30)))], 2)
    after = idx.buffer("src/macros.rs").macros
    assert all(after[body] is t for body, t in before.items())
    rng = random.Random(11)
    for version in range(3, 120):
        text = docs.text(path) or ""
        lines = text.split("\n")
        line = rng.randrange(len(lines))
        col = rng.randrange(len(lines[line]) + 1)
        end = Position(line, col) if rng.random() < 0.6 else Position(line, min(len(lines[line]), col + 3))
        insert = rng.choice(SNIPPETS) if end.character == col else ""
        docs.change(path, [TextChange(insert, Span(Position(line, col), end))], version)
        live = idx.buffer("src/macros.rs")
        data = (docs.text(path) or "").encode()
        whole = extract_positioned(LANGUAGES["rust"], parser_for(LANGUAGES["rust"]).parse(data), data)
        fresh = extract_positioned(LANGUAGES["rust"], live.tree, data)
        got = live.positioned
        assert (got.definitions, got.refs, got.imports, got.errors) == (
            fresh.definitions, fresh.refs, fresh.imports, fresh.errors), f"after edit {version}"
        if not live.tree.root_node.has_error:
            assert (got.definitions, got.refs, got.imports) == (whole.definitions, whole.refs, whole.imports)
    idx.close()


def _type(docs: Documents, path: Path, line: int, col: int, text: str, version: int) -> int:
    """Send ``text`` one keystroke per didChange at (line, col), as an editor does."""
    for ch in text:
        version += 1
        docs.change(path, [TextChange(ch, Span(Position(line, col), Position(line, col)))], version)
        line, col = (line + 1, 0) if ch == "\n" else (line, col + 1)
    return version


def _open_buffer(tree: Path, tmp_path: Path, rel: str) -> tuple[Documents, ProjectIndex]:
    docs = Documents()
    idx = ProjectIndex.open(tree, documents=docs, state_dir=tmp_path / "s")
    docs.subscribe(idx.update_document)
    idx.refresh()
    docs.open(tree / rel, (tree / rel).read_text(), 1)
    return docs, idx


def test_unbalanced_keystrokes_keep_old_symbols_until_the_parse_heals(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(incremental, "DEFER_REGION_BYTES", 0)  # these files are small
    rel = "src/lib.rs"
    docs, idx = _open_buffer(tree, tmp_path, rel)
    path = tree / rel
    text = path.read_text()
    body = text.split("\n").index("pub fn largest(shapes: &[Box<dyn Shape>]) -> Option<&dyn Shape> {") + 1
    version = _type(docs, path, body, 0, "    let probe = compute(alpha, beta.len()", 1)
    assert idx.buffer(rel).pending is not None  # the open parenthesis broke the parse: the old symbols were kept, shifted
    version = _type(docs, path, body, len("    let probe = compute(alpha, beta.len()"), ");\n", version)
    live = idx.buffer(rel)
    assert live.pending is None  # closing it healed the parse; no read was needed
    assert not live.tree.root_node.has_error
    got = live.positioned
    assert (got.definitions, got.refs, got.imports) == full_extraction("rust", docs.text(path) or "")
    assert any(r[1] == "compute" for r in got.refs)
    idx.close()


def test_a_read_sees_what_a_broken_buffer_holds_now(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(incremental, "DEFER_REGION_BYTES", 0)
    rel = "src/lib.rs"
    docs, idx = _open_buffer(tree, tmp_path, rel)
    path = tree / rel
    text = path.read_text()
    end = len(text.split("\n")) - 1  # the empty line after the final newline
    version = _type(docs, path, end, 0, "fn tail() { helper(\n", 1)  # left unclosed
    _type(docs, path, end, 0, "pub fn freshly_typed() -> u32 { 1 }\n", version)
    live = idx.buffer(rel)
    assert live.pending is not None
    assert "freshly_typed" not in [d[0] for d in live.positioned.definitions]  # kept, shifted
    # every query settles first: it sees a full extraction of the buffer as it is now
    fs = idx.file(rel)
    assert fs is not None and idx.buffer(rel).pending is None
    data = (docs.text(path) or "").encode()
    whole = extract_positioned(LANGUAGES["rust"], idx.buffer(rel).tree, data)
    assert [d.name for d in fs.definitions] == [d[0] for d in whole.definitions]
    assert [d.path for d in idx.definitions_named("freshly_typed")] == [rel]
    idx.close()


def test_a_keystroke_parse_that_runs_out_of_time_is_finished_by_the_next_one_or_a_read(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rel = "src/lib.rs"
    docs, idx = _open_buffer(tree, tmp_path, rel)
    path = tree / rel
    lines = path.read_text().split("\n")
    body = lines.index("pub fn largest(shapes: &[Box<dyn Shape>]) -> Option<&dyn Shape> {") + 1
    monkeypatch.setattr(incremental, "KEYSTROKE_PARSE_SECONDS", -1.0)
    calls: list[bool] = []
    real = incremental.parse_within
    monkeypatch.setattr(incremental, "parse_within", lambda *a: calls.append(True) or None)
    version = _type(docs, path, body, 0, "    let tally = count(", 1)
    live = idx.buffer(rel)
    assert len(calls) == len("    let tally = count(") and live.stale and live.pending is not None
    assert not any(r[1] == "count" for r in live.positioned.refs)  # the old symbols, shifted
    # the next keystroke parses from the edited tree again; this time it finishes
    monkeypatch.setattr(incremental, "parse_within", real)
    monkeypatch.setattr(incremental, "KEYSTROKE_PARSE_SECONDS", 60.0)
    version = _type(docs, path, body, len("    let tally = count("), ");\n", version)
    live = idx.buffer(rel)
    assert not live.stale and live.pending is None and not live.tree.root_node.has_error
    got = live.positioned
    assert (got.definitions, got.refs, got.imports) == full_extraction("rust", docs.text(path) or "")
    assert any(r[1] == "count" for r in got.refs)
    # out of time again, then read: the read finishes the parse and, the code being whole,
    # re-extracts only the region typed since; it sees the buffer as it is
    monkeypatch.setattr(incremental, "parse_within", lambda *a: None)
    _type(docs, path, body, 0, "    helper_call();\n", version)
    assert idx.buffer(rel).stale
    regions: list[object] = []
    real_extract = incremental.extract_positioned
    monkeypatch.setattr(incremental, "extract_positioned",
                        lambda spec, tree, data, region=None, *a: regions.append(region)
                        or real_extract(spec, tree, data, region, *a))
    fs = idx.file(rel)
    assert len(regions) == 1 and regions[0] is not None
    live = idx.buffer(rel)
    assert fs is not None and not live.stale and live.pending is None
    assert (live.positioned.definitions, live.positioned.refs, live.positioned.imports) == full_extraction(
        "rust", docs.text(path) or "")
    assert any(r.name == "helper_call" for r in fs.references)
    idx.close()


def test_parse_within_stops_at_its_deadline_and_leaves_the_parser_usable() -> None:
    from lsp_server.context.index.parsers import parse_within

    spec = LANGUAGES["rust"]
    parser = spec.parser()
    data = "".join(f"fn f{i}(x: u32) -> u32 {{ let y = x + {i}; y * 2 }}\n" for i in range(20000)).encode()
    old = parser.parse(data)
    edited = b"fn g(" + data  # an unclosed parenthesis before everything: error recovery
    old.edit(start_byte=0, old_end_byte=0, new_end_byte=5, start_point=(0, 0), old_end_point=(0, 0),
             new_end_point=(0, 5))
    assert parse_within(parser, edited, old, -1.0) is None
    tree = parse_within(parser, edited, old, 60.0)
    assert tree is not None and tree.root_node.end_byte == len(edited)
    assert parser.parse(data).root_node.end_byte == len(data)  # reset: a fresh parse is whole
