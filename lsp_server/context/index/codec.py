"""The two blobs stored per file (symbols and imports): the extraction's tuples, ``marshal``-ed.

``marshal``'s format may change between Python versions; the store's schema key covers the
version, so a blob is only ever read by the version that wrote it.
"""

from __future__ import annotations

import marshal

from lsp_server.context.index.extract import Extracted
from lsp_server.context.index.syntax import RawDef, RawImport, RawRef


def pack(extracted: Extracted) -> tuple[bytes, bytes]:
    """The two blobs stored per file: symbols and imports."""
    return (
        marshal.dumps((extracted.definitions, extracted.references)),
        marshal.dumps(extracted.imports),
    )


def unpack_symbols(blob: bytes) -> tuple[list[RawDef], list[RawRef]]:
    defs, refs = marshal.loads(blob)
    return defs, refs


def unpack_imports(blob: bytes) -> list[RawImport]:
    imports: list[RawImport] = marshal.loads(blob)
    return imports
