"""Tree-sitter extraction: definitions, references and imports of one file, as compact tuples.

Runs in worker processes during a cold index, so its output is plain tuples (cheap to pickle
and to ``marshal`` into SQLite, see :mod:`codec`) rather than model objects. Qualified names
here are local to the file (``Circle::area``, ``Stock.add``); the index prefixes the file's
module path (``crate::shapes::circle``, ``inventory.models``) when it materializes
:class:`~lsp_server.context.index.model.FileSymbols`, because that prefix depends on other
files. :func:`extract_positioned` keeps byte positions, so that an open buffer's extraction can
be shifted and spliced after an edit (:mod:`splice`).
"""

from __future__ import annotations

import functools
import operator
import sys
from dataclasses import dataclass
from typing import Any

from tree_sitter import Node, QueryCursor, Tree

from lsp_server.context.index.languages import LanguageSpec
from lsp_server.context.index.parsers import parser_for
from lsp_server.context.index.syntax import RawDef, RawImport, RawRef

SIGNATURE_MAX = 240


@dataclass(slots=True)
class Extracted:
    """What one parse of one file yields."""

    definitions: list[RawDef]
    references: list[RawRef]
    imports: list[RawImport]
    error_nodes: int


def _signature(node: Node, source: bytes, start: int) -> str:
    body = node.child_by_field_name("body")
    end = body.start_byte if body is not None else node.end_byte
    raw = source[start : min(end, start + SIGNATURE_MAX * 2)]
    if body is None:
        nl = raw.find(b"\n")
        if nl > 0:
            raw = raw[:nl]
    sig = " ".join(raw.decode("utf-8", "replace").split())
    if len(sig) > SIGNATURE_MAX:
        sig = sig[:SIGNATURE_MAX] + "…"
    return sig


_CONTAINERS = {"impl", "trait", "class"}
MACRO_DEPTH = 3  # item-position macro bodies (cfg_rt! { ... }) re-parsed as items, this deep

# A reference with its byte offset, kept for open buffers so an edit can splice by position.
PosRef = tuple[int, str, str, int, str | None]  # byte, name, kind, line, enclosing


@dataclass(slots=True)
class Positioned:
    """An extraction that keeps byte positions (definitions carry theirs already)."""

    definitions: list[RawDef]
    refs: list[PosRef]
    imports: list[tuple[int, RawImport]]  # (byte, import)
    errors: list[int]  # byte offsets of ERROR nodes
    # after a splice: (name, qualname) of the definitions removed from and added to the region
    replaced: tuple[list[tuple[str, str]], list[tuple[str, str]]] | None = None

    def to_extracted(self) -> Extracted:
        return Extracted(
            self.definitions,
            [(name, kind, line, enc) for _b, name, kind, line, enc in self.refs],
            [imp for _b, imp in self.imports],
            len(self.errors),
        )


# Macro bodies re-parsed as items, by their exact bytes: an open buffer keeps the last pass's, so
# a keystroke outside a body does not parse it again (same bytes, same deterministic parse).
MacroTrees = dict[bytes, Tree]


@dataclass(slots=True)
class _Acc:
    """Captures gathered from a tree and from the macro bodies re-parsed inside it."""

    items: list[tuple[int, int, str, Node, bytes, int, int]]  # start, -end, kind, node, src, byte/row offsets
    refs: list[tuple[int, str, str, int]]  # byte, name, kind, line
    imports: list[tuple[int, RawImport]]
    errors: list[int]
    names: dict[bytes | None, str]  # identifier bytes → interned name, shared by the file's trees
    macro_trees: MacroTrees | None = None  # bodies parsed before (an open buffer's last pass)
    parsed_macros: MacroTrees | None = None  # bodies parsed in this pass, to reuse next time


_DEF, _REF, _IMPORT, _ERROR, _MACRO, _OTHER = range(6)


@functools.cache
def _capture_kinds(capture: str) -> tuple[int, str]:
    """What a capture name means: its group and, for symbols, its interned kind."""
    if capture.startswith("definition."):
        return _DEF, sys.intern(capture[11:])
    if capture.startswith("reference."):
        return _REF, sys.intern(capture[10:])
    group = {"import": _IMPORT, "error": _ERROR, "macro": _MACRO}.get(capture, _OTHER)
    return group, ""


