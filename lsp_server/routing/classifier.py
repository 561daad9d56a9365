"""Pick the starting tier for a request, deterministically and with reasons.

A request earns complexity points from its kind, its wording (design questions, concurrency,
security), the size of the range, how many files it names, and what the index says about the
symbol being changed: how often and from how many files it is used (a change ripples that far).
The context builder always fills its token budget, so the size of the context says nothing about
the request and is not a signal. The points map onto the tier order, cheapest first. No I/O and no model:
it runs in microseconds, so the code-action titles can show the tier before anything is sent.
Search questions the index can answer are recognised here and never reach a model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lsp_server.config import TIERS, Tier
from lsp_server.routing.kinds import Mode, TaskKind, profile
from lsp_server.routing.search import SearchQuery, parse_search

# Score thresholds: below 1.5 the cheapest tier, then one tier up per point.
TIER_STEPS: tuple[float, ...] = (1.5, 2.5, 3.5)

_DESIGN = re.compile(
    r"\b(?:design|architect\w*|trade-?offs?|strateg\w+|approach(?:es)?|migrat\w+|redesign\w*|"
    r"restructur\w+|re-?architect\w*|overhaul\w*|abstraction\w*)\b", re.I)
_WIDE = re.compile(
    r"\b(?:across\s+(?:the\s+)?(?:whole\s+|entire\s+)?(?:project|codebase|crate|package|repo\w*|modules)|"
    r"all\s+(?:the\s+)?(?:files|modules|callers|call\s+sites)|every\s+(?:file|module|caller)|"
    r"whole\s+(?:project|codebase|crate))\b", re.I)
_HARD = re.compile(
    r"\b(?:concurren\w+|thread[- ]?safe\w*|race\s+conditions?|deadlocks?|lock-?free|atomic\w*|"
    r"security|vulnerab\w+|unsafe|lifetimes?|borrow\s+checker|async\w*|performance|optimi[sz]\w+|"
    r"algorithm\w*|complexity)\b", re.I)
_QUESTION = re.compile(
    r"^\s*(?:what|why|how|when|where|which|who|is|are|does|do|can|could|should|would|will|"
    r"explain|describe|summari[sz]e|tell\s+me|compare)\b", re.I)
_IMPERATIVE = re.compile(
    r"^\s*(?:please\s+)?(?:add|fix|rename|refactor|change|make|implement|write|rewrite|replace|"
    r"remove|delete|convert|extract|inline|simplify|update|use|move|split|merge|handle|return|"
    r"create|generate|document|annotate|type|optimi[sz]e|clean|reformat|format|sort|introduce|"
    r"wrap|turn|port|support|allow|ensure|raise|log|validate|check)\b", re.I)


@dataclass(frozen=True, slots=True)
class Signals:
    """What the classifier looks at; all of it known before any model is called."""

    kind: TaskKind
    instruction: str
    has_path: bool = False
    target_lines: int | None = None
    files: int = 1  # files the request names or targets
    symbol_refs: int | None = None  # references to the symbol being changed
    ref_files: int | None = None  # files those references are in
    diagnostics: int = 0


@dataclass(frozen=True, slots=True)
class Classification:
    kind: TaskKind
    mode: Mode
    tier: Tier | None  # None for searches (no model)
    score: float
    reasons: tuple[str, ...]
    search: SearchQuery | None = None
    edit_kind: TaskKind | None = None  # the edits engine's prompt for an edit-mode request

    def label(self) -> str:
        return f"{self.mode}:{self.tier or 'index'}"


def _ask_mode(signals: Signals) -> tuple[Mode, str]:
    """An ``ask`` is a question (prose answer) or an instruction to change code (an edit)."""
    text = signals.instruction.strip()
    if _QUESTION.match(text) or text.endswith("?"):
        return "answer", "the instruction is a question: answer in prose"
    if signals.has_path and _IMPERATIVE.match(text):
        return "edit", "the instruction asks for a change to the file: answer with an edit"
    if signals.has_path and signals.target_lines is not None:
        return "edit", "an instruction on a selection: answer with an edit"
    return "answer", "no file to change: answer in prose"


def tier_for(score: float, tier_order: Sequence[Tier] = TIERS) -> Tier:
    """The tier a complexity score maps to within ``tier_order`` (cheapest first)."""
    step = sum(1 for threshold in TIER_STEPS if score >= threshold)
    return tier_order[min(step, len(tier_order) - 1)]


def classify(signals: Signals, tier_order: Sequence[Tier] = TIERS) -> Classification:
    """The starting tier and mode for a request, with the reasons that led there."""
    kind = signals.kind
    text = signals.instruction
    reasons: list[str] = []
    if kind in ("search", "ask") or (kind == "explain" and not signals.has_path):
        query = parse_search(text)
        if query is not None:
            return Classification("search", "search", None, 0.0,
                                  (f"a search the index answers ({query.describe()}): no model, $0",),
                                  search=query)
        if kind == "search":
            reasons.append("not a question the index answers (definition, references, callers, "
                           "implementations): a model answers it")
            kind = "ask"
    prof = profile(kind)
    mode: Mode = prof.mode
    edit_kind: TaskKind | None = kind if mode == "edit" else None
    if kind == "ask":
        mode, why = _ask_mode(signals)
        reasons.append(why)
        edit_kind = "ask" if mode == "edit" else None
    score = prof.base_score
    reasons.append(f"{prof.label}: base {prof.base_score:g}")

    def add(points: float, why: str) -> None:
        nonlocal score
        score += points
        reasons.append(f"{why} (+{points:g})")

    # Wording weighs half for edits: the verifier catches a cheap model's broken edit and the
    # cascade escalates, while a prose answer cannot be checked that way.
    weight = 0.5 if mode == "edit" else 1.0
    if m := _DESIGN.search(text):
        add(2.0 * weight, f"design wording ({m.group(0)!r})")
    if m := _WIDE.search(text):
        add(1.5 * weight, f"spans the project ({m.group(0)!r})")
    if m := _HARD.search(text):
        add(1.0 * weight, f"hard topic ({m.group(0)!r})")
    if len(text) > 400:
        add(0.5, f"long instruction ({len(text)} characters)")
    lines = signals.target_lines
    if lines is not None:
        if lines > 400:
            add(2.0, f"very large range ({lines} lines)")
        elif lines > 150:
            add(1.0, f"large range ({lines} lines)")
        elif lines > 60:
            add(0.5, f"medium range ({lines} lines)")
    if signals.files >= 6:
        add(1.5, f"names {signals.files} files")
    elif signals.files >= 3:
        add(0.5, f"names {signals.files} files")
    refs = signals.symbol_refs
    if refs is not None and mode == "edit":
        where = f" in {signals.ref_files} files" if signals.ref_files else ""
        if refs >= 30 or (signals.ref_files or 0) >= 10:
            add(1.0, f"the symbol is used {refs} times{where}")
        elif refs >= 10 or (signals.ref_files or 0) >= 4:
            add(0.5, f"the symbol is used {refs} times{where}")
    if signals.diagnostics >= 3:
        add(0.5, f"{signals.diagnostics} diagnostics at once")
    tier = tier_for(score, tier_order)
    reasons.append(f"score {score:g} → start at the {tier} tier")
    return Classification(kind, mode, tier, score, tuple(reasons), edit_kind=edit_kind)
