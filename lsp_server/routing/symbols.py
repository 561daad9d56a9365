"""What the index knows at a position: the symbol under the cursor, where it is defined, its
signature and how often it is referenced. Pure lookups, fast enough for every hover."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lsp_server.context.index.model import Definition, FileSymbols, Reference

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """A symbol as the hover shows it. ``path`` is relative to the project; lines are 1-based."""

    name: str
    kind: str
    qualname: str
    signature: str
    language: str
    path: str
    line: int
    end_line: int
    references: int
    text: str  # the definition's source (keys the explanation cache)


class SymbolIndex(Protocol):
    def file(self, path: str) -> FileSymbols | None: ...

    def definitions_named(self, name: str) -> Sequence[Definition]: ...

    def references_named(self, name: str) -> Sequence[Reference]: ...

    def text(self, path: str) -> str | None: ...


def word_at(line_text: str, column: int) -> str | None:
    """The identifier touching ``column`` (0-based, in characters) of ``line_text``."""
    for m in _WORD.finditer(line_text):
        if m.start() <= column <= m.end():
            return m.group(0)
    return None


def _best_definition(defs: Sequence[Definition], rel: str, line: int) -> Definition | None:
    if not defs:
        return None
    # Prefer the definition at this very line, then one in the same file, then not an impl block.
    return min(defs, key=lambda d: (not (d.path == rel and d.start_line <= line <= d.end_line),
                                    d.path != rel, d.kind == "impl", d.path, d.start_line))


def symbol_at(index: SymbolIndex, rel: str, line: int, column: int, text: str | None) -> SymbolInfo | None:
    """The symbol at ``line`` (1-based) and ``column`` (0-based) of file ``rel``, or None."""
    if text is None:
        text = index.text(rel)
    if text is None:
        return None
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    name = word_at(lines[line - 1], column)
    if name is None:
        return None
    symbols = index.file(rel)
    language = symbols.language if symbols is not None else ""
    defn = _best_definition(index.definitions_named(name), rel, line)
    if defn is None:
        return None
    refs = len(index.references_named(name))
    body_text = index.text(defn.path) or ""
    body = "\n".join(body_text.split("\n")[defn.start_line - 1:defn.end_line])
    def_file = index.file(defn.path)
    return SymbolInfo(
        name=defn.name, kind=defn.kind, qualname=defn.qualname, signature=defn.signature,
        language=def_file.language if def_file is not None else language, path=defn.path,
        line=defn.start_line, end_line=defn.end_line, references=refs, text=body,
    )
