"""Tree-sitter extraction: definitions, references and imports of one file, as compact tuples.

Runs in worker processes during a cold index, so its output is plain tuples (cheap to pickle
and to ``marshal`` into SQLite) rather than model objects. Qualified names here are local to
the file (``Circle::area``, ``Stock.add``); the index prefixes the file's module path
(``crate::shapes::circle``, ``inventory.models``) when it materializes
:class:`~lsp_server.context.index.model.FileSymbols`, because that prefix depends on other files.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import logging
import marshal
import mmap
import operator
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from tree_sitter import Node, QueryCursor, Tree

from lsp_server.context.index.languages import LANGUAGES, LanguageSpec
from lsp_server.context.index.syntax import RawDef, RawImport, RawRef

log = logging.getLogger(__name__)

SIGNATURE_MAX = 240
BINARY_SNIFF = 8192


@dataclass(slots=True)
class Extracted:
    """What one parse of one file yields."""

    definitions: list[RawDef]
    references: list[RawRef]
    imports: list[RawImport]
    error_nodes: int


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


# --- incremental re-extraction -----------------------------------------------------------------

def edited_region(spec: LanguageSpec, tree: Tree, ranges: list[tuple[int, int]]) -> tuple[int, int]:
    """The byte span to re-extract: whole items (children of a file, impl, class or block body:
    ``spec.body_types``) covering every changed range, so that definitions are either inside it
    or enclose it. A language with no body types re-extracts its whole file."""
    a = min(r[0] for r in ranges)
    b = max(max(r[1] for r in ranges), a + 1)
    root = tree.root_node
    node = root.named_descendant_for_byte_range(a, b) or root
    # climb to a body that holds the change strictly inside (not touching its own delimiters)
    while node.parent is not None and (
        node.type not in spec.body_types or not (node.start_byte < a and b < node.end_byte)
    ):
        node = node.parent
    # ``node`` is the body holding the change: take every item of it touching [a, b] (closed,
    # so an item that starts right where inserted text ends is re-read too).
    lo, hi = a, b
    for child in node.named_children:
        if child.end_byte < a:
            continue
        if child.start_byte > b:
            break
        lo = min(lo, child.start_byte)
        hi = max(hi, child.end_byte)
    return lo, hi + 1 if hi == b else hi


def shift(old: Positioned, start: int, old_end: int, new_end: int, rows: int) -> Positioned:
    """Move positions after an edit of [start, old_end) → [start, new_end) changing line counts
    by ``rows``. Positions inside the replaced text collapse onto ``start`` (the re-extracted
    region covers them). Lists stay sorted; what lies before the edit is shared, not copied."""
    delta = new_end - old_end

    def pos(byte: int) -> int:
        if byte >= old_end:
            return byte + delta
        return start if byte > start else byte

    defs: list[RawDef] = []
    for d in old.definitions:
        name, kind, qual, sig, sl, el, sb, eb, parent = d
        if eb <= start:
            defs.append(d)
            continue
        moved_start = sb >= old_end
        moved_end = eb > old_end
        defs.append((name, kind, qual, sig, sl + rows if moved_start else sl,
                     el + rows if moved_end else el, pos(sb), eb + delta if moved_end else pos(eb), parent))
    refs = old.refs
    i = bisect.bisect_right(refs, start, key=_first)
    j = bisect.bisect_left(refs, old_end, lo=i, key=_first)
    new_refs = refs[:i]
    new_refs.extend((start, r[1], r[2], r[3], r[4]) for r in refs[i:j])
    new_refs.extend((r[0] + delta, r[1], r[2], r[3] + rows, r[4]) for r in refs[j:])
    imports: list[tuple[int, RawImport]] = []
    for byte, imp in old.imports:
        if byte >= old_end:
            kind, text, line, names, scope, attr = imp
            imports.append((byte + delta, (kind, text, line + rows, names, scope, attr)))
        else:
            imports.append((pos(byte), imp))
    errors = [pos(e) for e in old.errors]
    return Positioned(defs, new_refs, imports, errors)


def _first(item: tuple[int, str, str, int, str | None]) -> int:
    return item[0]


def splice(old: Positioned, new: Positioned, region: tuple[int, int]) -> Positioned | None:
    """Replace what lies inside ``region`` in ``old`` by what ``new`` found there.

    Returns None when a new definition straddles the region's edge (the caller then
    re-extracts the whole file): by construction of :func:`edited_region` it should not happen.
    """
    a, b = region
    fresh: list[RawDef] = []
    enclosers: set[RawDef] = set()
    for d in new.definitions:
        if d[6] >= a and d[7] <= b:
            fresh.append(d)
        elif d[6] <= a and d[7] >= b:
            enclosers.add(d)
        elif d[6] < b and d[7] > a:
            return None
    # the definitions around the region must be exactly those kept from before; when error
    # recovery re-nested code beyond the reported changes, they are not: re-extract everything
    kept = {d for d in old.definitions if d[6] <= a and d[7] >= b and not (d[6] >= a and d[7] <= b)}
    if kept != enclosers:
        return None
    defs: list[RawDef] = []
    removed: list[tuple[str, str]] = []
    for d in old.definitions:
        if d[6] >= a and d[7] <= b:
            removed.append((d[0], d[2]))
        else:
            defs.append(d)
    if fresh:
        k = bisect.bisect_left(defs, a, key=_def_start)
        defs[k:k] = fresh
    refs = old.refs
    i = bisect.bisect_left(refs, a, key=_first)
    j = bisect.bisect_left(refs, b, lo=i, key=_first)
    merged = refs[:i]
    merged.extend(r for r in new.refs if a <= r[0] < b)
    merged.extend(refs[j:])
    imports = [x for x in old.imports if not a <= x[0] < b]
    imports.extend(x for x in new.imports if a <= x[0] < b)
    imports.sort(key=lambda x: x[0])
    errors = [e for e in old.errors if not a <= e < b]
    errors.extend(e for e in new.errors if a <= e < b)
    errors.sort()
    return Positioned(defs, merged, imports, errors, (removed, [(d[0], d[2]) for d in fresh]))


def _def_start(d: RawDef) -> int:
    return d[6]


# --- whole files -------------------------------------------------------------------------------


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


def parse_source(spec: LanguageSpec, data: bytes) -> tuple[Tree, Extracted]:
    tree = parser_for(spec).parse(data)
    return tree, extract(spec, tree, data)


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
        _, extracted = parse_source(spec, data)
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


# What a refresh asks to parse: (path, abspath, language, size, mtime_ns, known hash).
Task = tuple[str, str, str, int, int, str]
# A ParsedFile as a plain tuple (field order), which pickles far cheaper than the dataclass.
ParsedRow = tuple[str, str, str, int, int, int, int, int, int, bytes, bytes, str, bool]


def parse_batch(batch: list[Task]) -> list[ParsedFile]:
    """Parse a batch of tasks in this process."""
    return [parse_path(*item) for item in batch]


def as_row(r: ParsedFile) -> ParsedRow:
    return (r.path, r.language, r.content_hash, r.size, r.mtime_ns, r.lines, r.error_nodes,
            r.n_defs, r.n_refs, r.symbols, r.imports, r.note, r.unchanged)


def from_row(t: ParsedRow) -> ParsedFile:
    return ParsedFile(*t)


class Claims(Protocol):
    """A shared counter (``multiprocessing.Value``, :class:`ForkedCounter`): the next task index
    nobody has taken."""

    value: int

    def get_lock(self) -> AbstractContextManager[Any]: ...


class ForkedCounter:
    """:class:`Claims` for helpers made by ``fork``: 8 bytes of anonymous shared memory, which
    the children inherit, and a lock. ``multiprocessing.Value`` does the same through ctypes
    and a shared heap whose first use imports modules for about 7 ms of the refresh."""

    def __init__(self, lock: AbstractContextManager[Any]) -> None:
        self._memory = mmap.mmap(-1, 8)  # MAP_SHARED: the same page in every forked process
        self._lock = lock

    def get_lock(self) -> AbstractContextManager[Any]:
        return self._lock

    @property
    def value(self) -> int:
        return int.from_bytes(self._memory[:8], "little")

    @value.setter
    def value(self, value: int) -> None:
        self._memory[:8] = value.to_bytes(8, "little")


def claim(counter: Claims, total: int) -> int | None:
    """Take the next task index, or None when every task is taken."""
    with counter.get_lock():
        i = counter.value
        if i >= total:
            return None
        counter.value = i + 1
    return i


def parse_claimed(tasks: list[Task], counter: Claims) -> Iterator[tuple[int, ParsedFile]]:
    """Parse tasks one at a time as claimed off ``counter``, shared with the other processes.

    Claiming file by file (largest first) keeps every process busy to the end: whoever is
    free takes the next file, so the last ones to finish are the smallest.
    """
    while (i := claim(counter, len(tasks))) is not None:
        yield i, parse_path(*tasks[i])


def parse_worker(tasks: list[Task], counter: Claims, conn: Connection) -> None:
    """Worker process entry point: parse claimed tasks, send (index, row) pairs once done.

    One message at the end rather than one per file: the parent is parsing too and reads
    only when it has run out of tasks, so earlier messages would just block in the pipe.
    """
    out: list[tuple[int, ParsedRow]] = []
    try:
        for i, parsed in parse_claimed(tasks, counter):
            out.append((i, as_row(parsed)))
    finally:
        conn.send(out)
        conn.close()
