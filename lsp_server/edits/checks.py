"""The form checks the verifier combines: syntax, elision and range (what an edit does is
checked in ``behaviour.py``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tree_sitter import Node

from lsp_server.context.index.languages import language_for
from lsp_server.edits.definitions import definitions_in
from lsp_server.edits.protocol import FileChange

# --- syntax -------------------------------------------------------------------------------


def _count_errors(root: Node) -> int:
    # Iterative: a deeply nested file must not exhaust Python's recursion limit.
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if not node.has_error and not node.is_missing:
            continue
        count += 1 if (node.is_error or node.is_missing) else 0
        stack.extend(node.children)
    return count


def syntax_errors(text: str, path: str) -> int | None:
    """How many tree-sitter ERROR and MISSING nodes ``text`` has (None: no grammar for ``path``)."""
    spec = language_for(path)
    if spec is None:
        return None
    tree = spec.parser().parse(text.encode("utf-8", "surrogatepass"))
    return _count_errors(tree.root_node)


# --- elision ------------------------------------------------------------------------------

_COMMENT = r"(?:#|//+|/\*+|\*|--|<!--)"
_ELISION = re.compile(
    rf"^\s*{_COMMENT}\s*(?:"
    r"(?:\.\.\.|…)"  # "# ...", "// … unchanged"
    r"|\[?(?:the\s+)?(?:rest|remainder)\s+of\b"  # "# rest of the function"
    r"|(?:existing|remaining|previous|original|other|unchanged|same)\s+"
    r"(?:code|implementation|impl|logic|body|methods?|functions?|fields?|tests?|imports?|lines?|content|cases|arms|variants)\b"
    r"|(?:code|implementation)\s+(?:goes\s+)?(?:here|unchanged|as\s+before)\b"
    r"|(?:unchanged|omitted|as\s+before|same\s+as\s+(?:before|above))\s*(?:\.|\*/|-->)?\s*$"
    r")",
    re.IGNORECASE,
)
_BARE_ELLIPSIS = re.compile(r"^\s*(?:\.\.\.|…)\s*$")


def elided_lines(change: FileChange) -> list[str]:
    """Lines the change adds that stand for code left out ("// ... existing code ...")."""
    old = {line.strip() for line in change.old_text.splitlines()}
    found: list[str] = []
    rust = change.path.endswith(".rs")
    for edit in change.edits:
        for line in edit.new_text.splitlines():
            if line.strip() in old:
                continue
            if _ELISION.match(line) or (rust and _BARE_ELLIPSIS.match(line)):
                found.append(line.strip())
    return found


# --- range --------------------------------------------------------------------------------


def line_of(text: str, offset: int) -> int:
    """1-based line number of a string offset."""
    return text.count("\n", 0, offset) + 1


def allowed_lines(text: str, path: str, lines: tuple[int, int]) -> tuple[int, int]:
    """The requested lines, widened to the innermost function holding them and to the doc
    comments, attributes and decorators directly above a definition that starts in them."""
    first, last = min(lines), max(lines)
    spec = language_for(path)
    if spec is None:
        return first, last
    lo, hi = first, last
    best: tuple[int, int] | None = None
    for d in definitions_in(text, spec):
        lead, start, end = line_of(text, d.lead_start), line_of(text, d.body_start), line_of(text, d.end)
        if first <= start <= last or lead <= first <= start:
            lo = min(lo, lead)
        if d.kind == "function" and lead <= first and last <= end and (
            best is None or end - lead < best[1] - best[0]
        ):
            best = (lead, end)
    if best is not None:
        lo, hi = min(lo, best[0]), max(hi, best[1])
    return lo, hi


def changed_lines(change: FileChange) -> list[tuple[int, int]]:
    """Per text edit, the 1-based original lines it touches (an insertion: (L, L - 1))."""
    spans: list[tuple[int, int]] = []
    for e in change.edits:
        first = line_of(change.old_text, e.start)
        last = line_of(change.old_text, e.end - 1) if e.end > e.start else first - 1
        spans.append((first, last))
    return spans


def outside_target(
    changes: Sequence[FileChange], target_path: str | None, target_lines: tuple[int, int] | None
) -> list[str]:
    """Reasons, one per change that falls outside the requested file or lines."""
    if target_path is None:
        return []
    target = target_path.replace("\\", "/").removeprefix("./")
    reasons: list[str] = []
    for change in changes:
        if not change.edits:
            continue
        if change.path != target:
            reasons.append(f"{change.path}: edited, but the request was about {target}")
            continue
        if target_lines is None:
            continue
        lo, hi = allowed_lines(change.old_text, change.path, target_lines)
        for first, last in changed_lines(change):
            inside = lo <= first <= hi + 1 if last < first else lo <= first and last <= hi
            if not inside:
                shown = f"{first}" if last <= first else f"{first}-{last}"
                reasons.append(f"{change.path}: lines {shown} changed, outside the requested lines {lo}-{hi}")
    return reasons
