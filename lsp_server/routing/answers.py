"""Judging a prose answer (explanations, questions): measured signals, not the model's tone.

An answer is trusted when it has substance, was not cut off by the output limit, does not refuse,
and does not answer a question with edit blocks. Each failed check lowers the confidence and says
why, so a cheap model's empty or truncated answer escalates like a broken edit does.

The non-answer detectors are small pure functions over the text (each returns the reason, or
None): a stream can call them on a partial answer to stop early.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

_REFUSAL = re.compile(
    r"^\s*(?:I(?:'m| am)\s+(?:sorry|unable|not able)|I\s+can(?:not|'t)\b|As an AI\b|"
    r"Sorry,? (?:but )?I|I (?:won't|will not|must decline))", re.I)
_DONT_KNOW = re.compile(
    r"\b(?:I\s+(?:do\s*n[o']t|don't|really\s+don't|cannot|can't)\s+(?:know|tell|say|be sure|determine)"
    r"|I(?:'m| am)\s+not\s+(?:sure|certain)|no\s+idea|(?:it is|it's)\s+(?:unclear|impossible to say)"
    r"|(?:without|need)\s+more\s+(?:context|information)|(?:not|isn't)\s+enough\s+(?:context|information)"
    r"|(?:hard|difficult)\s+to\s+(?:say|tell)|it\s+depends)\b", re.I)
_EDIT_MARKERS = ("<<<<<<< SEARCH", ">>>>>>> REPLACE")
_TRUNCATED = frozenset({"length", "max_tokens", "MAX_TOKENS", "max_output_tokens"})
_FENCE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ENGLISH = frozenset(
    ["the", "a", "an", "is", "are", "was", "were", "be", "of", "to", "in", "on", "for", "and", "or", "not", "it", "this", "that", "with", "as", "by", "from", "at", "which", "what", "how", "why", "when", "does", "do", "can", "should", "would", "will", "has", "have", "its", "their", "there", "if", "then", "than", "each", "into", "only", "also", "but", "so", "because", "returns", "function", "value"])
MIN_WORDS = 4
HEDGE_WORDS = 40  # a hedge in a longer answer is a caveat, not a non-answer


def refusal(text: str) -> str | None:
    """The model declined to answer."""
    return "the model declined to answer" if _REFUSAL.match(text) else None


def non_answer(text: str) -> str | None:
    """A short answer that says it does not know (or only hedges)."""
    prose = _CODE.sub(" ", text)
    if len(prose.split()) <= HEDGE_WORDS and _DONT_KNOW.search(prose):
        return "the answer says it does not know (a non-answer)"
    return None


_PART_SPLIT = re.compile(r"::|[./_\-\s]+|(?<=[a-z0-9])(?=[A-Z])")
_COMMON_PARTS = frozenset({"self", "data", "value", "item", "list", "test", "main", "util", "utils",
                           "from", "into", "with", "impl", "func", "type"})


def _parts(symbol: str) -> list[str]:
    return [p.lower() for p in _PART_SPLIT.split(symbol) if len(p) >= 4 and p.lower() not in _COMMON_PARTS]


def names_nothing_asked(text: str, symbols: Sequence[str]) -> str | None:
    """None of the symbols or files the question is about appears in the answer, not even a
    word of one (``total_area`` counts as named by an answer about "the area")."""
    wanted = [s for s in symbols if s]
    if not wanted:
        return None
    low = text.lower()
    words = set(re.findall(r"[a-z0-9]+", low))
    for s in wanted:
        if s.lower() in low or any(p in words for p in _parts(s)):
            return None
    shown = ", ".join(wanted[:4])
    return f"the answer names none of what was asked about ({shown})"


def repetition_loop(text: str) -> str | None:
    """The same line or phrase repeated over and over (a generation stuck in a loop)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    run = best = 1
    for prev, cur in pairwise(lines):
        run = run + 1 if cur == prev else 1
        best = max(best, run)
    if best >= 4:
        return f"the answer repeats one line {best} times in a row (a repetition loop)"
    if len(lines) >= 6:
        line, count = Counter(lines).most_common(1)[0]
        if count >= 5 and count * 3 >= len(lines) and len(line) >= 8:
            return f"the answer repeats one line {count} times (a repetition loop)"
    words = text.split()
    n = 6
    if len(words) >= n * 4:
        grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
        gram, count = grams.most_common(1)[0]
        if count >= 4 and count * n * 3 >= len(words):
            return f"the answer repeats {' '.join(gram)!r} {count} times (a repetition loop)"
    return None


def _script(text: str) -> Counter[str]:
    scripts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            scripts[name.split(" ")[0] if name else "OTHER"] += 1
    return scripts


def _english_share(words: list[str]) -> float:
    return sum(1 for w in words if w.lower() in _ENGLISH) / max(len(words), 1)


def other_language(text: str, question: str) -> str | None:
    """The answer's prose is in another language (or script) than the question's."""
    prose = _CODE.sub(" ", text)
    asked = _CODE.sub(" ", question)
    answer_scripts, question_scripts = _script(prose), _script(asked)
    if sum(answer_scripts.values()) < 20 or not question_scripts:
        return None
    a_main, a_count = answer_scripts.most_common(1)[0]
    q_main = question_scripts.most_common(1)[0][0]
    if a_main != q_main and a_count * 2 > sum(answer_scripts.values()):
        return f"the answer is written in another script ({a_main.lower()}) than the question ({q_main.lower()})"
    if a_main == q_main == "LATIN":
        q_words, a_words = _WORD.findall(asked), _WORD.findall(prose)
        if len(q_words) >= 3 and len(a_words) >= 20 and _english_share(q_words) >= 0.1 \
                and _english_share(a_words) < 0.04:
            return "the answer is not in the question's language (English)"
    return None


def truncated_code_block(text: str) -> str | None:
    """A code block that was opened and never closed."""
    if len(_FENCE.findall(text)) % 2:
        return "the answer ends inside an unclosed code block (truncated)"
    return None


def judge_answer(text: str, stop_reason: str | None = None, *, question: str = "",
                 symbols: Sequence[str] = ()) -> tuple[float, list[str]]:
    """A confidence in [0, 1] for a prose answer, and the reasons it is not 1.

    ``question`` is the user's instruction (for the language check) and ``symbols`` the
    definitions and files it is about (an answer that names none of them is off topic).
    """
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
    penalties: tuple[tuple[float, str | None], ...] = (
        (0.6, refusal(body)),
        (0.6, non_answer(body)),
        (0.6, repetition_loop(body)),
        (0.4, names_nothing_asked(body, symbols)),
        (0.5, other_language(body, question)),
        (0.4, truncated_code_block(body)),
    )
    for penalty, reason in penalties:
        if reason is not None:
            confidence -= penalty
            reasons.append(reason)
    if any(marker in body for marker in _EDIT_MARKERS):
        confidence -= 0.3
        reasons.append("a question was answered with edit blocks")
    if not reasons:
        reasons.append("a complete prose answer")
    return max(0.0, round(confidence, 2)), reasons
