"""The judge's pure parts: reading a verdict, and deciding who grades an answer."""

from __future__ import annotations

import pytest

from lsp_server.config import ModelSettings
from lsp_server.routing.attempts import Judgement
from lsp_server.routing.judge import Grade, graded, judge_for, parse_grade, ungraded

TIERS = ("local", "free", "budget", "premium")


def _model(name: str, tier: str) -> ModelSettings:
    return ModelSettings(name=name, provider="openai", model=name, tier=tier)  # type: ignore[arg-type]


@pytest.mark.parametrize(("reply", "passed", "reason"), [
    ("PASS", True, ""),
    ("pass.", True, ""),
    ("**FAIL**: wrong formula", False, "wrong formula"),
    ("FAIL - it ignores the tax\nmore text", False, "it ignores the tax more text"),
    ("`PASS`: accurate", True, "accurate"),
    ("The answer is fine", None, None),
    ("", None, None),
    ("PASSED", None, None),
])
def test_parse_grade(reply: str, passed: bool | None, reason: str | None) -> None:
    grade = parse_grade(reply)
    assert grade.passed is passed
    if reason is not None:
        assert grade.reason == reason
    else:
        assert "unparsable" in grade.reason or "empty" in grade.reason


def test_judge_for_decides_who_grades() -> None:
    models = [_model("l", "local"), _model("f", "free"), _model("p1", "premium"),
              _model("p2", "premium")]
    every = frozenset(TIERS)
    up = lambda name: True  # noqa: E731
    assert judge_for("local", None, TIERS, every, models, up) is None
    assert judge_for("premium", "premium", TIERS, every, models, up) is None
    assert judge_for("free", "free", TIERS, every, models, up) is None
    chosen = judge_for("local", "premium", TIERS, every, models, up)
    assert isinstance(chosen, ModelSettings) and chosen.name == "p1"
    chosen = judge_for("local", "premium", TIERS, every, models, lambda n: n != "p1")
    assert isinstance(chosen, ModelSettings) and chosen.name == "p2"
    assert "cooling down" in str(judge_for("local", "premium", TIERS, every, models,
                                           lambda n: False))
    assert "must stay on the local tier" in str(
        judge_for("local", "premium", TIERS, frozenset({"local"}), models, up))
    assert "no budget model" in str(judge_for("local", "budget", TIERS, every, models, up))
    assert "tier_order leaves out" in str(judge_for("local", "premium", ("local", "free"),
                                                    every, models, up))


def test_verdicts_change_the_judgement() -> None:
    before = Judgement(True, 0.95, ["a complete prose answer"])
    judge = _model("p", "premium")
    kept = graded(before, judge, Grade(True, ""), 0.85)
    assert kept.accepted and kept.confidence == 0.95
    failed = graded(before, judge, Grade(False, "wrong"), 0.85)
    assert not failed.accepted and (failed.confidence or 0) < 0.85
    assert failed.reasons[-1] == "judge p (premium): FAIL: wrong"
    capped = ungraded(before, "timeout", 0.5)
    assert not capped.accepted and capped.confidence == 0.49
    assert "not graded: timeout" in capped.reasons[-1]
