"""One file from disk to a row the store keeps: read, hash, parse, extract, pack.

Never raises for bad content: an unreadable, binary or unparsable file is kept, empty, with a
note saying why (the refresh logs it). A file whose stat changed but whose content did not is
reported ``unchanged`` without being parsed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lsp_server.context.index.codec import pack
from lsp_server.context.index.extract import Extracted, extract
from lsp_server.context.index.languages import LANGUAGES
from lsp_server.context.index.parsers import parser_for

BINARY_SNIFF = 8192


@dataclass(slots=True)
class ParsedFile:
    """A file parsed from disk by a worker, ready to store: blobs are ``marshal`` data."""

    path: str
    language: str
    content_hash: str
    size: int
    mtime_ns: int
    lines: int
    error_nodes: int
    n_defs: int
    n_refs: int
    symbols: bytes  # marshal((definitions, references))
    imports: bytes  # marshal(imports)
    note: str = ""  # why the file yielded less than usual (binary, unreadable, syntax errors)
    unchanged: bool = False  # the stat changed but the content hash did not: nothing parsed


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def count_lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_SNIFF]


def parse_path(
    path: str, abspath: str, language: str, size: int, mtime_ns: int, known_hash: str = ""
) -> ParsedFile:
    """Read, hash, parse and extract one file from disk. Never raises for bad content.

    With ``known_hash`` (the stored hash of a file whose stat changed), an identical content
    is reported ``unchanged`` without parsing.
    """
    spec = LANGUAGES[language]
    note = ""
    try:
        with open(abspath, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        data = b""
        note = f"unreadable: {exc.strerror or exc}"
    digest = content_hash(data)
    if known_hash and digest == known_hash and not note:
        return ParsedFile(path, language, digest, len(data), mtime_ns, 0, 0, 0, 0, b"", b"", "", True)
    size = len(data) if not note else size
    if data and is_binary(data):
        note = "binary content"
        empty = Extracted([], [], [], 0)
        sym, imp = pack(empty)
        return ParsedFile(path, language, digest, size, mtime_ns, 0, 0, 0, 0, sym, imp, note)
    try:
        extracted = extract(spec, parser_for(spec).parse(data), data)
    except Exception as exc:  # a grammar bug must not stop the index; keep the file, empty
        note = f"parse failed: {exc}"
        extracted = Extracted([], [], [], 0)
    if extracted.error_nodes and not note:
        note = f"{extracted.error_nodes} syntax error(s); kept what parsed"
    sym, imp = pack(extracted)
    return ParsedFile(
        path,
        language,
        digest,
        size,
        mtime_ns,
        count_lines(data),
        extracted.error_nodes,
        len(extracted.definitions),
        len(extracted.references),
        sym,
        imp,
        note,
    )
