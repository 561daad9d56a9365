"""Turn parsed edits into exact text edits on the current text of each file, or refuse.

Every edit is located in the text as read (the editor's unsaved buffer when it is open, through
``read_text``), so all offsets refer to that one original text. Search blocks are located by
:mod:`lsp_server.edits.locate`; definitions by :mod:`lsp_server.edits.definitions`. Edits that
overlap, anchors that match nowhere or more than once, unsafe paths and oversized edits refuse
the whole answer: the result is every edit, or an error — never a silent partial edit.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lsp_server.config import Settings
from lsp_server.context.index.languages import language_for
from lsp_server.edits.definitions import DefinitionSpan, find_definition
from lsp_server.edits.locate import locate, reindent
from lsp_server.edits.protocol import (
    AnchorMatch,
    DefinitionReplace,
    Edit,
    FileChange,
    SearchReplace,
    TextEdit,
)
from lsp_server.edits.safety import check_size, safe_relative_path
from lsp_server.errors import EditApplyError

ReadText = Callable[[str], str | None]


@dataclass
class Applied:
    """The file changes plus, per edit in answer order, where its anchor was found."""

    changes: list[FileChange]
    anchors: list[AnchorMatch]


@dataclass(frozen=True)
class _Placed:
    index: int
    start: int
    end: int
    new_text: str
    anchor: AnchorMatch


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _line_start(text: str, offset: int) -> int:
    start = text.rfind("\n", 0, offset) + 1
    return start if not text[start:offset].strip() else offset


def _first_line_kind(body: str, language: str) -> str | None:
    first = next((line.strip() for line in body.split("\n") if line.strip()), "")
    if language == "python":
        if first.startswith("@"):
            return "attribute"
        return "comment" if first.startswith("#") else None
    if first.startswith(("#[", "#![")):
        return "attribute"
    return "comment" if first.startswith(("//", "/*")) else None


def _definition_start(d: DefinitionSpan, kind: str | None) -> int:
    if kind is None:
        return d.body_start
    if kind == "attribute":
        attrs = [offset for k, offset in d.lead if k == "attribute"]
        if attrs:
            return attrs[0]
        return d.start
    return d.lead_start


def _place_definition(text: str, path: str, edit: DefinitionReplace, index: int) -> _Placed:
    spec = language_for(path)
    d = find_definition(text, path, edit.symbol)
    body = edit.new_text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not body.strip():
        raise EditApplyError(f"{path}: the new text for {edit.symbol!r} is empty")
    start = _line_start(text, _definition_start(d, _first_line_kind(body, spec.name if spec else "")))
    first_body_line = next(line for line in body.split("\n") if line.strip())
    indent_to = text[start : start + len(text[start:]) - len(text[start:].lstrip(" \t"))]
    new_text = reindent(body, _indent_of(first_body_line), indent_to)
    if "\r\n" in text:
        new_text = new_text.replace("\n", "\r\n")
    anchor = AnchorMatch(path, "symbol", 1.0, start, d.end)
    return _Placed(index, start, d.end, new_text, anchor)


def _place_search(text: str, path: str, edit: SearchReplace, index: int) -> _Placed:
    found = locate(text, edit.search, path=path)
    replace = edit.replace
    if found.method != "exact":
        replace = reindent(replace, found.indent_from, found.indent_to)
    if replace.endswith("\n") and not text[found.start : found.end].endswith("\n"):
        replace = replace[:-1]  # the file's last line has no line end: keep it that way
    if "\r\n" in text:
        replace = replace.replace("\r\n", "\n").replace("\n", "\r\n")
    anchor = AnchorMatch(path, found.method, found.similarity, found.start, found.end)
    return _Placed(index, found.start, found.end, replace, anchor)


def _trim(text: str, start: int, end: int, new_text: str) -> tuple[int, int, str]:
    """Shrink a replacement to the lines that really change (editors keep marks elsewhere)."""
    old_lines = text[start:end].splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    head = 0
    while head < min(len(old_lines), len(new_lines)) and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(old_lines), len(new_lines)) - head
        and old_lines[-1 - tail] == new_lines[-1 - tail]
    ):
        tail += 1
    s = start + sum(len(line) for line in old_lines[:head])
    e = end - sum(len(line) for line in old_lines[len(old_lines) - tail :]) if tail else end
    return s, e, "".join(new_lines[head : len(new_lines) - tail])


def _apply(text: str, edits: Sequence[TextEdit]) -> str:
    out = text
    for e in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        out = out[: e.start] + e.new_text + out[e.end :]
    return out


def _file_change(path: str, original: str | None, group: list[tuple[int, Edit]]) -> tuple[FileChange, list[_Placed]]:
    if original is None:
        first = group[0][1]
        if len(group) != 1 or not isinstance(first, SearchReplace) or first.search.strip():
            raise EditApplyError(f"{path}: no such file (to create it, give one block with an empty SEARCH)")
        anchor = AnchorMatch(path, "create", 1.0, 0, 0)
        placed = [_Placed(group[0][0], 0, 0, first.replace, anchor)]
        created = [TextEdit(path, 0, 0, first.replace)] if first.replace else []
        return FileChange(path, "", first.replace, created, created=True), placed
    placed = []
    for index, item in group:
        edit = item
        if isinstance(edit, DefinitionReplace):
            placed.append(_place_definition(original, path, edit, index))
        elif not edit.search.strip():
            if original.strip():
                raise EditApplyError(f"{path}: the file exists; an empty SEARCH can only create a file")
            anchor = AnchorMatch(path, "create", 1.0, 0, len(original))
            placed.append(_Placed(index, 0, len(original), edit.replace, anchor))
        else:
            placed.append(_place_search(original, path, edit, index))
    ordered = sorted(placed, key=lambda p: (p.start, p.end))
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise EditApplyError(
                f"{path}: edits {before.index + 1} and {after.index + 1} change overlapping lines"
            )
    text_edits: list[TextEdit] = []
    for p in ordered:
        s, e, new = _trim(original, p.start, p.end, p.new_text)
        if s != e or new:
            text_edits.append(TextEdit(path, s, e, new))
    return FileChange(path, original, _apply(original, text_edits), text_edits), placed


def apply_detailed(
    edits: Sequence[Edit], read_text: ReadText, *, root: Path, settings: Settings
) -> Applied:
    """Like :func:`apply_edits`, also saying how each anchor was found."""
    if not edits:
        raise EditApplyError("the answer holds no edits")
    groups: dict[str, list[tuple[int, Edit]]] = {}
    for index, edit in enumerate(edits):
        groups.setdefault(safe_relative_path(edit.path, root, settings), []).append((index, edit))
    changes: list[FileChange] = []
    anchors: dict[int, AnchorMatch] = {}
    written = 0
    for path, group in groups.items():
        change, placed = _file_change(path, read_text(path), group)
        written += sum(len(e.new_text.encode("utf-8", "surrogatepass")) for e in change.edits)
        check_size(path, written, settings)
        changes.append(change)
        anchors.update({p.index: p.anchor for p in placed})
    return Applied(changes, [anchors[i] for i in range(len(edits))])


def apply_edits(
    edits: Sequence[Edit], read_text: ReadText, *, root: Path, settings: Settings
) -> list[FileChange]:
    """Exact text edits for ``edits`` against ``read_text(path)`` (None: the file does not exist).

    Anchors are found exactly, then ignoring whitespace, then fuzzily; an anchor found nowhere or
    more than once raises EditApplyError, an unsafe path or oversized edit UnsafeEditError.
    """
    return apply_detailed(edits, read_text, root=root, settings=settings).changes


def disk_reader(root: Path) -> ReadText:
    """A ``read_text`` that reads files under ``root`` from disk (None when missing)."""

    def read(path: str) -> str | None:
        full = root / path
        try:
            with full.open(encoding="utf-8", newline="") as fh:
                return fh.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise EditApplyError(f"{path}: cannot be read as UTF-8 text ({exc.__class__.__name__})") from None

    return read
