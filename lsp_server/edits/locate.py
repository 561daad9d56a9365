"""Find where a SEARCH text sits in a file: exactly, then ignoring whitespace, then fuzzily.

All three work on whole lines. ``exact`` compares lines as written (line ends aside).
``whitespace`` compares lines with runs of whitespace collapsed and blank lines skipped, so a
block with the wrong indentation or a missing blank line still lands. ``fuzzy`` compares
windows of the same number of non-blank lines with difflib and accepts the best window when its
similarity is at least ``FUZZY_THRESHOLD`` and no other window comes within ``FUZZY_MARGIN``.
A text found more than once is ambiguous at every stage: the search stops and refuses.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from lsp_server.errors import EditApplyError

FUZZY_THRESHOLD = 0.85
FUZZY_MARGIN = 0.02
_LINE = re.compile(r"([^\r\n]*)(?:\r\n|\r|\n|\Z)")


@dataclass(frozen=True)
class Located:
    start: int  # string offset of the first matched line's start
    end: int  # string offset just past the last matched line (its line end included)
    method: str  # exact | whitespace | fuzzy
    similarity: float
    indent_from: str = ""  # indentation the SEARCH text used on its first line
    indent_to: str = ""  # indentation the file has there


def split_lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end-with-line-end, content-without-line-end) for each line of ``text``.

    Lines end at ``\n``, ``\r\n`` or ``\r`` only, as the SEARCH text's lines do: a form feed
    or a Unicode line separator is part of its line (``str.splitlines`` would split there).
    """
    return [(m.start(), m.end(), m.group(1)) for m in _LINE.finditer(text) if m.end() > m.start()]


def _squash(line: str) -> str:
    return " ".join(line.split())


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _plural(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _exact(lines: list[tuple[int, int, str]], wanted: list[str]) -> list[int]:
    m = len(wanted)
    first = wanted[0]
    return [
        i
        for i in range(len(lines) - m + 1)
        if lines[i][2] == first and all(lines[i + k][2] == wanted[k] for k in range(1, m))
    ]


def locate(text: str, search: str, *, path: str = "") -> Located:
    """Where ``search`` (whole lines) is in ``text``; EditApplyError when nowhere or ambiguous."""
    lines = split_lines(text)
    wanted = [line.rstrip("\r") for line in search.split("\n")]
    if wanted and wanted[-1] == "":
        wanted.pop()
    where = f"{path}: " if path else ""
    if not any(w.strip() for w in wanted):
        raise EditApplyError(f"{where}the SEARCH text is blank; it cannot anchor an edit")

    hits = _exact(lines, wanted)
    if len(hits) == 1:
        i = hits[0]
        return Located(lines[i][0], lines[i + len(wanted) - 1][1], "exact", 1.0)
    if len(hits) > 1:
        raise EditApplyError(
            f"{where}the SEARCH text matches {_plural(len(hits))}; add context lines so it matches once"
        )

    # Whitespace-insensitive, blank lines skipped on both sides.
    body = [(i, _squash(c)) for i, (_, _, c) in enumerate(lines) if c.strip()]
    want = [(w, _squash(w)) for w in wanted if w.strip()]
    squashed = [s for _, s in want]
    m = len(squashed)
    ws_hits = [
        k for k in range(len(body) - m + 1) if all(body[k + j][1] == squashed[j] for j in range(m))
    ]
    if len(ws_hits) > 1:
        raise EditApplyError(
            f"{where}the SEARCH text matches {_plural(len(ws_hits))} (ignoring whitespace); "
            "add context lines so it matches once"
        )
    if len(ws_hits) == 1:
        k = ws_hits[0]
        first, last = body[k][0], body[k + m - 1][0]
        return Located(
            lines[first][0], lines[last][1], "whitespace", 1.0,
            _indent(want[0][0]), _indent(lines[first][2]),
        )

    return _fuzzy(lines, body, want, where)


def _fuzzy(
    lines: list[tuple[int, int, str]],
    body: list[tuple[int, str]],
    want: list[tuple[str, str]],
    where: str,
) -> Located:
    m = len(want)
    squashed = [s for _, s in want]
    target = "\n".join(squashed)
    anchors: dict[str, list[int]] = {}
    for j, s in enumerate(squashed):
        anchors.setdefault(s, []).append(j)
    candidates: set[int] = set()
    for k, (_, s) in enumerate(body):
        for j in anchors.get(s, ()):
            start = k - j
            if 0 <= start <= len(body) - m:
                candidates.add(start)
    scored: list[tuple[float, int]] = []
    for start in sorted(candidates):
        window = "\n".join(s for _, s in body[start : start + m])
        matcher = difflib.SequenceMatcher(None, target, window, autojunk=False)
        if matcher.real_quick_ratio() < FUZZY_THRESHOLD or matcher.quick_ratio() < FUZZY_THRESHOLD:
            continue
        scored.append((matcher.ratio(), start))
    scored.sort(reverse=True)
    if not scored or scored[0][0] < FUZZY_THRESHOLD:
        best = f" (best similarity {scored[0][0]:.2f})" if scored else ""
        raise EditApplyError(f"{where}the SEARCH text is not in the file{best}")
    ratio, start = scored[0]
    rivals = [s for r, s in scored[1:] if r >= ratio - FUZZY_MARGIN and abs(s - start) >= m]
    if rivals:
        raise EditApplyError(
            f"{where}the SEARCH text is not in the file and resembles {len(rivals) + 1} places"
        )
    first, last = body[start][0], body[start + m - 1][0]
    return Located(
        lines[first][0], lines[last][1], "fuzzy", ratio,
        _indent(want[0][0]), _indent(lines[first][2]),
    )


def reindent(text: str, indent_from: str, indent_to: str) -> str:
    """Move ``text``'s lines from one base indentation to another (for a mis-indented block)."""
    if indent_from == indent_to:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        if not line.strip():
            out.append(line)
        elif line.startswith(indent_from):
            out.append(indent_to + line[len(indent_from):])
        else:
            out.append(line)
    return "\n".join(out)
