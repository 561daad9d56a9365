"""Symbol edges: a reference goes to the definition its file imports, not to every namesake."""

from __future__ import annotations

from pathlib import Path

from tree_files import make

from lsp_server.context.index.project import ProjectIndex


def test_imports_disambiguate_namesakes(tmp_path: Path) -> None:
    root = make(tmp_path / "p", {
        "app/__init__.py": "",
        "app/fast.py": "class Parser:\n    def parse(self):\n        pass\n",
        "app/slow.py": "class Parser:\n    def parse(self):\n        pass\n",
        "app/main.py": (
            "from app.slow import Parser\n\n"
            "def run():\n    return Parser().parse()\n\n"
            "def local():\n    return helper()\n\n"
            "def helper():\n    return 1\n"
        ),
    })
    with ProjectIndex.open(root, state_dir=tmp_path / "s") as idx:
        idx.refresh()
        edges = idx.symbol_edges_from("app/main.py")
        parser = [e for e in edges if e.name == "Parser"]
        assert [(e.source, e.target, e.count, e.weight) for e in parser] == [
            ("app.main.run", "app.slow.Parser", 1, 1.0),
        ]
        # a method call is narrowed to the files the caller imports
        parse = [e for e in edges if e.name == "parse"]
        assert [e.target for e in parse] == ["app.slow.Parser.parse"]
        helper = [e for e in edges if e.name == "helper"]
        assert [(e.source, e.target_path, e.target) for e in helper] == [("app.main.local", "app/main.py", "app.main.helper")]
        # the whole-project list is the union of the per-file lists
        assert set(idx.symbol_edges()) >= set(edges)


def test_ambiguous_names_split_their_weight(rust_example: Path, tmp_path: Path) -> None:
    with ProjectIndex.open(rust_example, state_dir=tmp_path / "s") as idx:
        idx.refresh()
        area = [e for e in idx.symbol_edges_from("src/lib.rs") if e.name == "area" and e.source == "crate::total_area"]
        assert {e.target for e in area} == {
            "crate::shapes::Shape::area", "crate::shapes::circle::Circle::area", "crate::shapes::rectangle::Rectangle::area",
        }
        assert all(abs(e.weight - 1 / 3) < 1e-9 for e in area)
        length = [e for e in idx.symbol_edges_from("src/shapes/circle.rs") if e.name == "Length"]
        assert {(e.target_path, e.target) for e in length} == {("src/units.rs", "crate::units::Length")}
        # impl blocks are not targets: every edge to `Circle` lands on the struct's line range
        circle = [e for e in idx.symbol_edges() if e.name == "Circle"]
        assert circle and {(e.target_path, e.target) for e in circle} == {("src/shapes/circle.rs", "crate::shapes::circle::Circle")}
