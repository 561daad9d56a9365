"""The classifier: deterministic, explained, and search questions recognised."""

from __future__ import annotations

import pytest

from lsp_server.routing.classifier import Signals, classify, tier_for
from lsp_server.routing.search import parse_search


@pytest.mark.parametrize(
    ("text", "op", "name"),
    [
        ("where is Circle defined?", "definition", "Circle"),
        ("Where is the struct Rectangle declared in the project?", "definition", "Rectangle"),
        ("where is `parse_config`", "definition", "parse_config"),
        ("who calls area", "callers", "area"),
        ("find the callers of total_value", "callers", "total_value"),
        ("find references to Stock.add", "references", "add"),
        ("where is Stock used?", "references", "Stock"),
        ("list the impls of Shape", "impls", "Shape"),
        ("what implements Shape?", "impls", "Shape"),
        ("which classes inherit from Base", "impls", "Base"),
    ],
)
def test_search_questions_are_recognised(text: str, op: str, name: str) -> None:
    query = parse_search(text)
    assert query is not None
    assert (query.op, query.name) == (op, name)


@pytest.mark.parametrize(
    "text",
    [
        "where is the bug",
        "explain how pricing works",
        "fix the off-by-one error in the loop",
        "who calls area and why does it overflow when the radius is negative? " * 5,
    ],
)
def test_other_requests_are_not_searches(text: str) -> None:
    assert parse_search(text) is None


def test_search_goes_to_the_index_with_no_tier() -> None:
    c = classify(Signals("ask", "who calls area"))
    assert c.mode == "search" and c.tier is None and c.search is not None
    assert "no model" in c.reasons[0]


def test_small_fix_starts_local_and_says_why() -> None:
    c = classify(Signals("fix", "Fix this problem: expected f64", has_path=True, target_lines=8))
    assert (c.mode, c.tier, c.edit_kind) == ("edit", "local", "fix")
    assert any("fix: base" in r for r in c.reasons)
    assert c.reasons[-1].endswith("start at the local tier")


def test_design_question_across_the_project_starts_high() -> None:
    c = classify(Signals("ask", "How should we redesign the pricing architecture across the whole project?"))
    assert c.mode == "answer"
    assert c.tier in ("budget", "premium")
    assert any("design wording" in r for r in c.reasons)
    assert any("spans the project" in r for r in c.reasons)


def test_size_and_spread_raise_the_tier() -> None:
    small = classify(Signals("rewrite", "Simplify this", has_path=True, target_lines=10))
    large = classify(Signals("rewrite", "Simplify this", has_path=True, target_lines=500, files=7,
                             symbol_refs=40, ref_files=12))
    order = ("local", "free", "budget", "premium")
    assert small.tier is not None and large.tier is not None
    assert order.index(large.tier) > order.index(small.tier)


def test_ask_is_an_edit_or_an_answer_by_its_wording() -> None:
    edit = classify(Signals("ask", "add a docstring to this function", has_path=True, target_lines=5))
    question = classify(Signals("ask", "what does this function return?", has_path=True, target_lines=5))
    assert edit.mode == "edit" and edit.edit_kind == "ask"
    assert question.mode == "answer"


def test_classification_is_deterministic() -> None:
    s = Signals("tests", "Write unit tests for the concurrency code", has_path=True, target_lines=90,
                files=4, symbol_refs=12, diagnostics=0)
    assert classify(s) == classify(s)


def test_tier_for_respects_a_shorter_tier_order() -> None:
    assert tier_for(10.0, ("local", "premium")) == "premium"
    assert tier_for(0.0, ("free", "premium")) == "free"
