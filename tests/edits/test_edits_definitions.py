"""Definitions by name (tree-sitter), the unified diff, and the prompts."""

from __future__ import annotations

import pytest

from lsp_server.context.index.languages import language_for
from lsp_server.context.tokens import count_tokens
from lsp_server.edits import (
    EDIT_FORMATS,
    KINDS,
    FileChange,
    answers_with_edits,
    system_prompt,
    unified_diff,
)
from lsp_server.edits.definitions import definitions_in, enclosing_definition, find_definition
from lsp_server.edits.prompts import MAX_PROMPT_TOKENS
from lsp_server.errors import EditApplyError

RS = """\
/// é doc
#[derive(Debug)]
pub struct Vec2<T> { x: T }

impl<T> Vec2<T> {
    fn len(&self) -> f64 { 0.0 }
}

impl Display for Vec2<f64> {
    fn fmt(&self) {}
}

mod inner {
    fn len() {}
}
"""

PY = """\
class Stock:
    @staticmethod
    # why
    def add(x):
        return x


def add(y):
    return y
"""


def test_rust_definitions_with_lead_in_string_offsets() -> None:
    found = [(d.qualname, d.kind) for d in definitions_in(RS, language_for("a.rs"))]
    assert found == [("Vec2", "struct"), ("Vec2", "impl"), ("Vec2::len", "function"), ("Vec2", "impl"),
                     ("Vec2::fmt", "function"), ("inner", "module"), ("inner::len", "function")]
    struct = find_definition(RS, "a.rs", "Vec2")
    assert struct.kind == "struct"  # preferred over its impl blocks
    assert struct.lead == (("comment", 0), ("attribute", RS.index("#[derive")))  # not byte offsets (é)
    assert RS[struct.start:struct.end] == "pub struct Vec2<T> { x: T }"


@pytest.mark.parametrize(
    ("symbol", "qualname"),
    [("Vec2::len", "Vec2::len"), ("Vec2<T>::len", "Vec2::len"), ("`inner::len`", "inner::len"),
     ("fn fmt", "Vec2::fmt"), ("impl Vec2", "Vec2")],
)
def test_find_rust_definition(symbol: str, qualname: str) -> None:
    assert find_definition(RS, "a.rs", symbol).qualname == qualname


def test_ambiguous_and_missing_names_are_refused() -> None:
    with pytest.raises(EditApplyError, match=r"'len' names 2 definitions \(Vec2::len, inner::len\)"):
        find_definition(RS, "a.rs", "len")
    with pytest.raises(EditApplyError, match="no definition named 'area'"):
        find_definition(RS, "a.rs", "Vec2::area")
    with pytest.raises(EditApplyError, match="is not a definition name"):
        find_definition(RS, "a.rs", "``")


def test_python_method_with_decorator_and_comment_lead() -> None:
    method = find_definition(PY, "a.py", "Stock.add")
    assert method.qualname == "Stock::add"
    assert PY[method.start:].startswith("@staticmethod")
    assert PY[method.body_start:].startswith("def add(x):")
    # A bare name matches the method too, so the top-level function cannot be named alone.
    with pytest.raises(EditApplyError, match=r"'add' names 2 definitions \(Stock::add, add\)"):
        find_definition(PY, "a.py", "add")


def test_enclosing_definition_is_the_innermost() -> None:
    inner = RS.index("0.0")
    assert enclosing_definition(RS, "a.rs", inner, inner + 3).qualname == "Vec2::len"
    assert enclosing_definition(RS, "a.rs", 0, 3).qualname == "Vec2"
    assert enclosing_definition(RS, "notes.txt", 0, 1) is None


# --- diff ---------------------------------------------------------------------------------


def test_unified_diff_forms() -> None:
    changes = [
        FileChange("a.py", "x = 1\r\ny = 2", "x = 1\r\ny = 3"),
        FileChange("same.py", "s\n", "s\n"),
        FileChange("new.py", "", "n = 1\n", created=True),
    ]
    assert unified_diff(changes) == (
        "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n\\ No newline at end of file\n"
        "+y = 3\n\\ No newline at end of file\n"
        "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+n = 1\n"
    )
    assert unified_diff([changes[1]]) == ""


# --- prompts ------------------------------------------------------------------------------


@pytest.mark.parametrize("edit_format", EDIT_FORMATS)
@pytest.mark.parametrize("kind", KINDS)
def test_prompts_are_short_and_ask_for_the_right_form(kind: str, edit_format: str) -> None:
    prompt = system_prompt(kind, edit_format)
    assert count_tokens(prompt) <= MAX_PROMPT_TOKENS
    if not answers_with_edits(kind):
        assert "no edit blocks" in prompt and "SEARCH" not in prompt
    elif edit_format == "search_replace":
        assert "<<<<<<< SEARCH" in prompt and "REPLACE <name> IN" not in prompt
    else:
        assert "REPLACE <name> IN" in prompt and "<<<<<<< SEARCH" not in prompt
    assert ("plain text instead" in prompt) == (kind == "ask")


def test_prompt_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown task kind 'poem'"):
        system_prompt("poem", "search_replace")
    with pytest.raises(ValueError, match="unknown edit format 'udiff'"):
        system_prompt("fix", "udiff")