def _collect(
    spec: LanguageSpec,
    root: Node,
    source: bytes,
    boff: int,
    roff: int,
    scope: str,
    depth: int,
    acc: _Acc,
    region: tuple[int, int] | None = None,
) -> None:
    cursor = QueryCursor(spec.tags_query)
    if region is not None:
        cursor.set_byte_range(max(0, region[0] - boff), max(0, region[1] - boff))
    captures = cursor.captures(root)
    read_import = spec.read_import
    read_modules = spec.read_modules
    mods: list[Node] = []
    for cap, nodes in captures.items():
        group, kind = _capture_kinds(cap)
        if group == _REF:
            names = acc.names
            get = names.get
            append = acc.refs.append
            for n in nodes:
                start, end = n.byte_range  # one call; ``n.text`` costs twice as much
                raw = source[start:end]
                name = get(raw)
                if name is None:
                    name = names[raw] = sys.intern(raw.decode("utf-8", "replace"))
                append((start + boff, name, kind, n.start_point[0] + 1 + roff))
        elif group == _DEF:
            acc.items.extend([(n.start_byte + boff, -(n.end_byte + boff), kind, n, source, boff, roff)
                              for n in nodes])
            if read_modules is not None and kind == "module":
                mods = nodes
        elif group == _IMPORT:
            for n in nodes:
                acc.imports.extend((n.start_byte + boff, imp) for imp in read_import(n, roff, scope))
        elif group == _ERROR:
            acc.errors.extend(n.start_byte + boff for n in nodes)
        elif group == _MACRO and depth < MACRO_DEPTH:
            for n in nodes:
                _collect_macro(spec, n, source, boff, roff, scope, depth, acc)
    if mods and read_modules is not None:
        acc.imports.extend(read_modules(mods, root, scope, roff, boff))


def _collect_macro(
    spec: LanguageSpec, body: Node, source: bytes, boff: int, roff: int, scope: str, depth: int, acc: _Acc
) -> None:
    """Parse a ``{ ... }`` macro body in item position as items (``cfg_rt! { pub mod rt; }``)."""
    first = source[body.start_byte : body.start_byte + 1]
    if first != b"{" or body.end_byte - body.start_byte < 8:
        return
    inner = source[body.start_byte + 1 : body.end_byte - 1]
    known = acc.macro_trees.get(inner) if acc.macro_trees is not None else None
    tree = known if known is not None else parser_for(spec).parse(inner)
    if acc.parsed_macros is not None:
        acc.parsed_macros[inner] = tree
    inner_scope = spec.scope_of(body)
    full_scope = spec.separator.join(p for p in (scope, inner_scope) if p)
    _collect(spec, tree.root_node, inner, boff + body.start_byte + 1, roff + body.start_point[0],
             full_scope, depth + 1, acc)


def _definitions(
    items: list[tuple[int, int, str, Node, bytes, int, int]], spec: LanguageSpec
) -> tuple[list[RawDef], list[tuple[int, int, str]], set[int]]:
    """Definitions in source order with local qualnames, their spans, and where their names start."""
    intern = sys.intern
    sep = spec.separator
    name_rules = spec.name_rules
    wrappers = spec.wrappers
    items.sort(key=_span_key)
    defs: list[RawDef] = []
    spans: list[tuple[int, int, str]] = []  # start byte, end byte, local qualname
    name_starts: set[int] = set()
    stack: list[tuple[int, str, str]] = []  # end byte, qualname, kind
    for start, neg_end, kind, node, src, boff, roff in items:
        ntype = node.type
        name_node: Node | None = None
        rule = name_rules.get(ntype)
        if rule is not None:
            name = rule(node)
        else:
            name_node = node.child_by_field_name("name")
            if name_node is not None:
                name_start, name_end = name_node.byte_range
                name = src[name_start:name_end].decode("utf-8", "replace")
            else:
                name = None
        if not name:
            continue
        end = -neg_end
        while stack and stack[-1][0] <= start:
            stack.pop()
        parent = stack[-1] if stack else None
        if kind == "function" and parent is not None and parent[2] in _CONTAINERS:
            kind = "method"
        qual = intern(f"{parent[1]}{sep}{name}" if parent else name)
        first = start - boff
        first_row = node.start_point[0]
        wrapper = wrappers.get(ntype)
        if wrapper is not None:
            outer = node.parent
            if outer is not None and outer.type == wrapper:
                first = outer.start_byte
                first_row = outer.start_point[0]
        if name_node is not None:
            name_starts.add(name_start + boff)
        defs.append(
            (
                intern(name),
                kind,
                qual,
                _signature(node, src, first),
                first_row + 1 + roff,
                node.end_point[0] + 1 + roff,
                first + boff,
                end,
                parent[1] if parent else None,
            )
        )
        spans.append((start, end, qual))
        stack.append((end, qual, kind))
    return defs, spans, name_starts


