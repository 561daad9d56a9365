"""Judging a prose answer (explanations, questions): measured signals, not the model's tone.

An answer is trusted when it has substance, was not cut off by the output limit, does not refuse,
and does not answer a question with edit blocks. Each failed check lowers the confidence and says
why, so a cheap model's empty or truncated answer escalates like a broken edit does.
"""

from __future__ import annotations

import re

_REFUSAL = re.compile(
    r"^\s*(?:I(?:'m| am)\s+(?:sorry|unable|not able)|I\s+can(?:not|'t)\b|As an AI\b|"
    r"Sorry,? (?:but )?I)", re.I)
_EDIT_MARKERS = ("<<<<<<< SEARCH", ">>>>>>> REPLACE")
_TRUNCATED = frozenset({"length", "max_tokens", "MAX_TOKENS", "max_output_tokens"})
MIN_WORDS = 4


def judge_answer(text: str, stop_reason: str | None = None) -> tuple[float, list[str]]:
    """A confidence in [0, 1] for a prose answer, and the reasons it is not 1."""
    body = text.strip()
    if not body:
        return 0.0, ["the answer is empty"]
    confidence = 0.95
    reasons: list[str] = []
    words = len(body.split())
    if words < MIN_WORDS:
        confidence -= 0.5
        reasons.append(f"the answer is too short ({words} words)")
    if stop_reason in _TRUNCATED:
        confidence -= 0.4
        reasons.append("the answer was cut off at the output limit")
    if _REFUSAL.match(body):
        confidence -= 0.6
        reasons.append("the model declined to answer")
    if any(marker in body for marker in _EDIT_MARKERS):
        confidence -= 0.3
        reasons.append("a question was answered with edit blocks")
    if not reasons:
        reasons.append("a complete prose answer")
    return max(0.0, round(confidence, 2)), reasons
