"""A unified diff of file changes, for the CLI and for logs (git's ``a/`` ``b/`` form)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from lsp_server.edits.protocol import FileChange


def _lines(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def unified_diff(changes: Sequence[FileChange], *, context: int = 3) -> str:
    """All changes as one unified diff (empty when nothing changes)."""
    out: list[str] = []
    for change in changes:
        if change.old_text == change.new_text and not change.created:
            continue
        old_name = "/dev/null" if change.created else f"a/{change.path}"
        out.extend(
            difflib.unified_diff(
                _lines(change.old_text),
                _lines(change.new_text),
                fromfile=old_name,
                tofile=f"b/{change.path}",
                n=context,
            )
        )
    return "".join(out)
