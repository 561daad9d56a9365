"""Turn a model's raw answer into edits, tolerating the usual quirks and rejecting the rest.

Tolerated: code fences around blocks, CRLF or CR line ends, a missing final newline, prose
before, between and after blocks, paths in the forms :mod:`lsp_server.edits.paths` accepts, a
block without a path (it takes the previous block's path, else ``default_path``), and marker
runs of 5 to 9 characters. Rejected with a reason (:class:`EditParseError`): no block at all, a
block cut off before its ``=======`` or ``>>>>>>> REPLACE``, a stray ``>>>>>>> REPLACE``, a block
whose file cannot be told, a definition header without a code block.

:func:`format_edits` renders edits back in the canonical form, and parsing that text gives the
same edits (a property test holds the parser to it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lsp_server.edits.paths import normalize_path
from lsp_server.edits.protocol import (
    SEARCH_REPLACE,
    WHOLE_DEFINITION,
    DefinitionReplace,
    Edit,
    SearchReplace,
    check_format,
)
from lsp_server.errors import EditParseError

SEARCH_MARK = "<<<<<<< SEARCH"
DIVIDER = "======="
REPLACE_MARK = ">>>>>>> REPLACE"

_SEARCH_RE = re.compile(r"^\s*<{5,9}\s*SEARCH\b[ \t]*(?P<rest>.*?)\s*$", re.IGNORECASE)
_DIVIDER_RE = re.compile(r"^={5,9}\s*$")
_REPLACE_RE = re.compile(r"^\s*>{5,9}\s*REPLACE\b.*$", re.IGNORECASE)
_FENCE_RE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*[\w+#.\-]*\s*$")
_HEADER_RE = re.compile(
    r"^\s*(?:[#>*\-]+\s*)?(?:\*\*)?REPLACE(?:\s+(?:DEFINITION|FUNCTION|METHOD|CLASS|STRUCT|ENUM|TRAIT|IMPL))?"
    r"\s+`?(?P<symbol>[A-Za-z_][\w:.<>,]*?)`?(?:\s+IN\s+(?P<path>.+?))?\s*(?:\*\*)?\s*:?\s*$",
    re.IGNORECASE,
)
_MAX_PATH_LOOKBACK = 3


def _lines(raw: str) -> list[str]:
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _join(lines: Sequence[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _path_before(lines: list[str], index: int) -> str | None:
    """The path written just above line ``index`` (blank lines and an opening fence skipped)."""
    seen = 0
    j = index - 1
    while j >= 0 and seen < _MAX_PATH_LOOKBACK:
        line = lines[j]
        if not line.strip() or _FENCE_RE.match(line):
            j -= 1
            seen += 1
            continue
        if _REPLACE_RE.match(line) or _DIVIDER_RE.match(line) or _SEARCH_RE.match(line):
            return None
        return normalize_path(line)
    return None


def _parse_search_replace(raw: str, default_path: str | None) -> list[Edit]:
    lines = _lines(raw)
    edits: list[Edit] = []
    last_path: str | None = None
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if _REPLACE_RE.match(line):
            raise EditParseError(
                f"line {i + 1}: '{REPLACE_MARK}' without a '{SEARCH_MARK}' block before it"
            )
        head = _SEARCH_RE.match(line)
        if head is None:
            i += 1
            continue
        number = len(edits) + 1
        rest = head.group("rest")
        path = (normalize_path(rest) if rest else None) or _path_before(lines, i)
        path = path or last_path or default_path
        if path is None:
            raise EditParseError(
                f"block {number} (line {i + 1}): no file path on the line before '{SEARCH_MARK}'"
            )
        j = i + 1
        search: list[str] = []
        while j < n and not _DIVIDER_RE.match(lines[j]):
            if _SEARCH_RE.match(lines[j]) or _REPLACE_RE.match(lines[j]):
                raise EditParseError(
                    f"block {number} (line {i + 1}): SEARCH section has no '{DIVIDER}' divider"
                )
            search.append(lines[j])
            j += 1
        if j >= n:
            raise EditParseError(
                f"block {number} (line {i + 1}) is cut off: no '{DIVIDER}' after the SEARCH lines"
            )
        j += 1
        replace: list[str] = []
        while j < n and not _REPLACE_RE.match(lines[j]):
            if _SEARCH_RE.match(lines[j]):
                raise EditParseError(
                    f"block {number} (line {i + 1}) is cut off: no '{REPLACE_MARK}' before the next block"
                )
            replace.append(lines[j])
            j += 1
        if j >= n:
            raise EditParseError(
                f"block {number} (line {i + 1}) is cut off: no '{REPLACE_MARK}' at its end"
            )
        edits.append(SearchReplace(path, _join(search), _join(replace)))
        last_path = path
        i = j + 1
    if not edits:
        raise EditParseError(f"no search/replace blocks in the answer (expected '{SEARCH_MARK}')")
    return edits


def _parse_whole_definition(raw: str, default_path: str | None) -> list[Edit]:
    lines = _lines(raw)
    edits: list[Edit] = []
    i, n = 0, len(lines)
    while i < n:
        head = _HEADER_RE.match(lines[i])
        if head is None:
            i += 1
            continue
        number = len(edits) + 1
        written = head.group("path")
        path = normalize_path(written) if written else None
        if written and path is None:
            raise EditParseError(f"definition {number} (line {i + 1}): {written.strip()!r} is not a file path")
        path = path or (edits[-1].path if edits else None) or default_path
        if path is None:
            raise EditParseError(f"definition {number} (line {i + 1}): no file path after IN")
        j = i + 1
        while j < n and not lines[j].strip():
            j += 1
        fence = _FENCE_RE.match(lines[j]) if j < n else None
        if fence is None:
            raise EditParseError(
                f"definition {number} (line {i + 1}): the REPLACE line is not followed by a code block"
            )
        mark = fence.group("fence")
        body: list[str] = []
        j += 1
        while j < n:
            stripped = lines[j].strip()
            if stripped and set(stripped) == {mark[0]} and len(stripped) >= len(mark):
                break
            body.append(lines[j])
            j += 1
        if j >= n:
            raise EditParseError(f"definition {number} (line {i + 1}) is cut off: its code block never closes")
        if not any(line.strip() for line in body):
            raise EditParseError(f"definition {number} (line {i + 1}): the code block is empty")
        edits.append(DefinitionReplace(path, head.group("symbol"), _join(body)))
        i = j + 1
    if not edits:
        raise EditParseError("no definition replacements in the answer (expected 'REPLACE <name> IN <path>')")
    return edits


def parse_edits(raw: str, edit_format: str, *, default_path: str | None = None) -> list[Edit]:
    """The edits in ``raw`` in ``edit_format``; raises EditParseError with the reason otherwise."""
    check_format(edit_format)
    if not isinstance(raw, str):
        raise EditParseError("the answer is not text")
    if default_path is not None:
        default_path = normalize_path(default_path) or default_path.replace("\\", "/")
    if edit_format == SEARCH_REPLACE:
        return _parse_search_replace(raw, default_path)
    return _parse_whole_definition(raw, default_path)


def _fence_for(text: str) -> str:
    longest = 2
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("`"):
            longest = max(longest, len(stripped) - len(stripped.lstrip("`")))
    return "`" * (longest + 1)


def format_edits(edits: Sequence[Edit]) -> str:
    """Render edits in the canonical answer form (what the prompts ask models to write)."""
    out: list[str] = []
    for edit in edits:
        if isinstance(edit, SearchReplace):
            out.append(
                f"{edit.path}\n{SEARCH_MARK}\n{edit.search}{DIVIDER}\n{edit.replace}{REPLACE_MARK}\n"
            )
        else:
            body = edit.new_text if edit.new_text.endswith("\n") else edit.new_text + "\n"
            fence = _fence_for(body)
            out.append(f"REPLACE {edit.symbol} IN {edit.path}\n{fence}\n{body}{fence}\n")
    return "\n".join(out)


__all__ = ["DIVIDER", "REPLACE_MARK", "SEARCH_MARK", "WHOLE_DEFINITION", "format_edits", "parse_edits"]
