"""The parser: both edit formats, the model quirks it tolerates, the answers it rejects."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.edits import DefinitionReplace, SearchReplace, format_edits, parse_edits
from lsp_server.edits.parser import _DIVIDER_RE, _REPLACE_RE, _SEARCH_RE
from lsp_server.edits.paths import normalize_path
from lsp_server.errors import EditParseError

SR = "search_replace"
WD = "whole_definition"

BLOCK = "src/a.rs\n<<<<<<< SEARCH\nfn a() {}\n=======\nfn a() { 1 }\n>>>>>>> REPLACE\n"
EXPECTED = [SearchReplace("src/a.rs", "fn a() {}\n", "fn a() { 1 }\n")]


# --- search/replace -----------------------------------------------------------------------


def test_canonical_block() -> None:
    assert parse_edits(BLOCK, SR) == EXPECTED


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(f"```rust\n{BLOCK}```\n", id="fenced"),
        pytest.param("src/a.rs\n```rust\n" + BLOCK.split("\n", 1)[1] + "```\n", id="path-above-fence"),
        pytest.param(BLOCK.replace("\n", "\r\n"), id="crlf"),
        pytest.param(BLOCK.replace("\n", "\r"), id="cr"),
        pytest.param(BLOCK.rstrip("\n"), id="no-final-newline"),
        pytest.param(f"Here is the fix.\n\n{BLOCK}\nThat should do it.\n", id="prose-around"),
        pytest.param(BLOCK.replace("<<<<<<<", "<<<<<").replace(">>>>>>>", ">>>>>>>>>")
                     .replace("=======", "========="), id="marker-runs-5-and-9"),
        pytest.param(BLOCK.replace("src/a.rs\n<<<<<<< SEARCH", "<<<<<<< SEARCH src/a.rs"),
                     id="path-on-search-line"),
        pytest.param(BLOCK.replace("src/a.rs", "**`./src\\a.rs`**"), id="decorated-windows-path"),
        pytest.param(BLOCK.replace("src/a.rs", "### File: src/a.rs:"), id="heading-file-prefix"),
        pytest.param(BLOCK.replace("src/a.rs", "Change `src/a.rs` like this:"), id="prose-with-ticked-path"),
        pytest.param(BLOCK.replace("SEARCH", "search").replace("REPLACE", "replace"), id="lowercase-markers"),
    ],
)
def test_tolerated_quirks(answer: str) -> None:
    assert parse_edits(answer, SR) == EXPECTED


def test_block_without_path_takes_previous_path_then_default() -> None:
    second = "<<<<<<< SEARCH\nb\n=======\nc\n>>>>>>> REPLACE\n"
    assert parse_edits(BLOCK + "\n" + second, SR)[1] == SearchReplace("src/a.rs", "b\n", "c\n")
    assert parse_edits(second, SR, default_path="./lib\\m.py") == [SearchReplace("lib/m.py", "b\n", "c\n")]


def test_dotfile_path_is_not_mistaken_for_prose() -> None:
    """A block for a dotfile must not silently fall back to the previous or default path."""
    answer = ".gitignore\n<<<<<<< SEARCH\n=======\n*.pyc\n>>>>>>> REPLACE\n"
    assert parse_edits(answer, SR, default_path="src/a.py") == [SearchReplace(".gitignore", "", "*.pyc\n")]


def test_explicit_path_beats_default_and_blocks_keep_their_order() -> None:
    other = "src/b.rs\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n"
    edits = parse_edits(BLOCK + other, SR, default_path="src/c.rs")
    assert [e.path for e in edits] == ["src/a.rs", "src/b.rs"]


def test_empty_search_and_empty_replace() -> None:
    create = "new/mod.py\n<<<<<<< SEARCH\n=======\nX = 1\n>>>>>>> REPLACE\n"
    delete = "a.py\n<<<<<<< SEARCH\ngone()\n=======\n>>>>>>> REPLACE\n"
    assert parse_edits(create, SR) == [SearchReplace("new/mod.py", "", "X = 1\n")]
    assert parse_edits(delete, SR) == [SearchReplace("a.py", "gone()\n", "")]


def test_blank_lines_inside_sections_are_kept() -> None:
    answer = "a.py\n<<<<<<< SEARCH\nx = 1\n\ny = 2\n=======\nx = 1\n\n\ny = 3\n>>>>>>> REPLACE\n"
    assert parse_edits(answer, SR) == [SearchReplace("a.py", "x = 1\n\ny = 2\n", "x = 1\n\n\ny = 3\n")]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("I cannot help with that.", "no search/replace blocks"),
        ("src/a.rs\n<<<<<<< SEARCH\nfn a() {}\n", "no '=======' after the SEARCH lines"),
        ("src/a.rs\n<<<<<<< SEARCH\nfn a() {}\n=======\nfn b() {}\n", "no '>>>>>>> REPLACE' at its end"),
        ("src/a.rs\n<<<<<<< SEARCH\na\n>>>>>>> REPLACE\n", "SEARCH section has no '=======' divider"),
        ("src/a.rs\n<<<<<<< SEARCH\na\n=======\nb\n<<<<<<< SEARCH\n", "before the next block"),
        (">>>>>>> REPLACE\n", "without a '<<<<<<< SEARCH' block"),
        ("<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n", "no file path"),
        ("Here is the change:\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n", "no file path"),
    ],
)
def test_rejected_answers_say_why(answer: str, reason: str) -> None:
    with pytest.raises(EditParseError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_edits(answer, SR)


def test_unknown_format_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown edit format 'udiff'"):
        parse_edits(BLOCK, "udiff")


# --- whole definition ---------------------------------------------------------------------

BODY = "def area(r):\n    return 3.14 * r * r\n"


@pytest.mark.parametrize(
    "header",
    [
        "REPLACE area IN geo/shapes.py",
        "REPLACE FUNCTION `area` IN geo/shapes.py:",
        "### REPLACE area IN geo/shapes.py",
        "**REPLACE area IN geo/shapes.py**",
        "replace definition area in ./geo/shapes.py",
    ],
)
def test_definition_headers(header: str) -> None:
    answer = f"Sure.\n{header}\n\n```python\n{BODY}```\nDone.\n"
    assert parse_edits(answer, WD) == [DefinitionReplace("geo/shapes.py", "area", BODY)]


def test_qualified_symbols_and_path_carried_forward() -> None:
    answer = (
        "REPLACE Circle::area IN src/lib.rs\n```rust\nfn area() {}\n```\n"
        "REPLACE Stock.add\n```\ndef add(self): pass\n```\n"
    )
    assert parse_edits(answer, WD) == [
        DefinitionReplace("src/lib.rs", "Circle::area", "fn area() {}\n"),
        DefinitionReplace("src/lib.rs", "Stock.add", "def add(self): pass\n"),
    ]


def test_definition_body_may_hold_a_shorter_fence() -> None:
    body = 'def doc():\n    """\n    ```\n    x\n    ```\n    """\n'
    answer = f"REPLACE doc IN a.py\n````python\n{body}````\n"
    assert parse_edits(answer, WD) == [DefinitionReplace("a.py", "doc", body)]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("No change needed.", "no definition replacements"),
        ("REPLACE area\n```\ndef area(): pass\n```\n", "no file path after IN"),
        ("REPLACE area IN a.py\ndef area(): pass\n", "not followed by a code block"),
        ("REPLACE area IN a.py\n```python\ndef area(): pass\n", "its code block never closes"),
        ("REPLACE area IN a.py\n```python\n\n```\n", "the code block is empty"),
        ("REPLACE area IN the file\n```\ndef area(): pass\n```\n", "is not a file path"),
    ],
)
def test_rejected_definitions_say_why(answer: str, reason: str) -> None:
    with pytest.raises(EditParseError, match=reason):
        parse_edits(answer, WD)


# --- paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("src/a.rs", "src/a.rs"),
        ("./src/a.rs", "src/a.rs"),
        ("`src/a.rs`", "src/a.rs"),
        ("- src//a.rs", "src/a.rs"),
        ("1. Makefile", "Makefile"),
        ("Filename: a.py", "a.py"),
        ("The fix:", None),
        ("Edit `a.py` and `b.py`:", None),
        ("src/", None),
        ("README notes", None),
        ("```python", None),
        (".gitignore", ".gitignore"),
        ("`.env`", ".env"),
        ("Add this to `.editorconfig`:", ".editorconfig"),
        ("...", None),
        ("etc.", None),
        (".5", None),
    ],
)
def test_normalize_path(line: str, expected: str | None) -> None:
    assert normalize_path(line) == expected


# --- round trip ---------------------------------------------------------------------------

_ANY_LINE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30
)
# Lines that are not markers (a SEARCH text cannot hold "=======" or ">>>>>>> REPLACE").
_MARKER_FREE = _ANY_LINE.filter(
    lambda line: not any(r.match(line) for r in (_SEARCH_RE, _DIVIDER_RE, _REPLACE_RE))
)
_LINES = st.lists(_MARKER_FREE, max_size=5).map(lambda ls: "".join(line + "\n" for line in ls))
_PATHS = st.from_regex(r"[a-z][a-z0-9_]{0,8}(/[a-z0-9_]{1,8}){0,2}\.(py|rs|toml)", fullmatch=True)
_SYMBOLS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}((::|\.)[A-Za-z_][A-Za-z0-9_]{0,10})?", fullmatch=True)
_BODIES = st.lists(_ANY_LINE, min_size=1, max_size=5).filter(
    lambda ls: any(line.strip() for line in ls)
).map(lambda ls: "".join(line + "\n" for line in ls))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.builds(SearchReplace, _PATHS, _LINES, _LINES), min_size=1, max_size=4))
def test_search_replace_round_trips(edits: list[SearchReplace]) -> None:
    assert parse_edits(format_edits(edits), SR) == edits


@settings(max_examples=150, deadline=None)
@given(st.lists(st.builds(DefinitionReplace, _PATHS, _SYMBOLS, _BODIES), min_size=1, max_size=4))
def test_whole_definition_round_trips(edits: list[DefinitionReplace]) -> None:
    assert parse_edits(format_edits(edits), WD) == edits
