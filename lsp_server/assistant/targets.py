"""Where a request points: its file as a project-relative path, with the text the user sees."""

from __future__ import annotations

from pathlib import Path

from lsp_server.assistant.values import NO_TARGET, AssistRequest, Target
from lsp_server.context.documents import Documents
from lsp_server.context.index.parse_file import BINARY_SNIFF
from lsp_server.errors import ConfigError


def relative(root: Path, path: Path) -> str:
    """``path`` relative to the project ``root`` (POSIX); ConfigError when it is outside."""
    absolute = (path if path.is_absolute() else root / path).resolve()
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        raise ConfigError(f"{path} is outside the project {root}") from None


def resolve_target(root: Path, documents: Documents, request: AssistRequest) -> Target:
    """The request's file, its buffer text (else the file on disk) and buffer version; a
    binary file is refused (ConfigError)."""
    if request.path is None:
        return NO_TARGET
    rel = relative(root, request.path)
    absolute = root / rel
    version = documents.version(absolute)
    text = documents.text(absolute)
    if text is not None and "\x00" in text[:BINARY_SNIFF]:
        # Its "lines" would go to the model as the selection: thousands of tokens of noise.
        raise ConfigError(f"{rel} looks like a binary file (it holds NUL bytes): the assistant "
                          "works on text files only")
    return Target(rel, text, version if version is not None else request.document_version)


def require_editable(root: Path, documents: Documents, target: Target) -> None:
    """Refuse, before any model is asked, an edit of a file that is not UTF-8 text."""
    if target.rel is not None:
        documents.text_for_edit(root / target.rel)
