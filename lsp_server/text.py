"""Positions in text: LSP (line, character) in a negotiated encoding ↔ offsets, and byte points.

LSP counts characters in UTF-16 code units by default, or UTF-8 bytes / code points when the
client negotiates it. Tree-sitter counts bytes of UTF-8. These helpers convert between them
without any LSP library, so the core can apply editor changes itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["utf-16", "utf-8", "utf-32"]


@dataclass(frozen=True, slots=True)
class Position:
    """Zero-based line and character, the character counted in some encoding."""

    line: int
    character: int


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range of positions, as LSP ranges are."""

    start: Position
    end: Position


NEWLINE_RE = re.compile(r"\r\n|\r|\n")


def line_starts(text: str) -> list[int]:
    """String offsets at which each line starts (``\\n``, ``\\r\\n`` and ``\\r`` end lines)."""
    starts = [0]
    starts.extend(m.end() for m in NEWLINE_RE.finditer(text))
    return starts


def _units(ch: str, encoding: Encoding) -> int:
    if encoding == "utf-32":
        return 1
    cp = ord(ch)
    if encoding == "utf-16":
        return 2 if cp > 0xFFFF else 1
    if cp < 0x80:
        return 1
    if cp < 0x800:
        return 2
    if cp < 0x10000:
        return 3
    return 4


def _line_end(text: str, starts: list[int], line: int) -> int:
    """Offset of the end of ``line``'s content (before its line terminator)."""
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    while end > starts[line] and text[end - 1] in "\r\n":
        end -= 1
    return end


def offset_at(
    text: str, pos: Position, encoding: Encoding = "utf-16", starts: list[int] | None = None
) -> int:
    """String offset of an LSP position. Out-of-range positions clamp, as the spec asks."""
    starts = starts if starts is not None else line_starts(text)
    if pos.line < 0:
        return 0
    if pos.line >= len(starts):
        return len(text)
    start = starts[pos.line]
    end = _line_end(text, starts, pos.line)
    if encoding == "utf-32":
        return min(start + max(pos.character, 0), end)
    remaining = max(pos.character, 0)
    i = start
    while i < end and remaining > 0:
        remaining -= _units(text[i], encoding)
        i += 1
    return i


def position_at(
    text: str, offset: int, encoding: Encoding = "utf-16", starts: list[int] | None = None
) -> Position:
    """LSP position of a string offset."""
    starts = starts if starts is not None else line_starts(text)
    offset = max(0, min(offset, len(text)))
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    start = starts[lo]
    if encoding == "utf-32":
        return Position(lo, offset - start)
    return Position(lo, sum(_units(c, encoding) for c in text[start:offset]))


def byte_offset(text: str, offset: int) -> int:
    """UTF-8 byte offset of a string offset (what tree-sitter counts)."""
    return len(text[:offset].encode("utf-8", "surrogatepass"))


def byte_point(text: str, offset: int, starts: list[int] | None = None) -> tuple[int, int]:
    """Tree-sitter point (row, byte column) of a string offset."""
    starts = starts if starts is not None else line_starts(text)
    pos = position_at(text, offset, "utf-8", starts)
    return (pos.line, pos.character)
