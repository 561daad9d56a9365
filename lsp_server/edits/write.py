"""Write file changes to disk (the CLI's ``ask --apply``; the editor applies a WorkspaceEdit instead).

A change is written only while its file still holds the text the edit was computed against
(line ends aside); otherwise nothing at all is written (:class:`StaleDocumentError`). A file with
CRLF line ends keeps them. A change whose path leaves the workspace root, as written or through
a symlink, is refused (:class:`UnsafeEditError`) before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lsp_server.edits.protocol import FileChange
from lsp_server.errors import EditApplyError, StaleDocumentError, UnsafeEditError


def _inside(root: Path, rel: str) -> Path:
    path = root / rel
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        inside = False
    if not inside:
        raise UnsafeEditError(f"{rel}: outside the workspace root; nothing written")
    return path


def write_changes(root: Path, changes: Sequence[FileChange]) -> list[str]:
    """Write each change under ``root``, all or none; the paths written, in order."""
    crlf: dict[str, bool] = {}
    for change in changes:
        path = _inside(root, change.path)
        raw = ""
        if path.exists():
            try:
                with path.open(encoding="utf-8", newline="") as fh:
                    raw = fh.read()
            except UnicodeDecodeError:
                raise EditApplyError(f"{change.path} is not UTF-8 text; nothing written") from None
        crlf[change.path] = "\r\n" in raw
        if raw.replace("\r\n", "\n") != change.old_text.replace("\r\n", "\n"):
            raise StaleDocumentError(f"{change.path} changed while the request ran; nothing written")
    written: list[str] = []
    for change in changes:
        path = root / change.path
        path.parent.mkdir(parents=True, exist_ok=True)
        text = change.new_text
        if crlf[change.path] and "\r\n" not in text:
            text = text.replace("\n", "\r\n")  # keep the file's line endings
        path.write_text(text, encoding="utf-8", newline="")
        written.append(change.path)
    return written
