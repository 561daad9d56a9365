"""Rust resolution on small real trees: mod files, #[path], use crate/super/self, pub use
re-exports, inline modules, and workspace member crates named from other crates."""

from __future__ import annotations

from pathlib import Path

import pytest
from tree_files import make

from lsp_server.context.index.project import ProjectIndex


def targets(idx: ProjectIndex, path: str) -> dict[str, str | None]:
    return {f"{i.kind} {i.text}": i.target for i in idx.imports_of(path)}


@pytest.fixture
def crate(tmp_path: Path) -> ProjectIndex:
    root = make(tmp_path / "app", {
        "Cargo.toml": '[package]\nname = "my-app"\nversion = "0.1.0"\n',
        "src/lib.rs": (
            "mod a;\nmod b;\n#[path = \"weird/place.rs\"]\nmod c;\n"
            "pub use a::deep::Thing;\npub use b::Other as Renamed;\n"
            "mod inline {\n    use super::a::Alpha;\n    mod nested;\n}\n"
        ),
        "src/a.rs": "pub mod deep;\npub struct Alpha;\nuse self::deep::Thing;\n",
        "src/a/deep.rs": "pub struct Thing;\nuse super::super::b::Other;\nuse crate::Renamed;\n",
        "src/b/mod.rs": "pub struct Other;\nuse crate::Thing;\nuse crate::c::Placed;\nuse std::fmt;\n",
        "src/weird/place.rs": "pub struct Placed;\nmod child;\n",
        "src/weird/child.rs": "pub fn child() {}\n",
        "src/inline/nested.rs": "use crate::inline::nested;\n",
        "src/orphan.rs": "pub fn orphan() {}\n",
    })
    idx = ProjectIndex.open(root, state_dir=tmp_path / "state")
    idx.refresh()
    return idx


def test_mod_declarations_resolve_to_files(crate: ProjectIndex) -> None:
    lib = targets(crate, "src/lib.rs")
    assert lib["mod a"] == "src/a.rs"
    assert lib["mod b"] == "src/b/mod.rs"  # the x/mod.rs form
    assert lib["mod c"] == "src/weird/place.rs"  # #[path]
    assert lib["mod nested"] == "src/inline/nested.rs"  # declared inside an inline module
    assert targets(crate, "src/a.rs")["mod deep"] == "src/a/deep.rs"  # non-mod.rs file: a/deep.rs
    assert targets(crate, "src/weird/place.rs")["mod child"] == "src/weird/child.rs"


def test_use_paths_and_reexports(crate: ProjectIndex) -> None:
    assert targets(crate, "src/lib.rs")["pub-use a::deep::Thing"] == "src/a/deep.rs"
    assert targets(crate, "src/lib.rs")["use super::a::Alpha"] == "src/a.rs"  # super from inline mod
    assert targets(crate, "src/a.rs")["use self::deep::Thing"] == "src/a/deep.rs"
    deep = targets(crate, "src/a/deep.rs")
    assert deep["use super::super::b::Other"] == "src/b/mod.rs"
    assert deep["use crate::Renamed"] == "src/b/mod.rs"  # through `pub use b::Other as Renamed`
    b = targets(crate, "src/b/mod.rs")
    assert b["use crate::Thing"] == "src/a/deep.rs"  # through `pub use a::deep::Thing`
    assert b["use crate::c::Placed"] == "src/weird/place.rs"
    assert b["use std::fmt"] is None  # external


def test_module_prefixes_follow_the_module_tree(crate: ProjectIndex) -> None:
    assert crate.module_prefix("src/lib.rs") == "crate"
    assert crate.module_prefix("src/a/deep.rs") == "crate::a::deep"
    assert crate.module_prefix("src/weird/place.rs") == "crate::c"
    assert crate.module_prefix("src/weird/child.rs") == "crate::c::child"
    assert crate.module_prefix("src/inline/nested.rs") == "crate::inline::nested"
    assert crate.module_prefix("src/orphan.rs") == "crate::orphan"  # unreachable: guessed from path
    thing = crate.definitions_named("Thing")
    assert [d.qualname for d in thing] == ["crate::a::deep::Thing"]


