"""Open editor buffers, parsed incrementally: what the index knows of a file while it is edited.

Editor buffers override the disk. An edit re-parses from the previous tree and re-extracts
the edited items of that one file (:mod:`splice`); nothing is written to the store for a
buffer (the store mirrors the disk, so a restart never sees unsaved text). When a keystroke
breaks the parse across much of the file (an unclosed bracket), or its re-parse runs past
``KEYSTROKE_PARSE_SECONDS``, the last good symbols are kept, shifted, and re-extracted once the
parse heals or before the next query reads them (:meth:`Buffers.settle`).

Each edit and each settled buffer is reported as a
:class:`~lsp_server.context.index.changes.SymbolChange`, for the derived tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from tree_sitter import Tree

from lsp_server.context.documents import DocumentChange
from lsp_server.context.index.changes import SymbolChange
from lsp_server.context.index.extract import Extracted, MacroTrees, Positioned, extract_positioned
from lsp_server.context.index.languages import LanguageSpec, language_for
from lsp_server.context.index.parse_file import content_hash
from lsp_server.context.index.parsers import parse_within, parser_for
from lsp_server.context.index.splice import edited_region, shift, splice

MACRO_TREES_MAX = 512  # macro body trees an open buffer keeps between edits
DEFER_REGION_BYTES = 32 * 1024  # a broken parse re-nesting more than this defers re-extraction
# A keystroke's incremental parse may take this long. Past it (error recovery after a bracket
# typed before its partner can re-parse much of a large file: tens of milliseconds) the parse
# stops; the buffer keeps its last good symbols, shifted, and the edited old tree, which the
# next keystroke parses from again and a read finishes (see :meth:`Buffers.settle`).
KEYSTROKE_PARSE_SECONDS = 0.003


@dataclass(slots=True)
class Buffer:
    """An open editor buffer, parsed. The flat view and the hash are computed when first read,
    so a keystroke costs the re-parse and the re-extraction of the edited items only."""

    tree: Tree
    source: bytes
    positioned: Positioned
    version: int
    macros: MacroTrees = field(default_factory=dict)  # its macro bodies' trees, for the next edit
    # Set while ``positioned`` is the last good extraction shifted through later edits, because
    # error recovery re-nested the code around an edit (a bracket typed before its partner):
    # the byte ranges edited since, and the tree that extraction came from, edited along.
    pending: list[tuple[int, int]] | None = None
    good: Tree | None = None
    # ``tree`` is edited to match ``source`` but not re-parsed: a keystroke's parse ran out
    # of time (``KEYSTROKE_PARSE_SECONDS``). ``pending`` is set then too.
    stale: bool = False
    _extracted: Extracted | None = None
    _hash: str | None = None

    @property
    def extracted(self) -> Extracted:
        if self._extracted is None:
            self._extracted = self.positioned.to_extracted()
        return self._extracted

    @property
    def content_hash(self) -> str:
        if self._hash is None:
            self._hash = content_hash(self.source)
        return self._hash

    def settled(self, positioned: Positioned, macros: MacroTrees) -> None:
        """Take a full extraction of the current tree in place of the shifted symbols."""
        self.positioned, self.macros = positioned, macros
        self.pending, self.good, self._extracted = None, None, None


def _spliced(
    spec: LanguageSpec, pos: Positioned, base: Tree, new_tree: Tree, data: bytes,
    ranges: list[tuple[int, int]], macro_trees: MacroTrees,
) -> tuple[Positioned | None, MacroTrees]:
    """``pos`` (the symbols of ``base``, shifted through the edits since) with the region that
    changed from ``base`` to ``new_tree`` re-extracted, and the macro bodies parsed on the way.

    ``ranges`` (the byte ranges edited since ``base``) grows by the changed ranges. None when
    the region must be re-extracted whole, or deferred: half-typed code that re-nested much of
    the file (more than ``DEFER_REGION_BYTES``, with errors).
    """
    # against the tree the kept symbols came from, so that closing the bracket that broke the
    # parse re-reads only what was typed in between
    ranges.extend((r.start_byte, r.end_byte) for r in base.changed_ranges(new_tree))
    region = edited_region(spec, new_tree, ranges)
    if region[1] - region[0] > DEFER_REGION_BYTES and new_tree.root_node.has_error:
        return None, macro_trees
    # bodies outside the region stay valid: keep them (bounded, reset on a full pass)
    macros = dict(macro_trees) if len(macro_trees) < MACRO_TREES_MAX else {}
    return splice(pos, extract_positioned(spec, new_tree, data, region, macro_trees, macros), region), macros


class Buffers:
    """The open buffers of one index, by relative path. Not locked: the index's lock guards
    every call."""

    def __init__(self) -> None:
        self._live: dict[str, Buffer] = {}
        self._unsettled: set[str] = set()  # buffers holding shifted symbols (``Buffer.pending``)

    def get(self, rel: str) -> Buffer | None:
        return self._live.get(rel)

    def paths(self) -> Iterable[str]:
        return self._live.keys()

    def drop(self, rel: str) -> Buffer | None:
        """Forget a buffer (closed, or failed); the one dropped, if there was one."""
        old = self._live.pop(rel, None)
        if old is not None:
            self._unsettled.discard(rel)
        return old

    def edit(
        self, rel: str, spec: LanguageSpec, change: DocumentChange,
        on_disk: Callable[[str], Extracted | None],
    ) -> SymbolChange:
        """Apply a buffer's new text: incremental re-parse from the old tree when edits are
        given. ``on_disk`` gives the stored symbols a newly opened buffer replaces."""
        old = self._live.get(rel)
        data = change.text.encode("utf-8", "surrogatepass")
        parser = parser_for(spec)
        positioned: Positioned | None = None
        pending: list[tuple[int, int]] | None = None
        good: Tree | None = None
        stale = False
        if old is not None and change.edits:
            tree = old.tree
            base = old.good
            pos = old.positioned
            ranges: list[tuple[int, int]] = list(old.pending or ())
            for e in change.edits:
                for t in (tree, base) if base is not None else (tree,):
                    t.edit(
                        start_byte=e.start_byte,
                        old_end_byte=e.old_end_byte,
                        new_end_byte=e.new_end_byte,
                        start_point=e.start_point,
                        old_end_point=e.old_end_point,
                        new_end_point=e.new_end_point,
                    )
                rows = e.new_end_point[0] - e.old_end_point[0]
                pos = shift(pos, e.start_byte, e.old_end_byte, e.new_end_byte, rows)
                delta = e.new_end_byte - e.old_end_byte
                ranges = [(a + delta if a >= e.old_end_byte else min(a, e.start_byte),
                           b + delta if b >= e.old_end_byte else max(min(b, e.start_byte), e.new_end_byte))
                          for a, b in ranges]
                ranges.append((e.start_byte, e.new_end_byte))
            new_tree = parse_within(parser, data, tree, KEYSTROKE_PARSE_SECONDS)
            if new_tree is None:
                # Out of time: error recovery is re-parsing much of the file. Keep the
                # edited tree (and the good one, if that is another) to parse from later.
                stale = True
            else:
                base = base if base is not None else tree
                positioned, macros = _spliced(spec, pos, base, new_tree, data, ranges, old.macros)
                tree = new_tree
            if positioned is None:
                # An unclosed bracket makes error recovery re-nest the code after it, and
                # re-parsing and re-extracting all of that on each keystroke costs tens of
                # milliseconds for symbols of half-typed code: keep the last good ones,
                # shifted, until the parse heals or something reads this file (:meth:`settle`).
                positioned, pending, good, macros = pos, ranges, base, old.macros
        else:
            tree = parser.parse(data)
        if positioned is None:
            macros = {}
            positioned = extract_positioned(spec, tree, data, None, old.macros if old else None, macros)
        self._live[rel] = Buffer(tree, data, positioned, change.version, macros, pending, good, stale)
        if pending is None:
            self._unsettled.discard(rel)
        else:
            self._unsettled.add(rel)
        if old is not None and positioned.replaced is not None:
            removed, added = positioned.replaced
            same = sorted(removed) == sorted(added)
            return SymbolChange(rel, None if same else old.positioned.definitions, old.positioned.imports,
                                None if same else positioned.definitions, positioned.imports)
        if old is not None:
            return SymbolChange(rel, old.positioned.definitions, old.positioned.imports,
                                positioned.definitions, positioned.imports)
        disk = on_disk(rel)
        return SymbolChange(rel, disk.definitions if disk else None,
                            [(0, i) for i in disk.imports] if disk else None,
                            positioned.definitions, positioned.imports)

    def settle(self) -> Iterator[SymbolChange]:
        """Re-extract the buffers whose symbols were kept shifted; one change per buffer.

        Run before anything reads (the index does, under its lock, at the start of every
        query): the derived tables then see exactly what a full extraction of each buffer's
        current tree gives.
        """
        while self._unsettled:
            rel = self._unsettled.pop()
            live = self._live.get(rel)
            spec = language_for(rel)
            if live is None or live.pending is None or spec is None:
                continue
            before = live.positioned
            got: Positioned | None = None
            macros: MacroTrees = {}
            if live.stale:  # a keystroke's parse ran out of time: finish it, then splice if it can
                new_tree = parser_for(spec).parse(live.source, live.tree)
                base = live.good if live.good is not None else live.tree
                got, macros = _spliced(spec, before, base, new_tree, live.source, live.pending, live.macros)
                live.tree, live.stale = new_tree, False
            if got is None:
                macros = {}
                got = extract_positioned(spec, live.tree, live.source, None, live.macros, macros)
            live.settled(got, macros)
            yield SymbolChange(rel, before.definitions, before.imports, got.definitions, got.imports)
