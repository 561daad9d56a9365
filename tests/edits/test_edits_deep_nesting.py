"""A deeply nested file is checked and searched without exhausting Python's recursion limit."""

from __future__ import annotations

import sys

from lsp_server.context.index.languages import language_for
from lsp_server.edits.checks import syntax_errors
from lsp_server.edits.definitions import definitions_in, find_definition

DEPTH = 2000


def nested_modules(depth: int) -> str:
    opening = "".join(f"mod m{i} {{\n" for i in range(depth))
    return opening + "fn innermost() -> i32 { 1 }\n" + "}\n" * depth + "fn target() -> i32 { 2 }\n"


def test_definitions_in_a_file_nested_deeper_than_the_recursion_limit() -> None:
    assert sys.getrecursionlimit() < DEPTH
    spec = language_for("deep.rs")
    assert spec is not None
    text = nested_modules(DEPTH)
    found = definitions_in(text, spec)
    names = [d.name for d in found]
    # outermost first, in document order: m0, m1, ..., innermost, then the next top-level item
    assert names[:3] == ["m0", "m1", "m2"] and names[-2:] == ["innermost", "target"]
    assert len(found) == DEPTH + 2
    innermost = found[-2]
    assert innermost.parents == tuple(f"m{i}" for i in range(DEPTH))
    target = find_definition(text, "deep.rs", "target")
    assert text[target.start:target.end] == "fn target() -> i32 { 2 }"


def test_syntax_errors_deep_inside_a_nested_file_are_counted() -> None:
    text = nested_modules(DEPTH)
    assert syntax_errors(text, "deep.rs") == 0
    broken = text.replace("fn innermost() -> i32 { 1 }", "fn innermost() -> i32 { 1 + }")
    errors = syntax_errors(broken, "deep.rs")
    assert errors is not None and errors >= 1
