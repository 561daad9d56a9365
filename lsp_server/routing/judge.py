"""The optional judge (``routing.judge_tier``): a model of a higher tier grades a cheaper tier's
prose answer in a few tokens, and its verdict decides whether the answer stands.

The router decides, then executes (as RouteLLM routes): :func:`judge_for` says whether an answer
is graded and by which model, or why not; :class:`~lsp_server.routing.grading.Grader` makes
the call through the same budget, cache, pricing and ledger as any call; :func:`parse_grade`
reads the reply and :func:`graded` turns it into the answer's final judgement.

What is graded: prose answers (explanations, questions) from a tier below ``judge_tier`` that
already passed the cheap checks (:mod:`~lsp_server.routing.answers`). Edits are not: the
verifier's compiler diagnostics and related tests measure what an edit does, which is stronger
evidence than a model's opinion, and grading a diff needs the file around it, which is no longer
a few tokens.

The verdict:

* ``PASS`` keeps the answer, with the judge named in its reasons;
* ``FAIL`` rejects it (confidence :data:`FAIL_CONFIDENCE`), the judge's reason goes to the next
  tier's prompt, and the cascade escalates;
* a judge call that fails, times out or replies with neither word leaves the answer ungraded:
  the reasons say so and the confidence is capped just below the threshold, so the cascade
  escalates rather than deliver an answer the user asked to have checked;
* a judge that may not be asked (the request must stay local, the local answer drew on files
  the privacy settings keep from cloud models, the budget refuses the call, no model of the
  judge tier is configured or healthy) is not called; the answer stands on the cheap checks and
  the reasons say why it was not graded. Escalating would not help there: the same rule (or the
  same budget) blocks the tiers above.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from lsp_server.config import ModelSettings, Tier
from lsp_server.providers.base import Prompt

OUTPUT_TOKENS = 16  # "FAIL: " and a reason of a few words
FAIL_CONFIDENCE = 0.1
REASON_CHARS = 160

SYSTEM = (
    "You grade answers that a cheaper coding assistant gave to a developer's question about "
    "their code. Judge whether the answer is correct, on topic and useful. Reply with one line "
    "only: PASS, or FAIL: followed by the main problem in a few words."
)
_VERDICT = re.compile(r"^[\s*_`#>\"'\[(]*(PASS|FAIL)\b[\s*_`\"'\])]*[:.\-–—]?\s*(.*)", re.I | re.S)


class Judged(Protocol):
    """The cheap checks' verdict on an answer (the router's ``Judgement``)."""

    @property
    def accepted(self) -> bool: ...

    @property
    def confidence(self) -> float | None: ...

    @property
    def reasons(self) -> list[str]: ...


@dataclass(frozen=True)
class Regraded:
    """An answer's verdict after the judge: what the router's judgement becomes."""

    accepted: bool
    confidence: float | None
    reasons: list[str]


@dataclass(frozen=True)
class Grade:
    """The judge's reply: ``passed`` None when it said neither PASS nor FAIL."""

    passed: bool | None
    reason: str


def parse_grade(text: str) -> Grade:
    """The verdict in a judge's reply (see :class:`Grade`)."""
    match = _VERDICT.match(text)
    if match is None:
        shown = " ".join(text.split())[:60]
        return Grade(None, f"unparsable reply {shown!r}" if shown else "an empty reply")
    reason = " ".join(match.group(2).split()).strip(" .")
    return Grade(match.group(1).upper() == "PASS", reason[:REASON_CHARS])


def grading_instruction(question: str, answer: str, *, target: str | None = None,
                        selection: str | None = None, language: str = "") -> str:
    """The user part of the grading prompt: the question, what it is about, the answer."""
    parts = [f"Question: {question.strip()}"]
    if target is not None:
        parts.append(f"About: {target}")
    if selection is not None:
        parts.append(f"Code:\n```{language}\n{selection}\n```")
    parts.append(f"Answer to grade:\n<answer>\n{answer.strip()}\n</answer>")
    parts.append("Reply PASS or FAIL: <reason>.")
    return "\n\n".join(parts)


def grading_prompt(instruction: str, judge: ModelSettings) -> Prompt:
    """The judge's prompt: a fixed system text (cacheable) and ``instruction``."""
    return Prompt(system=SYSTEM, instruction=instruction,
                  max_output_tokens=min(OUTPUT_TOKENS, judge.max_output_tokens),
                  temperature=0.0)


def judge_for(answer_tier: Tier, judge_tier: Tier | None, tiers: Sequence[Tier],
              allowed: frozenset[Tier], models: Sequence[ModelSettings],
              available: Callable[[str], bool]) -> ModelSettings | str | None:
    """Who grades an answer from ``answer_tier``: the judge tier's first healthy model; a
    sentence saying why the judge is not asked; or None when grading does not apply (no judge
    tier, or the answer comes from the judge tier or above)."""
    if judge_tier is None or answer_tier not in tiers:
        return None
    if judge_tier not in tiers:
        return f"not graded: routing.judge_tier is {judge_tier}, which routing.tier_order leaves out"
    if tiers.index(answer_tier) >= tiers.index(judge_tier):
        return None
    if judge_tier not in allowed:
        return (f"not graded: the {judge_tier} judge (routing.judge_tier) may not see this "
                "request (it must stay on the local tier)")
    candidates = [m for m in models if m.tier == judge_tier]
    if not candidates:
        return (f"not graded: routing.judge_tier is {judge_tier} but no {judge_tier} model "
                "is configured")
    for model in candidates:
        if available(model.name):
            return model
    return f"not graded: every {judge_tier} model is cooling down after failures"


def graded(judgement: Judged, judge: ModelSettings, grade: Grade, threshold: float) -> Regraded:
    """The answer's judgement after the judge's reply (see the module docstring)."""
    who = f"judge {judge.name} ({judge.tier})"
    if grade.passed is True:
        said = f": {grade.reason}" if grade.reason else ""
        return Regraded(judgement.accepted, judgement.confidence,
                         [*judgement.reasons, f"{who}: PASS{said}"])
    if grade.passed is False:
        said = grade.reason or "no reason given"
        return Regraded(False, min(judgement.confidence or 0.0, FAIL_CONFIDENCE),
                         [*judgement.reasons, f"{who}: FAIL: {said}"])
    return ungraded(judgement, f"{who} gave no verdict ({grade.reason})", threshold)


def ungraded(judgement: Judged, why: str, threshold: float) -> Regraded:
    """A judge call that failed: neither accepted nor rejected silently; the confidence is
    capped below ``threshold`` so the cascade escalates."""
    capped = min(judgement.confidence or 0.0, round(max(0.0, threshold - 0.01), 2))
    return Regraded(False, capped,
                     [*judgement.reasons, f"not graded: {why}; confidence capped below the "
                      f"threshold ({threshold:.2f}) until a judge or a higher tier agrees"])


def not_asked(judgement: Judged, why: str) -> Regraded:
    """The judge was not asked (privacy, budget, none configured): the answer stands on the
    cheap checks, with the reason."""
    return Regraded(judgement.accepted, judgement.confidence, [*judgement.reasons, why])
