"""The edits engine: output protocol (prompts), parser, safe applier, diff and verifier.

The router calls :func:`system_prompt` to ask for an answer, :func:`verify` to score it, and the
LSP layer and the CLI turn the verdict's :class:`FileChange` values into a WorkspaceEdit or a
:func:`unified_diff`; the CLI writes them with :func:`write_changes`.
"""

from __future__ import annotations

from lsp_server.edits.applier import Applied, apply_detailed, apply_edits, disk_reader
from lsp_server.edits.diagnostics import FixDiagnostic
from lsp_server.edits.diff import unified_diff
from lsp_server.edits.parser import format_edits, parse_edits
from lsp_server.edits.prompts import KINDS, PROMPT_VERSION, answers_with_edits, system_prompt
from lsp_server.edits.protocol import (
    EDIT_FORMATS,
    AnchorMatch,
    DefinitionReplace,
    Edit,
    FileChange,
    SearchReplace,
    TextEdit,
)
from lsp_server.edits.verifier import Verdict, verify
from lsp_server.edits.write import write_changes

__all__ = [
    "EDIT_FORMATS",
    "KINDS",
    "PROMPT_VERSION",
    "AnchorMatch",
    "Applied",
    "DefinitionReplace",
    "Edit",
    "FileChange",
    "FixDiagnostic",
    "SearchReplace",
    "TextEdit",
    "Verdict",
    "answers_with_edits",
    "apply_detailed",
    "apply_edits",
    "disk_reader",
    "format_edits",
    "parse_edits",
    "system_prompt",
    "unified_diff",
    "verify",
    "write_changes",
]
