"""Turn the edits engine's file changes into one LSP WorkspaceEdit.

Edits are versioned against the text the assistant read. If an open buffer changed since, the
edit is refused (StaleDocumentError) rather than applied to other text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from lsprotocol import types as lsp

from lsp_server.context.documents import Documents
from lsp_server.errors import StaleDocumentError, UnsafeEditError
from lsp_server.server.convert import lsp_range, path_to_uri
from lsp_server.text import Position, Span, line_starts, position_at


class TextEditLike(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def new_text(self) -> str: ...


class FileChangeLike(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def old_text(self) -> str: ...
    @property
    def edits(self) -> Sequence[TextEditLike]: ...
    @property
    def created(self) -> bool: ...


def to_workspace_edit(
    changes: Sequence[FileChangeLike],
    *,
    root: Path,
    documents: Documents,
    expected_versions: dict[Path, int] | None = None,
) -> lsp.WorkspaceEdit:
    """One WorkspaceEdit for all changes, positions in the documents' negotiated encoding."""
    document_changes: list[lsp.TextDocumentEdit | lsp.CreateFile] = []
    expected_versions = expected_versions or {}
    for change in changes:
        path = (root / change.path).resolve()
        if not path.is_relative_to(root.resolve()):
            raise UnsafeEditError(f"{change.path}: outside the workspace; not applied")
        uri = path_to_uri(path)
        doc = documents.get(path)
        version: int | None = None
        if doc is not None:
            wanted = expected_versions.get(path)
            if (wanted is not None and doc.version != wanted) or doc.text != change.old_text:
                raise StaleDocumentError(
                    f"{change.path} changed while the assistant was working; run the action again"
                )
            version = doc.version
        elif change.created:
            document_changes.append(lsp.CreateFile(uri=uri, options=lsp.CreateFileOptions(
                overwrite=False, ignore_if_exists=True)))
        else:
            disk = documents.text(path)
            if disk is not None and disk != change.old_text:
                raise StaleDocumentError(f"{change.path} changed on disk; run the action again")
        starts = line_starts(change.old_text)
        enc = documents.encoding
        text_edits: list[lsp.TextEdit | lsp.AnnotatedTextEdit | lsp.SnippetTextEdit] = [
            lsp.TextEdit(
                range=lsp_range(Span(
                    _pos(change.old_text, e.start, enc, starts),
                    _pos(change.old_text, e.end, enc, starts),
                )),
                new_text=e.new_text,
            )
            for e in sorted(change.edits, key=lambda e: e.start)
        ]
        document_changes.append(lsp.TextDocumentEdit(
            text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
            edits=text_edits,
        ))
    return lsp.WorkspaceEdit(document_changes=document_changes)


def _pos(text: str, offset: int, enc: str, starts: list[int]) -> Position:
    return position_at(text, offset, enc, starts)  # type: ignore[arg-type]
