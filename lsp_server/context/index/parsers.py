"""Tree-sitter parsers: this thread's parser per language, and a time-boxed incremental parse.

A parser holds the state of the parse it runs, so each thread has its own per language (a
refresh on a worker thread and a keystroke on the event loop never share one), reused across
files. A keystroke's re-parse must not stall the editor when error recovery re-reads much of a
file: :func:`parse_within` gives up after a deadline.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tree_sitter import Tree

from lsp_server.context.index.languages import LanguageSpec


class _Parsers(threading.local):
    """A tree-sitter parser holds the state of the parse it runs: one per language per thread
    (a refresh on a worker thread and a keystroke on the event loop never share one), reused
    across files (parse workers reuse theirs for every file they claim)."""

    def __init__(self) -> None:
        self.by_language: dict[str, Any] = {}


_PARSERS = _Parsers()


def parser_for(spec: LanguageSpec) -> Any:
    """This thread's parser for ``spec``."""
    parser = _PARSERS.by_language.get(spec.name)
    if parser is None:
        parser = _PARSERS.by_language[spec.name] = spec.parser()
    return parser


PARSE_CHUNK = 4096


def parse_within(parser: Any, data: bytes, old: Tree, seconds: float) -> Tree | None:
    """Re-parse ``data`` incrementally from ``old`` (edited to match), giving up after
    ``seconds``: None then, with the parser reset for its next use."""
    deadline = time.perf_counter() + seconds

    def read(byte: int, _point: Any) -> bytes:
        return data[byte : byte + PARSE_CHUNK]

    def halt(_offset: int, _has_error: bool) -> bool:
        return time.perf_counter() > deadline

    try:
        tree: Tree = parser.parse(read, old_tree=old, progress_callback=halt)
    except ValueError:  # "Parsing failed": halted
        parser.reset()
        return None
    return tree
