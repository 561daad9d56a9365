"""A file's raw symbols as the index sees them: its open buffer, else its stored row.

The derived tables read files only through :class:`Sources`, so that an edited buffer replaces
the disk's version everywhere at once, and a file that exists only as an unsaved buffer is
indexed too.
"""

from __future__ import annotations

from lsp_server.context.index.files import DiskFiles
from lsp_server.context.index.incremental import Buffers
from lsp_server.context.index.languages import language_for
from lsp_server.context.index.parse_file import count_lines
from lsp_server.context.index.syntax import RawDef, RawImport, RawRef
from lsp_server.context.index.walk import WalkEntry


class Sources:
    """Buffers over stored files, read-only. Not locked: the index's lock guards every call."""

    def __init__(self, disk: DiskFiles, buffers: Buffers) -> None:
        self._disk = disk
        self._buffers = buffers

    def paths(self) -> list[str]:
        """Every indexed file, open unsaved buffers included, sorted."""
        paths = set(self._disk.paths())
        paths.update(self._buffers.paths())
        return sorted(paths)

    def language(self, rel: str) -> str:
        stored = self._disk.get(rel)
        if stored is not None:
            return stored.language
        spec = language_for(rel)
        return spec.name if spec is not None else ""

    def symbols(self, rel: str) -> tuple[list[RawDef], list[RawRef], int]:
        """Definitions, references and the count of syntax errors."""
        live = self._buffers.get(rel)
        if live is not None:
            return live.extracted.definitions, live.extracted.references, live.extracted.error_nodes
        return self._disk.symbols(rel)

    def imports(self, rel: str) -> list[RawImport]:
        live = self._buffers.get(rel)
        if live is not None:
            return live.extracted.imports
        return self._disk.imports(rel)

    def facts(self, rel: str) -> tuple[str, int, int] | None:
        """(content hash, size in bytes, lines), or None for a file the index does not hold."""
        live = self._buffers.get(rel)
        if live is not None:
            return live.content_hash, len(live.source), count_lines(live.source)
        stored = self._disk.get(rel)
        if stored is None:
            return None
        return stored.content_hash, stored.size, stored.lines

    def load_all(self) -> None:
        """Read every stored blob not read yet (before a table of the whole project)."""
        self._disk.load_blobs(None)

    @property
    def manifests(self) -> list[WalkEntry]:
        return self._disk.manifests