_span_key = operator.itemgetter(0, 1)
_ref_byte = operator.itemgetter(0)


def _enclosed(
    refs: list[tuple[int, str, str, int]], spans: list[tuple[int, int, str]], name_starts: set[int]
) -> list[tuple[int, str, str, int, str | None]]:
    """Each reference (by byte) with the innermost definition around it; definition names dropped."""
    return _enclose(refs, spans, name_starts, True)  # type: ignore[return-value]


def _enclose(
    refs: list[tuple[int, str, str, int]], spans: list[tuple[int, int, str]], name_starts: set[int],
    positions: bool,
) -> list[tuple[int, str, str, int, str | None]] | list[RawRef]:
    """:func:`_enclosed`, as ``PosRef`` when ``positions`` else as ``RawRef`` (no byte)."""
    refs.sort(key=_ref_byte)
    out: list[Any] = []
    append = out.append
    i = 0
    n_spans = len(spans)
    never = sys.maxsize
    next_start = spans[0][0] if spans else never  # where the next definition starts
    open_spans: list[tuple[int, int, str]] = []
    top_end = never  # where the innermost open definition ends (none open: never)
    enclosing: str | None = None
    for byte, name, kind, line in refs:
        if byte in name_starts:
            continue
        if byte >= next_start or byte >= top_end:  # a definition opens or closes before it
            while i < n_spans and spans[i][0] <= byte:
                span = spans[i]
                while open_spans and open_spans[-1][1] <= span[0]:
                    open_spans.pop()
                open_spans.append(span)
                i += 1
            next_start = spans[i][0] if i < n_spans else never
            while open_spans and open_spans[-1][1] <= byte:
                open_spans.pop()
            if open_spans:
                top_end, enclosing = open_spans[-1][1], open_spans[-1][2]
            else:
                top_end, enclosing = never, None
        append((byte, name, kind, line, enclosing) if positions else (name, kind, line, enclosing))
    return out


def _gather(
    spec: LanguageSpec,
    tree: Tree,
    source: bytes,
    region: tuple[int, int] | None,
    macro_trees: MacroTrees | None = None,
    parsed_macros: MacroTrees | None = None,
) -> _Acc:
    acc = _Acc([], [], [], [], {}, macro_trees, parsed_macros)
    _collect(spec, tree.root_node, source, 0, 0, "", 0, acc, region)
    acc.imports.sort(key=_first_of_pair)
    acc.errors.sort()
    return acc


def _first_of_pair(item: tuple[int, RawImport]) -> int:
    return item[0]


def extract_positioned(
    spec: LanguageSpec,
    tree: Tree,
    source: bytes,
    region: tuple[int, int] | None = None,
    macro_trees: MacroTrees | None = None,
    parsed_macros: MacroTrees | None = None,
) -> Positioned:
    """Run the tags query over ``tree`` (or the part intersecting ``region``) into tuples.

    Macro bodies found in ``macro_trees`` are not parsed again; every body this pass reads
    is added to ``parsed_macros``.
    """
    acc = _gather(spec, tree, source, region, macro_trees, parsed_macros)
    defs, spans, name_starts = _definitions(acc.items, spec)
    return Positioned(defs, _enclosed(acc.refs, spans, name_starts), acc.imports, acc.errors)


def extract(spec: LanguageSpec, tree: Tree, source: bytes) -> Extracted:
    """Run the tags query over ``tree`` and turn the captures into raw tuples."""
    acc = _gather(spec, tree, source, None)
    defs, spans, name_starts = _definitions(acc.items, spec)
    refs: list[RawRef] = _enclose(acc.refs, spans, name_starts, False)  # type: ignore[assignment]
    return Extracted(defs, refs, [imp for _b, imp in acc.imports], len(acc.errors))
