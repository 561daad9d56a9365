"""The documents overlay: the editor's unsaved buffers, layered over files on disk.

The LSP layer feeds it ``didOpen`` / ``didChange`` / ``didClose``; everything in the core reads
text through :meth:`Documents.text`, so a request sees what the user sees. Listeners (the index)
are told of each change with the byte-level edit tree-sitter needs for an incremental re-parse.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.errors import EditApplyError
from lsp_server.text import (
    NEWLINE_RE,
    Encoding,
    Position,
    Span,
    byte_offset,
    line_starts,
    offset_at,
)


@dataclass(frozen=True, slots=True)
class TextChange:
    """One content change: ``span`` None replaces the whole text."""

    text: str
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class ByteEdit:
    """A change in tree-sitter terms: byte offsets and (row, byte column) points."""

    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """What listeners receive: the path, the new text and version, and the edits in order.

    ``edits`` is empty when the whole text was replaced (a full re-parse is then needed).
    """

    path: Path
    text: str
    version: int
    edits: tuple[ByteEdit, ...]
    closed: bool = False


@dataclass(slots=True)
class Document:
    path: Path
    text: str
    version: int
    language_id: str = ""
    starts: list[int] | None = None  # line start offsets of ``text``, kept up to date on edits

    def line_starts(self) -> list[int]:
        if self.starts is None:
            self.starts = line_starts(self.text)
        return self.starts


Listener = Callable[[DocumentChange], None]


def in_order(change: DocumentChange, last_version: int | None) -> DocumentChange | None:
    """The one version-ordering rule for a copy of the buffers that hears of changes late.

    A copy (the index, the context process's mirror) takes a start-up snapshot of the open
    buffers while change events keep coming, so it may see a version twice or an older one
    after a newer. ``last_version`` is the version the copy holds (None: it holds none).
    Returns the change to apply, or None to skip it: a close always applies; a version not
    newer than the one held is skipped; edits against a version the copy never saw become a
    whole-text change (the text is always complete).
    """
    if change.closed:
        return change
    if last_version is not None and change.version <= last_version:
        return None
    if last_version is None and change.edits:
        return DocumentChange(change.path, change.text, change.version, ())
    return change


# Recently edited files remembered for ranking (the editor's working set).
MAX_RECENT_EDITS = 16


@dataclass
class Documents:
    """Open buffers keyed by absolute path. Thread-safe; reads fall back to disk."""

    encoding: Encoding = "utf-16"
    _docs: dict[Path, Document] = field(default_factory=dict)
    _listeners: list[Listener] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    # Files changed through the editor, least recent first (closed ones too: a file edited a
    # minute ago is still what the user works on).
    _edited: dict[Path, None] = field(default_factory=dict)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _notify(self, change: DocumentChange) -> None:
        for listener in list(self._listeners):
            listener(change)

    def open(self, path: Path, text: str, version: int, language_id: str = "") -> None:
        path = path.absolute()
        with self._lock:
            self._docs[path] = Document(path, text, version, language_id)
        self._notify(DocumentChange(path, text, version, ()))

    def change(self, path: Path, changes: Sequence[TextChange], version: int) -> DocumentChange:
        """Apply changes in order (as LSP sends them) and return what listeners were told."""
        path = path.absolute()
        with self._lock:
            doc = self._docs.get(path)
            if doc is None:
                text = _read_disk(path) or ""
                doc = Document(path, text, version)
                self._docs[path] = doc
            text = doc.text
            starts = doc.line_starts()
            edits: list[ByteEdit] = []
            full = False
            for ch in changes:
                if ch.span is None:
                    text = ch.text
                    starts = line_starts(text)
                    full = True
                    edits.clear()
                    continue
                text, starts, edit = _apply(text, starts, ch, self.encoding)
                edits.append(edit)
            doc.text = text
            doc.starts = starts
            doc.version = version
            self._edited.pop(path, None)
            self._edited[path] = None
            while len(self._edited) > MAX_RECENT_EDITS:
                del self._edited[next(iter(self._edited))]
            event = DocumentChange(path, text, version, () if full else tuple(edits))
        self._notify(event)
        return event

    def close(self, path: Path) -> None:
        path = path.absolute()
        with self._lock:
            doc = self._docs.pop(path, None)
        if doc is not None:
            disk = _read_disk(path)
            self._notify(DocumentChange(path, disk if disk is not None else "", -1, (), closed=True))

    def get(self, path: Path) -> Document | None:
        with self._lock:
            doc = self._docs.get(path.absolute())
            return Document(doc.path, doc.text, doc.version, doc.language_id) if doc else None

    def offset(self, path: Path, pos: Position) -> int | None:
        """String offset of an LSP position in an open buffer (None when not open)."""
        with self._lock:
            doc = self._docs.get(path.absolute())
            if doc is None:
                return None
            return offset_at(doc.text, pos, self.encoding, doc.line_starts())

    def version(self, path: Path) -> int | None:
        doc = self.get(path)
        return doc.version if doc else None

    def text(self, path: Path) -> str | None:
        """The buffer text if the file is open, else the file on disk, else None."""
        doc = self.get(path)
        if doc is not None:
            return doc.text
        return _read_disk(path.absolute())

    def text_for_edit(self, path: Path) -> str | None:
        """Like :meth:`text`, for text an edit will be computed against: a file on disk that
        is not UTF-8 raises :class:`~lsp_server.errors.EditApplyError` instead of being read
        with replacement characters (an edit over those would write them back)."""
        doc = self.get(path)
        if doc is not None:
            return doc.text
        try:
            with path.absolute().open(encoding="utf-8", newline="") as fh:
                return fh.read()
        except UnicodeDecodeError as exc:
            line = exc.object[: exc.start].count(b"\n") + 1
            raise EditApplyError(
                f"{path.name} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line "
                f"{line}): the assistant edits UTF-8 files only; convert it first, e.g. "
                f"iconv -f latin1 -t utf-8") from None
        except (OSError, ValueError):
            return None

    def open_paths(self) -> list[Path]:
        with self._lock:
            return list(self._docs)

    def recently_edited(self) -> list[Path]:
        """The files most recently changed through the editor, most recent first (at most
        :data:`MAX_RECENT_EDITS`)."""
        with self._lock:
            return list(reversed(self._edited))


def _read_disk(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return None


def _apply(
    text: str, starts: list[int], change: TextChange, encoding: Encoding
) -> tuple[str, list[int], ByteEdit]:
    """Apply one ranged change; return the new text, its line starts and the byte edit.

    Work is proportional to the edited region plus one pass over the line-start list, so a
    keystroke in a large file stays cheap.
    """
    assert change.span is not None
    start = offset_at(text, change.span.start, encoding, starts)
    end = max(start, offset_at(text, change.span.end, encoding, starts))
    new_text = text[:start] + change.text + text[end:]
    start_point = _point(text, start)
    old_end_point = _point(text, end)
    start_b = byte_offset(text, start)
    old_end_b = start_b + len(text[start:end].encode("utf-8", "surrogatepass"))
    inserted = change.text.encode("utf-8", "surrogatepass")
    new_end_b = start_b + len(inserted)
    # New line starts: unchanged before the edit, recomputed around it, shifted after it. The
    # recomputed region reaches one line either side, so a CR and an LF that an edit joins or
    # splits are counted right.
    lo = max(0, bisect.bisect_right(starts, start) - 2)
    hi = bisect.bisect_right(starts, end + 1)
    delta = len(change.text) - (end - start)
    region_start = starts[lo]
    if hi < len(starts):
        region_end = starts[hi] + delta
        middle = [m.end() for m in NEWLINE_RE.finditer(new_text, region_start, region_end)
                  if m.end() < region_end]
    else:
        middle = [m.end() for m in NEWLINE_RE.finditer(new_text, region_start)]
    new_starts = [*starts[: lo + 1], *middle, *(o + delta for o in starts[hi:])]
    nl = inserted.rfind(b"\n")
    if nl < 0:
        new_end_point = (start_point[0], start_point[1] + len(inserted))
    else:
        new_end_point = (start_point[0] + inserted.count(b"\n"), len(inserted) - nl - 1)
    edit = ByteEdit(
        start_byte=start_b,
        old_end_byte=old_end_b,
        new_end_byte=new_end_b,
        start_point=start_point,
        old_end_point=old_end_point,
        new_end_point=new_end_point,
    )
    return new_text, new_starts, edit


def _point(text: str, offset: int) -> tuple[int, int]:
    """Tree-sitter point of a string offset: rows counted by LF only, as tree-sitter does, and
    the column in bytes since the last LF."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset), len(text[line_start:offset].encode("utf-8", "surrogatepass"))
