"""What a file's new content changed, as the derived tables need to hear it.

The buffers (an edit, a settled parse) and the refresh (a file re-read from disk) report each
change in these terms; :meth:`~lsp_server.context.index.derived.DerivedTables.changed`
invalidates from them as narrowly as it can. ``None`` for a side means "unknown or absent":
the tables then assume the worst for that side.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsp_server.context.index.syntax import RawDef, RawImport


@dataclass(frozen=True, slots=True)
class SymbolChange:
    path: str
    defs_before: list[RawDef] | None
    imports_before: list[tuple[int, RawImport]] | None  # (byte, import); byte 0 when unknown
    defs_after: list[RawDef] | None
    imports_after: list[tuple[int, RawImport]] | None
