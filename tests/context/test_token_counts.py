"""Token estimates by line and for a whole text, and a file's passages tokenized in pieces."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.context.rank.passages import Chunks, passages
from lsp_server.context.rank.terms import tokenize
from lsp_server.context.tokens import _PIECE, count_tokens, line_prefix

# Lines made of what source code holds: words, digits, punctuation, indentation, tabs,
# carriage returns, non-ASCII letters and spaces.
_ALPHABET = st.sampled_from(["a", "Zq", "max_depth", "7", "12345", "(", "::", "{", "}", " ", "    ",
                             "\t", "\r", "é", "\u00a0", "\u3000", "->", "\"", "#"])
_TEXT = st.lists(st.lists(_ALPHABET, max_size=12).map("".join), max_size=20).map("\n".join)


def test_line_prefix_prices_each_line_with_its_newline() -> None:
    text = "fn main() {\n    run(1);\n}"
    prefix = line_prefix(text)
    assert len(prefix) == 4 and prefix[0] == 0
    assert [b - a for a, b in itertools.pairwise(prefix)] == [
        count_tokens(line) + 1 for line in text.split("\n")]
    assert line_prefix("") == [0, 1]


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_counting_substitutions_counts_every_piece(text: str) -> None:
    assert count_tokens(text) == len(_PIECE.findall(text))


@settings(max_examples=200, deadline=None)
@given(_TEXT, st.lists(st.tuples(st.integers(1, 25), st.integers(0, 70)), max_size=6))
def test_chunked_tokens_equal_tokenizing_line_by_line(text: str, spans: list[tuple[int, int]]) -> None:
    lines = text.split("\n")
    ranges = [r for a, n in spans for r in passages(a, a + n)]
    chunks = Chunks(text, ranges)
    by_line = [tokenize(line) for line in lines]
    assert chunks.tokens(1, len(lines)) == [t for toks in by_line for t in toks]
    for a, b in ranges:
        assert chunks.tokens(a, b) == [t for toks in by_line[a - 1:b] for t in toks]
