"""Locating a SEARCH text: exact, then whitespace-insensitive, then fuzzy; refused when ambiguous."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.edits.locate import locate, reindent, split_lines
from lsp_server.errors import EditApplyError

CODE = (
    "def total(items):\n"
    "    result = 0\n"
    "    for item in items:\n"
    "        result += item.price\n"
    "    return result\n"
    "\n"
    "def count(items):\n"
    "    return len(items)\n"
)
LOOP = "    for item in items:\n        result += item.price\n"


def span(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def test_exact() -> None:
    found = locate(CODE, LOOP)
    assert (found.start, found.end, found.method, found.similarity) == (*span(CODE, LOOP), "exact", 1.0)


def test_exact_without_final_newline_and_on_crlf_text() -> None:
    assert (locate(CODE, LOOP.rstrip("\n")).start, locate(CODE, LOOP.rstrip("\n")).end) == span(CODE, LOOP)
    crlf = CODE.replace("\n", "\r\n")
    found = locate(crlf, LOOP)
    assert (found.start, found.end, found.method) == (*span(crlf, LOOP.replace("\n", "\r\n")), "exact")


def test_whitespace_insensitive_records_both_indentations() -> None:
    found = locate(CODE, "for item in items:\n    result  +=   item.price\n")
    assert (found.start, found.end, found.method) == (*span(CODE, LOOP), "whitespace")
    assert (found.indent_from, found.indent_to) == ("", "    ")


def test_whitespace_stage_skips_blank_lines() -> None:
    found = locate(CODE, "    return result\ndef count(items):\n")
    assert (found.start, found.end, found.method) == (*span(CODE, "    return result\n\ndef count(items):\n"), "whitespace")


def test_fuzzy_finds_a_near_copy() -> None:
    near = "    for item in items:\n        result += item.prices\n    return result\n"
    found = locate(CODE, near)
    assert found.method == "fuzzy" and 0.85 <= found.similarity < 1.0
    assert (found.start, found.end) == span(CODE, LOOP + "    return result\n")


@pytest.mark.parametrize(
    ("search", "reason"),
    [
        ("    return len(things)\n    pass\n", "not in the file"),
        ("\n  \n", "the SEARCH text is blank"),
        ("    return result\n", None),
    ],
)
def test_missing_and_blank_are_refused(search: str, reason: str | None) -> None:
    if reason is None:
        assert locate(CODE, search).method == "exact"
        return
    with pytest.raises(EditApplyError, match=reason):
        locate(CODE, search, path="m.py")


def test_ambiguous_exact_is_refused_with_the_count() -> None:
    text = "x = 1\ny = 2\nx = 1\n"
    with pytest.raises(EditApplyError, match=r"m.py: the SEARCH text matches 2 times; add context"):
        locate(text, "x = 1\n", path="m.py")


def test_ambiguous_ignoring_whitespace_is_refused() -> None:
    text = "if a:\n    go()\nif b:\n  go()\n"
    with pytest.raises(EditApplyError, match=r"matches 2 times \(ignoring whitespace\)"):
        locate(text, "go()\n")


def test_fuzzy_refuses_two_similar_places() -> None:
    text = "alpha = compute(1, 2)\nbeta = 0\n\nalpha = compute(1, 3)\nbeta = 0\n"
    with pytest.raises(EditApplyError, match="resembles 2 places"):
        locate(text, "alpha = compute(1, 4)\nbeta = 0\n")


def test_reindent_moves_the_base_indentation() -> None:
    assert reindent("if x:\n    y()\n\nz()\n", "", "  ") == "  if x:\n      y()\n\n  z()\n"
    assert reindent("\tq()\n", "    ", "\t") == "\tq()\n"  # a line without the old indent stays


@pytest.mark.parametrize("separator", ["\x0c", "\x1c", "\x85", "\u2028"])
def test_lines_split_on_line_feeds_only(separator: str) -> None:
    """Form feeds (PEP 8 page breaks) and Unicode separators inside a line are not line ends."""
    text = f"a = 1\n{separator}\ns = 'x{separator}y'\nb = 2\n"
    assert [c for _, _, c in split_lines(text)] == ["a = 1", separator, f"s = 'x{separator}y'", "b = 2"]
    search = f"{separator}\ns = 'x{separator}y'\n"
    found = locate(text, search)
    assert (found.start, found.end, found.method) == (*span(text, search), "exact")


# --- properties ---------------------------------------------------------------------------

# Distinct lines (a number each) at random indentation; a slice of them is a unique anchor.
_INDENTS = st.sampled_from(["", "  ", "    ", "        "])
_BLOCKS = st.lists(_INDENTS, min_size=1, max_size=25).map(
    lambda indents: "".join(f"{ind}value_{i} = compute({i})\n" for i, ind in enumerate(indents))
)


@st.composite
def _anchored(draw: st.DrawFn) -> tuple[str, int, int]:
    text = draw(_BLOCKS)
    n = text.count("\n")
    first = draw(st.integers(0, n - 1))
    last = draw(st.integers(first, n - 1))
    return text, first, last


@settings(max_examples=100, deadline=None)
@given(_anchored(), st.sampled_from(["\t", " ", "   "]))
def test_unique_anchor_same_span_under_reindentation(case: tuple[str, int, int], indent: str) -> None:
    text, first, last = case
    lines = text.splitlines(keepends=True)
    search = "".join(lines[first : last + 1])
    start = sum(len(line) for line in lines[:first])
    exact = locate(text, search)
    assert (exact.start, exact.end, exact.method) == (start, start + len(search), "exact")
    moved = "".join(indent + line.lstrip(" ") for line in lines[first : last + 1])
    found = locate(text, moved)
    assert (found.start, found.end) == (exact.start, exact.end)
    assert found.method == "whitespace"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["a()", "b()", "    c()"]), min_size=1, max_size=4),
    st.lists(st.sampled_from(["x = 1", "y = 2", "    z()"]), max_size=6),
    st.integers(2, 4),
)
def test_repeated_anchor_is_always_refused(anchor: list[str], filler: list[str], copies: int) -> None:
    block = "".join(line + "\n" for line in anchor)
    text = "".join(block + "".join(f + "\n" for f in filler) for _ in range(copies))
    with pytest.raises(EditApplyError, match="matches"):
        locate(text, block)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_split_lines_covers_the_text_and_splits_only_on_line_ends(text: str) -> None:
    lines = split_lines(text)
    assert "".join(text[s:e] for s, e, _ in lines) == text
    ends = [text[s:e][len(content):] for s, e, content in lines]
    assert all(end in ("\n", "\r\n", "\r") for end in ends[:-1])
    assert all(text[s:e].startswith(content) and not set(content) & {"\r", "\n"} for s, e, content in lines)
