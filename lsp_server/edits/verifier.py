"""Score a model's answer: parse it, apply it to a shadow of the files, and measure confidence.

``verify`` never raises for a bad answer: a parse, apply or safety failure gives confidence 0
with the reason. Otherwise the confidence is the product of independent factors, each 1.0 when
its check passes (so one failed check is enough to fall below the usual 0.85 threshold):

==================  ===============================================================  ========
check               when it fails                                                    factor
==================  ===============================================================  ========
anchors             found ignoring whitespace                                        0.95
                    found only fuzzily at similarity r (0.85 <= r < 1)               0.5 + 2(r - 0.85)
syntax              a changed file has more tree-sitter ERROR/MISSING nodes           0.3
elision             an added line stands for left-out code ("// ... existing code")  0.2
range               a change falls outside the requested file, lines or symbol       0.5
no-op               the edits change nothing                                         0.3
check command       fails (and passes without the edit)                              0.3
                    times out                                                        0.6
                    cannot run                                                       0.9
==================  ===============================================================  ========

The anchors factor is the lowest over all edits; the other factors apply once each.
confidence = anchors x syntax x elision x range x no-op x check, in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.config import Settings
from lsp_server.edits.applier import apply_detailed
from lsp_server.edits.checks import elided_lines, outside_target, run_check, syntax_errors
from lsp_server.edits.locate import FUZZY_THRESHOLD
from lsp_server.edits.parser import parse_edits
from lsp_server.edits.protocol import AnchorMatch, Edit, FileChange
from lsp_server.errors import EditError

WHITESPACE_FACTOR = 0.95
SYNTAX_FACTOR = 0.3
ELISION_FACTOR = 0.2
RANGE_FACTOR = 0.5
NOOP_FACTOR = 0.3
CHECK_FAILED_FACTOR = 0.3
CHECK_TIMEOUT_FACTOR = 0.6
CHECK_ERROR_FACTOR = 0.9


@dataclass
class Verdict:
    """The measured confidence in an answer, why, and the changes it makes (when it applies)."""

    confidence: float
    reasons: list[str]
    changes: list[FileChange]
    accepted: bool
    edits: list[Edit] = field(default_factory=list)
    anchors: list[AnchorMatch] = field(default_factory=list)


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
    run_check: bool = True,
) -> Verdict:
    """Parse, apply and score ``raw``. ``target_lines`` are 1-based and inclusive."""
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

    if run_check:
        result = run_check_command(changes, root, settings)
        if result is not None:
            factors.append(result[0])
            reasons.append(result[1])

    confidence = 1.0
    for f in factors:
        confidence *= f
    confidence = max(0.0, min(1.0, confidence))
    if not reasons:
        reasons.append("anchors matched exactly once; syntax, elision and range checks passed")
    return Verdict(confidence, reasons, changes, confidence >= threshold, list(edits), applied.anchors)


def run_check_command(
    changes: list[FileChange], root: Path, settings: Settings
) -> tuple[float, str] | None:
    """The check-command factor and its reason, or None when no command is configured."""
    result = run_check(changes, root, settings)
    if result is None:
        return None
    tail = result.output.strip().splitlines()[-1:] if result.output.strip() else []
    detail = f": {tail[0][:200]}" if tail else ""
    command = settings.edits.check_command
    if result.status == "passed":
        return 1.0, f"check command passed ({command})"
    if result.status == "baseline_failed":
        return 1.0, f"check command fails with and without the edit ({command}); not counted"
    if result.status == "timeout":
        return CHECK_TIMEOUT_FACTOR, f"check command timed out ({command}){detail}"
    if result.status == "error":
        return CHECK_ERROR_FACTOR, f"check command could not run{detail}"
    return CHECK_FAILED_FACTOR, f"check command failed ({command}){detail}"
