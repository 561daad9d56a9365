"""Definitions, references and qualified names from the example workspaces (real tree-sitter)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.context.index.project import ProjectIndex


@pytest.fixture
def rust(rust_example: Path, tmp_path: Path) -> ProjectIndex:
    idx = ProjectIndex.open(rust_example, state_dir=tmp_path / "s")
    idx.refresh()
    return idx


@pytest.fixture
def python(python_example: Path, tmp_path: Path) -> ProjectIndex:
    idx = ProjectIndex.open(python_example, state_dir=tmp_path / "s")
    idx.refresh()
    return idx


def test_rust_qualified_names_kinds_and_signatures(rust: ProjectIndex) -> None:
    assert rust.files() == [
        "src/lib.rs", "src/shapes/circle.rs", "src/shapes/mod.rs", "src/shapes/rectangle.rs", "src/units.rs",
    ]
    circle = rust.file("src/shapes/circle.rs")
    assert circle is not None and circle.language == "rust" and circle.lines == 24
    by_qual = {(d.qualname, d.kind) for d in circle.definitions}
    assert ("crate::shapes::circle::Circle", "struct") in by_qual
    assert ("crate::shapes::circle::Circle", "impl") in by_qual
    area = next(d for d in circle.definitions if d.name == "area")
    assert (area.kind, area.qualname, area.parent) == (
        "method", "crate::shapes::circle::Circle::area", "crate::shapes::circle::Circle",
    )
    assert area.signature == "fn area(&self) -> f64"
    assert (area.start_line, area.end_line) == (16, 19)
    text = rust.text("src/shapes/circle.rs")
    assert text is not None
    assert text.encode()[area.start_byte : area.end_byte].startswith(b"fn area(&self) -> f64 {")
    trait_fns = {d.qualname for d in rust.definitions_named("area")}
    assert trait_fns == {
        "crate::shapes::circle::Circle::area",
        "crate::shapes::rectangle::Rectangle::area",
        "crate::shapes::Shape::area",
    }
    lib = rust.file("src/lib.rs")
    assert lib is not None
    assert "crate::tests::total_area_adds_up" in {d.qualname for d in lib.definitions}


def test_rust_references_carry_their_enclosing_definition(rust: ProjectIndex) -> None:
    refs = rust.references_named("total_area")
    assert [(r.path, r.kind, r.line, r.enclosing) for r in refs] == [
        ("src/lib.rs", "call", 32, "crate::tests::total_area_adds_up"),
    ]
    as_meters = {(r.path, r.enclosing) for r in rust.references_named("as_meters")}
    assert ("src/shapes/circle.rs", "crate::shapes::circle::Circle::area") in as_meters
    # the name of a definition is not a reference to it
    assert all(r.line != 5 for r in rust.references_named("Circle") if r.path == "src/shapes/circle.rs")


def test_definition_at_is_innermost(rust: ProjectIndex) -> None:
    d = rust.definition_at("src/shapes/circle.rs", 17)
    assert d is not None and d.qualname == "crate::shapes::circle::Circle::area"
    d = rust.definition_at("src/shapes/circle.rs", 15)
    assert d is not None and d.kind == "impl"
    assert rust.definition_at("src/shapes/circle.rs", 1) is None
    assert rust.definition_at("nope.rs", 1) is None


def test_python_qualified_names(python: ProjectIndex) -> None:
    models = python.file("inventory/models.py")
    assert models is not None
    quals = {d.qualname: d for d in models.definitions}
    add = quals["inventory.models.Stock.add"]
    assert (add.kind, add.parent) == ("method", "inventory.models.Stock")
    assert add.signature == "def add(self, item: Item, quantity: int) -> None:"
    item = quals["inventory.models.Item"]
    assert item.kind == "class" and item.start_line == 8  # the decorator starts the definition
    assert quals["inventory.models.Stock.items"].kind == "attribute"
    assert [d.qualname for d in python.definitions_named("total_value")] == ["inventory.pricing.total_value"]
    refs = python.references_named("Stock")
    assert ("inventory/pricing.py", "inventory.pricing.total_value") in {(r.path, r.enclosing) for r in refs}


def _crate(tmp_path: Path, files: dict[str, str]) -> Path:
    """A one-package crate named ``m`` with these files."""
    root = tmp_path / "m"
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text('[package]\nname = "m"\n')
    for rel, text in files.items():
        (root / rel).write_text(text)
    return root


def test_macro_bodies_in_item_position_are_indexed(tmp_path: Path) -> None:
    root = _crate(tmp_path, {
        "src/lib.rs": "cfg_rt! {\n    pub mod runtime;\n    pub fn spawn() -> Handle { Handle::new() }\n}\n"
                      "impl Handle {\n    cfg_io! {\n        pub fn io(&self) {}\n    }\n}\n",
        "src/runtime.rs": "pub struct Handle;\n",
    })
    with ProjectIndex.open(root, state_dir=tmp_path / "s") as idx:
        idx.refresh()
        lib = idx.file("src/lib.rs")
        assert lib is not None
        defs = {(d.qualname, d.kind, d.start_line) for d in lib.definitions}
        assert ("crate::spawn", "function", 3) in defs
        assert ("crate::Handle::io", "method", 7) in defs
        assert {r.name for r in lib.references} >= {"Handle", "new"}
        assert idx.file_edges()["src/lib.rs"] == {"src/runtime.rs"}
        assert idx.module_prefix("src/runtime.rs") == "crate::runtime"


def test_calls_inside_macro_arguments_are_references(tmp_path: Path) -> None:
    """A macro's arguments parse as bare tokens; a name right before a token tree is a call
    (``call_in_macro``), listed among the references but not linked in the graph."""
    root = _crate(tmp_path, {
        "src/lib.rs": "pub fn area(r: f64) -> f64 { r * r }\n"
                      "pub fn report() { println!(\"{}\", area(2.0)); }\n"
                      "#[test]\nfn area_of_one() {\n    assert_eq!(area(1.0), 1.0);\n"
                      "    let v = vec![Shape::new(area(3.0))];\n}\n",
    })
    with ProjectIndex.open(root, state_dir=tmp_path / "s") as idx:
        idx.refresh()
        calls = [(r.kind, r.line, r.enclosing) for r in idx.references_named("area")]
        assert calls == [("call_in_macro", 2, "crate::report"),
                         ("call_in_macro", 5, "crate::area_of_one"),
                         ("call_in_macro", 6, "crate::area_of_one")]
        assert [r.line for r in idx.references_named("new")] == [6]
        # listed as callers, not linked: the graph's edges stay those of plain calls
        assert not any(e.name == "area" for e in idx.edges_by_file().get("src/lib.rs", []))
