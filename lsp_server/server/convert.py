"""Converters between lsprotocol types and the core's plain types."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from lsp_server import wire
from lsp_server.context.documents import TextChange
from lsp_server.text import Encoding, Position, Span


def uri_to_path(uri: str) -> Path | None:
    """Filesystem path of a ``file:`` URI, or None for other schemes (untitled:, git:, ...)."""
    if not uri.startswith("file:"):
        return None
    fs = to_fs_path(uri)
    if fs is None:
        fs = unquote(urlparse(uri).path)
    return Path(fs)


def path_to_uri(path: Path) -> str:
    uri = from_fs_path(str(path))
    return uri if uri is not None else path.as_uri()


def encoding_of(kind: object) -> Encoding:
    value = str(getattr(kind, "value", kind) or "utf-16").lower()
    if value in ("utf-8", "utf-32"):
        return value  # type: ignore[return-value]
    return "utf-16"


def position(p: lsp.Position) -> Position:
    return Position(p.line, p.character)


def span(r: lsp.Range) -> Span:
    return Span(position(r.start), position(r.end))


def lsp_position(p: Position) -> lsp.Position:
    return lsp.Position(line=p.line, character=p.character)


def lsp_range(s: Span) -> lsp.Range:
    return lsp.Range(start=lsp_position(s.start), end=lsp_position(s.end))


def wire_range(r: lsp.Range) -> wire.Range:
    """An lsprotocol Range as the JSON the wire carries."""
    return {"start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character}}


def text_change(change: lsp.TextDocumentContentChangeEvent) -> TextChange:
    if isinstance(change, lsp.TextDocumentContentChangePartial):
        return TextChange(change.text, span(change.range))
    return TextChange(change.text, None)
