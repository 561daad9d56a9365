"""Turn what editors send (:mod:`lsp_server.wire`) into assistant requests."""

from __future__ import annotations

from pathlib import Path

from lsp_server import wire
from lsp_server.assistant import AssistRequest
from lsp_server.edits import FixDiagnostic
from lsp_server.errors import ConfigError
from lsp_server.server.convert import uri_to_path


def parse_path(uri: str) -> Path:
    path = uri_to_path(uri)
    if path is None:
        raise ConfigError(f"expected a file: URI, got {uri!r:.80}")
    return path


def line_range(rng: wire.Range) -> tuple[int, int]:
    """1-based inclusive lines of an LSP range (a range ending at column 0 stops the line before)."""
    start, end = rng["start"]["line"], rng["end"]["line"]
    if rng["end"]["character"] == 0 and end > start:
        end -= 1
    return start + 1, end + 1


def fix_diagnostic(ref: wire.DiagnosticRef) -> FixDiagnostic:
    rng = ref["range"]
    return FixDiagnostic(ref["message"], ref["source"], ref["code"],
                         line_range(rng) if rng is not None else None)


def make_request(data: wire.ActionData) -> AssistRequest:
    rng = data["range"]
    return AssistRequest(
        kind=data["kind"],
        instruction=data["instruction"],
        path=parse_path(data["uri"]),
        line_range=line_range(rng),
        cursor=(rng["start"]["line"] + 1, rng["start"]["character"]),
        diagnostics=tuple(fix_diagnostic(d) for d in data["diagnostics"]),
        document_version=data["version"],
    )
