"""Request-term extraction and the shared tokenizer."""

from __future__ import annotations

from pathlib import Path

from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.ranking import ContextRequest, rank
from lsp_server.context.rank.terms import clean_request, extract_terms, split_identifier, tokenize
from lsp_server.context.tokens import count_tokens


def test_split_identifier_handles_camel_snake_acronyms_and_digits() -> None:
    assert split_identifier("parseHTTPResponse_v2") == ["parse", "http", "response", "v2"]
    assert split_identifier("max_depth") == ["max", "depth"]
    assert split_identifier("IOError") == ["io", "error"]
    assert split_identifier("utf8") == ["utf8"]


def test_tokenize_keeps_parts_and_the_compound_and_drops_stop_words() -> None:
    toks = tokenize("The walker panics in WalkBuilder::max_depth")
    assert "walker" in toks and "panic" in toks
    assert {"walk", "builder", "walkbuilder", "max", "depth", "max_depth"} <= set(toks)
    assert "the" not in toks and "in" not in toks


def test_code_like_mentions_outweigh_prose_words() -> None:
    terms = extract_terms("Crash when calling `load_dataset` from the plotting module with HueMapper")
    assert terms.identifiers["load_dataset"] == 1.0
    assert terms.identifiers["HueMapper"] == 1.0
    assert terms.identifiers["plotting"] < 0.5
    assert "the" not in terms.identifiers


def test_paths_tracebacks_flags_and_rust_paths() -> None:
    text = (
        'Traceback:\n  File "src/pkg/core.py", line 42, in resolve_thing\n'
        "see crates/core/main.rs:17 and `rg --max-depth 2`; crate::search::Searcher::new fails\n"
    )
    terms = extract_terms(text)
    assert terms.paths["src/pkg/core.py"] == 42
    assert terms.paths["crates/core/main.rs"] == 17
    assert "max_depth" in terms.flags
    assert terms.identifiers["resolve_thing"] == 1.0
    assert terms.identifiers["Searcher"] == 1.0


def test_fenced_code_identifiers_are_weighted_as_code() -> None:
    terms = extract_terms("Example:\n```python\nsns.pairplot(iris, hue_order=['a'])\n```\n")
    assert terms.identifiers["pairplot"] == 1.0
    assert terms.identifiers["hue_order"] == 1.0


def test_diagnostics_are_read_too() -> None:
    terms = extract_terms("fix this", "error[E0425]: cannot find value `frobnicate_all` in this scope")
    assert "frobnicate_all" in terms.identifiers


def test_count_tokens_is_a_sane_estimate() -> None:
    assert count_tokens("") == 0
    assert count_tokens("hello world, this is a test of the system.") == 11
    code = "fn main() {\n    let x = compute_value(42);\n    println!(\"{}\", x);\n}\n"
    # Between 2.5 and 5 characters per token on ordinary code.
    assert len(code) / 5 <= count_tokens(code) <= len(code) / 2.5


def test_issue_template_noise_is_dropped_but_code_kept() -> None:
    text = (
        "Walker skips hidden dirs\n<!-- Please fill in the template below -->\n"
        "#### What version of the tool are you using?\n13.0\n"
        "```python\n# this comment stays\nwalk_tree(hidden=True)\n```\n"
    )
    cleaned = clean_request(text)
    assert "template" not in cleaned and "What version" not in cleaned
    assert "# this comment stays" in cleaned and "walk_tree(hidden=True)" in cleaned
    terms = extract_terms(text)
    assert "template" not in terms.tokens
    # The first line (the title) counts twice in the lexical query.
    assert terms.tokens.count("walker") == 2
    assert terms.identifiers["walk_tree"] == 1.0
    assert "walk_tree(hidden=True)" in terms.phrases


def test_environment_listings_are_dropped() -> None:
    text = (
        "xfail added at run time no longer ignores the failure\n"
        "```\n$ pip list\nPackage        Version\n-------------- -------\n"
        "attrs          19.1.0\nmore-itertools 7.0.0\npluggy         0.13.1\n```\n"
        "pytest 6.0.0rc0 on Linux: `request.node.add_marker(mark)` raises.\n"
    )
    cleaned = clean_request(text)
    assert "attrs" not in cleaned and "itertools" not in cleaned and "-------" not in cleaned
    # A single version line is something to read, not a listing.
    assert "pytest 6.0.0rc0" in cleaned and "add_marker" in cleaned
    terms = extract_terms(text)
    assert "pluggy" not in terms.tokens and "add_marker" in terms.identifiers


def test_raise_sites_are_innermost_frames_first() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/venv/bin/tool", line 8, in <module>\n'
        '  File "/venv/lib/site-packages/pkg/cli.py", line 20, in main\n'
        '  File "/venv/lib/site-packages/pkg/core.py", line 42, in resolve\n'
        "ValueError: boom\n"
        "and later: thread 'main' panicked at src/walk.rs:12:5:\n"
    )
    terms = extract_terms(text)
    assert terms.raise_sites == (
        "src/walk.rs",
        "venv/lib/site-packages/pkg/core.py",
        "venv/lib/site-packages/pkg/cli.py",
        "venv/bin/tool",
    )
    assert terms.paths["src/walk.rs"] == 12
    assert extract_terms("no traceback here").raise_sites == ()


def test_links_are_not_read_as_code_but_links_to_files_name_the_file() -> None:
    text = (
        "Conversion from `Bytes` to `Vec<u8>` was added in "
        "https://github.com/tokio-rs/bytes/pull/151/commits/824a986fec988eaa7f9313838a01c7ff6d0e85bb "
        "and dropped later; screenshot [here](https://ibb.co/dpLKkL9).\n"
        "The wrapping happens in <https://github.com/sharkdp/bat/blob/master/src/printer.rs#L120>, "
        "see also https://gitlab.com/o/r/-/blob/v1.2/crates/core/app.rs?plain=1 and "
        "https://github.com/o/r/blob/0a1b2c/src/walk.rs.\n"
    )
    terms = extract_terms(text)
    assert "Bytes" in terms.identifiers
    for host_part in ("github", "com", "ibb", "tokio", "commits", "blob", "dpLKkL9"):
        assert host_part not in terms.identifiers
    assert terms.paths == {"src/printer.rs": 120, "crates/core/app.rs": None, "src/walk.rs": None}
    assert not any("github" in p or "http" in p for p in terms.phrases)
    # Words in links still count lexically (measured: no gain from dropping them there).
    assert "conversion" in terms.tokens and "github" in terms.tokens


def test_a_file_linked_in_the_request_ranks_as_named(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text("pub mod printer;\npub mod style;\n", encoding="utf-8")
    (tmp_path / "src" / "printer.rs").write_text("pub fn print_line() {}\n", encoding="utf-8")
    (tmp_path / "src" / "style.rs").write_text(
        "/// Wrapping of long lines: the wrap width and the wrap mode.\n"
        "pub fn wrap_width() -> usize { 80 }\n", encoding="utf-8")
    request = ContextRequest(text="Long lines wrap at the wrong width, see "
                                  "https://github.com/o/r/blob/main/src/printer.rs#L1")
    with ProjectIndex.open(tmp_path, state_dir=tmp_path / ".state") as index:
        index.refresh()
        files, _ = rank(index, request)
    assert files[0].path == "src/printer.rs"
    assert "path named in the request" in files[0].reasons