def test_workspace_member_crates(tmp_path: Path) -> None:
    root = make(tmp_path / "ws", {
        "Cargo.toml": (
            '[package]\nname = "tool"\n[[bin]]\nname = "tool"\npath = "crates/cli/main.rs"\n'
            '[workspace]\nmembers = ["crates/*"]\n'
            '[dependencies]\ngrep = { path = "crates/grep" }\nfancy = { path = "crates/fancy-name", package = "fancy-name" }\n'
        ),
        "crates/cli/main.rs": (
            "mod args;\nuse grep_regex::RegexMatcher;\nuse grep::Searcher;\nuse fancy::Pretty;\n"
            "use crate::args::Args;\nfn main() {}\n"
        ),
        "crates/cli/args.rs": "pub struct Args;\n",
        "crates/regex/Cargo.toml": '[package]\nname = "grep-regex"\n',
        "crates/regex/src/lib.rs": "mod matcher;\npub use crate::matcher::RegexMatcher;\n",
        "crates/regex/src/matcher.rs": "pub struct RegexMatcher;\nimpl RegexMatcher { pub fn new() -> Self { RegexMatcher } }\n",
        "crates/grep/Cargo.toml": '[package]\nname = "grep"\n[dependencies]\ngrep-regex = { path = "../regex" }\n',
        "crates/grep/src/lib.rs": "pub mod search;\npub use search::Searcher;\npub use grep_regex as regex;\n",
        "crates/grep/src/search.rs": "pub struct Searcher;\n",
        "crates/fancy-name/Cargo.toml": '[package]\nname = "fancy-name"\n[lib]\npath = "lib.rs"\n',
        "crates/fancy-name/lib.rs": "pub struct Pretty;\n",
        "crates/grep/tests/it.rs": "use grep::search::Searcher;\n",
    })
    with ProjectIndex.open(root, state_dir=tmp_path / "s") as idx:
        idx.refresh()
        main = targets(idx, "crates/cli/main.rs")
        assert main["use grep_regex::RegexMatcher"] == "crates/regex/src/matcher.rs"
        assert main["use grep::Searcher"] == "crates/grep/src/search.rs"
        assert main["use fancy::Pretty"] == "crates/fancy-name/lib.rs"  # renamed dependency
        assert main["use crate::args::Args"] == "crates/cli/args.rs"
        assert targets(idx, "crates/grep/tests/it.rs")["use grep::search::Searcher"] == "crates/grep/src/search.rs"
        # qualnames: `crate` for the root package's main target, crate names for the others
        assert idx.module_prefix("crates/cli/args.rs") == "crate::args"
        new = idx.definitions_named("new")
        assert [d.qualname for d in new] == ["grep_regex::matcher::RegexMatcher::new"]
        assert idx.module_prefix("crates/grep/tests/it.rs") == "it"
        assert idx.file_edges()["crates/cli/main.rs"] >= {
            "crates/regex/src/matcher.rs", "crates/grep/src/search.rs", "crates/cli/args.rs",
        }


def test_auto_discovered_targets_belong_to_their_own_package(tmp_path: Path) -> None:
    """Cargo's target discovery (src/bin/*.rs, src/bin/x/main.rs, tests/, examples/,
    benches/): each file is a crate root of the package whose directory holds it, never of
    the workspace root above it."""
    root = make(tmp_path / "ws", {
        "Cargo.toml": '[package]\nname = "top"\n[workspace]\nmembers = ["tool"]\n',
        "src/lib.rs": "pub fn top() {}\n",
        "tests/smoke.rs": "mod helper;\n",
        "tests/helper.rs": "pub fn help() {}\n",
        "tool/Cargo.toml": '[package]\nname = "tool"\n',
        "tool/src/main.rs": "mod cli;\n",
        "tool/src/cli.rs": "pub fn run() {}\n",
        "tool/src/bin/extra.rs": "mod more;\n",
        "tool/src/bin/more.rs": "pub fn more() {}\n",
        "tool/src/bin/multi/main.rs": "mod part;\n",
        "tool/src/bin/multi/part.rs": "pub fn part() {}\n",
        "tool/tests/it.rs": "fn t() {}\n",
        "tool/examples/demo/main.rs": "fn main() {}\n",
        "tool/examples/plain.rs": "fn main() {}\n",
        "tool/benches/speed.rs": "fn b() {}\n",
    })
    with ProjectIndex.open(root, state_dir=tmp_path / "s") as idx:
        idx.refresh()
        prefixes = {p: idx.module_prefix(p) for p in (
            "src/lib.rs", "tests/smoke.rs", "tests/helper.rs", "tool/src/main.rs", "tool/src/cli.rs",
            "tool/src/bin/extra.rs", "tool/src/bin/multi/main.rs", "tool/src/bin/multi/part.rs",
            "tool/tests/it.rs", "tool/examples/demo/main.rs", "tool/examples/plain.rs",
            "tool/benches/speed.rs",
        )}
        assert prefixes == {
            "src/lib.rs": "crate",
            "tests/smoke.rs": "smoke",
            "tests/helper.rs": "helper",  # a root of its own too: Cargo makes every tests/*.rs one
            "tool/src/main.rs": "tool",
            "tool/src/cli.rs": "tool::cli",
            "tool/src/bin/extra.rs": "extra",
            "tool/src/bin/multi/main.rs": "multi",
            "tool/src/bin/multi/part.rs": "multi::part",
            "tool/tests/it.rs": "it",
            "tool/examples/demo/main.rs": "demo",
            "tool/examples/plain.rs": "plain",
            "tool/benches/speed.rs": "speed",
        }


def test_example_crate_graph(rust_example: Path, tmp_path: Path) -> None:
    with ProjectIndex.open(rust_example, state_dir=tmp_path / "s") as idx:
        idx.refresh()
        assert idx.file_edges() == {
            "src/lib.rs": {"src/shapes/mod.rs", "src/shapes/circle.rs", "src/shapes/rectangle.rs", "src/units.rs"},
            "src/shapes/mod.rs": {"src/shapes/circle.rs", "src/shapes/rectangle.rs"},
            "src/shapes/circle.rs": {"src/shapes/mod.rs", "src/units.rs"},
            "src/shapes/rectangle.rs": {"src/shapes/mod.rs", "src/units.rs"},
            "src/units.rs": set(),
        }
