"""Score a model's answer: parse it, apply it to a shadow of the files, and measure confidence.

``verify`` never raises for a bad answer: a parse, apply or safety failure gives confidence 0
with the reason. Otherwise the confidence is a *ceiling* set by the evidence (which checks ran
to the end) times one factor per problem found, each 1.0 when its check passes (so one failed
check is enough to fall below the usual 0.85 threshold).

The ceiling:

=========================================================================  =======
what ran                                                                   ceiling
=========================================================================  =======
a compiler check and related tests, no problem found                       1.0
a compiler check, no related tests exist (or they are turned off)         0.95
no compiler check exists for the file's language, or its tool is missing   0.9
a compiler check or related tests exist but did not run to the end          0.8
(syntax-only level, a time limit, the test budget)
=========================================================================  =======

so an edit that passed only the syntax checks cannot reach the default ``escalate_below``
(0.85) when a compile check or related tests were available but not run.

The factors:

==================  ===============================================================  ========
check               when it fails                                                    factor
==================  ===============================================================  ========
anchors             found ignoring whitespace                                        0.95
                    found only fuzzily at similarity r (0.85 <= r < 1)               0.5 + 2(r - 0.85)
syntax              a changed file has more tree-sitter ERROR/MISSING nodes           0.3
elision             an added line stands for left-out code ("// ... existing code")  0.2
range               a change falls outside the requested file, lines or symbol       0.5
no-op               the edits change nothing                                         0.3
compiler            an error that was not there before the edit                      0.2
fix                 the diagnostic to fix is still reported                          0.3
                    it comes from a tool the server cannot run (not checked)         0.9
related tests       a test that passed before fails after                            0.2
                    tests that finished before stop finishing after                  0.3
check command       fails after the edit, passed before (or reports a new error)     0.3
                    times out                                                        0.6
                    cannot run                                                       0.9
==================  ===============================================================  ========

The anchors factor is the lowest over all edits; the other factors apply once each.
confidence = ceiling x anchors x syntax x elision x range x no-op x behaviour factors, in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.config import Settings
from lsp_server.edits.applier import apply_detailed
from lsp_server.edits.behaviour import (
    CHECK_ERROR_FACTOR,
    CHECK_FAILED_FACTOR,
    CHECK_TIMEOUT_FACTOR,
    BehaviourReport,
    CheckLevel,
    FixTarget,
    check_behaviour,
)
from lsp_server.edits.checks import elided_lines, outside_target, syntax_errors
from lsp_server.edits.diagnostics import FixDiagnostic
from lsp_server.edits.locate import FUZZY_THRESHOLD
from lsp_server.edits.parser import parse_edits
from lsp_server.edits.protocol import AnchorMatch, Edit, FileChange
from lsp_server.errors import EditError

WHITESPACE_FACTOR = 0.95
SYNTAX_FACTOR = 0.3
ELISION_FACTOR = 0.2
RANGE_FACTOR = 0.5
NOOP_FACTOR = 0.3
CEILING_FULL = 1.0
CEILING_NO_TESTS = 0.95
CEILING_SYNTAX_ONLY = 0.9
CEILING_UNCHECKED = 0.8

__all__ = ["CHECK_ERROR_FACTOR", "CHECK_FAILED_FACTOR", "CHECK_TIMEOUT_FACTOR", "Verdict", "verify"]


@dataclass
class Verdict:
    """The measured confidence in an answer, why, and the changes it makes (when it applies)."""

    confidence: float
    reasons: list[str]
    changes: list[FileChange]
    accepted: bool
    edits: list[Edit] = field(default_factory=list)
    anchors: list[AnchorMatch] = field(default_factory=list)
    # The reasons of the checks that found a problem (a subset of ``reasons``).
    problems: list[str] = field(default_factory=list)
    # Which behaviour checks ran: compile and tests, each ran | none | unavailable | not_run | off.
    evidence: dict[str, str] = field(default_factory=dict)


def ceiling(report: BehaviourReport) -> tuple[float, str]:
    """The highest confidence the evidence allows, and why (see the module docstring)."""
    if "not_run" in (report.compile, report.tests):
        what = [name for name, ev in (("compiler check", report.compile), ("related tests", report.tests))
                if ev == "not_run"]
        return CEILING_UNCHECKED, f"{' and '.join(what)} available but not run: confidence capped"
    if report.compile == "ran" and report.tests == "ran":
        return CEILING_FULL, ""
    if report.compile == "ran" or report.tests == "ran":
        return CEILING_NO_TESTS, ""
    return CEILING_SYNTAX_ONLY, ""


def anchor_factor(anchor: AnchorMatch) -> float:
    """The anchors factor of one edit (see the module docstring)."""
    if anchor.method == "whitespace":
        return WHITESPACE_FACTOR
    if anchor.method == "fuzzy":
        return 0.5 + 0.3 * max(0.0, anchor.similarity - FUZZY_THRESHOLD) / (1 - FUZZY_THRESHOLD)
    return 1.0


def _refused(reason: str, threshold: float, edits: list[Edit] | None = None) -> Verdict:
    del threshold  # a refused answer is never accepted, whatever the threshold
    return Verdict(0.0, [reason], [], False, edits or [])


def verify(
    raw: str,
    *,
    edit_format: str,
    read_text: Callable[[str], str | None],
    root: Path,
    settings: Settings,
    target_path: str | None,
    target_lines: tuple[int, int] | None,
    threshold: float,
    level: CheckLevel = "tests",
    tier: str | None = None,
    fix_diagnostics: Sequence[str | FixDiagnostic] = (),
) -> Verdict:
    """Parse, apply and score ``raw``. ``target_lines`` are 1-based and inclusive.

    ``level`` is how far checking goes: ``syntax`` (form only), ``compile`` (+ compiler
    diagnostics and the check command, before and after), ``tests`` (+ related tests within
    ``tier``'s budget). ``fix_diagnostics`` are the diagnostics a fix is about (a message, or
    the editor's source, code, message and lines).
    """
    try:
        edits = parse_edits(raw, edit_format, default_path=target_path)
    except EditError as exc:
        return _refused(f"unparsable answer: {exc}", threshold)
    try:
        applied = apply_detailed(edits, read_text, root=root, settings=settings)
    except EditError as exc:
        return _refused(f"cannot apply: {exc}", threshold, edits)
    changes = applied.changes
    factors: list[float] = []
    reasons: list[str] = []

    worst = min(applied.anchors, key=anchor_factor)
    factors.append(anchor_factor(worst))
    if worst.method == "whitespace":
        reasons.append(f"{worst.path}: an anchor matched only when ignoring whitespace")
    elif worst.method == "fuzzy":
        reasons.append(f"{worst.path}: an anchor matched only fuzzily (similarity {worst.similarity:.2f})")

    for change in changes:
        after = syntax_errors(change.new_text, change.path)
        if after is None:
            continue
        before = 0 if change.created else syntax_errors(change.old_text, change.path) or 0
        if after > before:
            factors.append(SYNTAX_FACTOR)
            reasons.append(f"{change.path}: {after - before} new syntax error(s) after the edit")
            break

    elided = [line for change in changes for line in elided_lines(change)]
    if elided:
        factors.append(ELISION_FACTOR)
        reasons.append(f"the edit leaves code out: {elided[0]!r}")

    outside = outside_target(changes, target_path, target_lines)
    if outside:
        factors.append(RANGE_FACTOR)
        reasons.extend(outside[:3])

    if not any(c.edits for c in changes) or all(c.old_text == c.new_text and not c.created for c in changes):
        factors.append(NOOP_FACTOR)
        reasons.append("the edits change nothing")

    problems = list(reasons)
    report = BehaviourReport()
    form = 1.0
    for f in factors:
        form *= f
    # Compiling and testing an answer the form checks already sink would only cost time.
    fix = FixTarget(tuple(FixDiagnostic.of(d) for d in fix_diagnostics), target_path,
                    target_lines) if fix_diagnostics else None
    report = check_behaviour(changes, root, settings, level=level if form >= threshold else "syntax",
                             tier=tier, fix=fix)
    for factor, reason in report.factors:
        factors.append(factor)
        reasons.append(reason)
        problems.append(reason)
    cap, why = ceiling(report)
    confidence = cap
    for f in factors:
        confidence *= f
    confidence = max(0.0, min(1.0, round(confidence, 6)))
    if not problems:
        reasons.append("anchors matched exactly once; syntax, elision and range checks passed")
    reasons.extend(report.notes)
    if why:
        reasons.append(why)
    return Verdict(confidence, reasons, changes, confidence >= threshold, list(edits), applied.anchors,
                   problems, {"compile": report.compile, "tests": report.tests})
