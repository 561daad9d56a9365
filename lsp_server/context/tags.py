"""Tree-sitter extraction: definitions, references and imports of one file, as compact tuples.

Runs in worker processes during a cold index, so its output is plain tuples (cheap to pickle
and to ``marshal`` into SQLite) rather than model objects. Qualified names here are local to
the file (``Circle::area``, ``Stock.add``); the index prefixes the file's module path
(``crate::shapes::circle``, ``inventory.models``) when it materializes
:class:`~lsp_server.context.model.FileSymbols`, because that prefix depends on other files.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import marshal
import sys
from dataclasses import dataclass
from typing import Any

from tree_sitter import Node, QueryCursor, Tree

from lsp_server.context.languages import LANGUAGES, LanguageSpec

log = logging.getLogger(__name__)

# name, kind, local qualname, signature, start line, end line, start byte, end byte, local parent
RawDef = tuple[str, str, str, str, int, int, int, int, str | None]
# name, kind, line, local qualname of the enclosing definition
RawRef = tuple[str, str, int, str | None]
# kind, text, line, names, scope (inline module chain), attribute (Rust #[path])
RawImport = tuple[str, str, int, tuple[str, ...], str, str]

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


def _text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def _type_name(node: Node) -> str:
    """``Foo<T>`` → ``Foo``, ``a::b::Foo`` → ``Foo``, ``&'a mut [T]`` → ``[T]``."""
    text = _text(node)
    cut = text.find("<")
    if cut > 0:
        text = text[:cut]
    text = text.rsplit("::", 1)[-1].strip()
    return text.lstrip("&").removeprefix("mut ").strip() or text


def _def_name(node: Node) -> str | None:
    kind = node.type
    if kind == "impl_item":
        target = node.child_by_field_name("type")
        return _type_name(target) if target is not None else None
    if kind == "expression_statement":  # Python assignment
        assign = node.named_children[0] if node.named_child_count else None
        left = assign.child_by_field_name("left") if assign is not None else None
        return _text(left) if left is not None else None
    name = node.child_by_field_name("name")
    return _text(name) if name is not None else None


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


@dataclass(slots=True)
class _Acc:
    """Captures gathered from a tree and from the macro bodies re-parsed inside it."""

    items: list[tuple[int, int, str, Node, bytes, int, int]]  # start, -end, kind, node, src, byte/row offsets
    refs: list[tuple[int, str, str, int]]  # byte, name, kind, line
    imports: list[tuple[int, RawImport]]
    errors: list[int]


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
    intern = sys.intern
    items = acc.items
    refs = acc.refs
    names: dict[bytes, str] = {}
    for cap, nodes in captures.items():
        if cap.startswith("definition."):
            kind = intern(cap[11:])
            for n in nodes:
                items.append((n.start_byte + boff, -(n.end_byte + boff), kind, n, source, boff, roff))
        elif cap.startswith("reference."):
            kind = intern(cap[10:])
            for n in nodes:
                raw = n.text
                if raw is None:
                    continue
                name = names.get(raw)
                if name is None:
                    name = names[raw] = intern(raw.decode("utf-8", "replace"))
                refs.append((n.start_byte + boff, name, kind, n.start_point[0] + 1 + roff))
        elif cap == "import":
            for n in nodes:
                found = _rust_use(n, roff, scope) if spec.name == "rust" else _python_import(n)
                acc.imports.extend((n.start_byte + boff, imp) for imp in found)
        elif cap == "error":
            acc.errors.extend(n.start_byte + boff for n in nodes)
        elif cap == "macro" and depth < MACRO_DEPTH:
            for n in nodes:
                _collect_macro(spec, n, source, boff, roff, scope, depth, acc)
    if spec.name == "rust" and (region is None or b"mod" in source[region[0] - boff : region[1] - boff]):
        acc.imports.extend(_rust_mods(root, scope, roff, boff))


def _collect_macro(
    spec: LanguageSpec, body: Node, source: bytes, boff: int, roff: int, scope: str, depth: int, acc: _Acc
) -> None:
    """Parse a ``{ ... }`` macro body in item position as items (``cfg_rt! { pub mod rt; }``)."""
    first = source[body.start_byte : body.start_byte + 1]
    if first != b"{" or body.end_byte - body.start_byte < 8:
        return
    inner = source[body.start_byte + 1 : body.end_byte - 1]
    tree = parser_for(spec).parse(inner)
    inner_scope = _inline_scope(body)
    full_scope = "::".join(p for p in (scope, inner_scope) if p)
    _collect(spec, tree.root_node, inner, boff + body.start_byte + 1, roff + body.start_point[0],
             full_scope, depth + 1, acc)


def extract_positioned(
    spec: LanguageSpec, tree: Tree, source: bytes, region: tuple[int, int] | None = None
) -> Positioned:
    """Run the tags query over ``tree`` (or the part intersecting ``region``) into tuples."""
    acc = _Acc([], [], [], [])
    _collect(spec, tree.root_node, source, 0, 0, "", 0, acc, region)
    intern = sys.intern
    sep = spec.separator
    items = acc.items
    items.sort(key=lambda t: (t[0], t[1]))
    defs: list[RawDef] = []
    spans: list[tuple[int, int, str]] = []  # start byte, end byte, local qualname
    name_starts: set[int] = set()
    stack: list[tuple[int, str, str]] = []  # end byte, qualname, kind
    for start, neg_end, kind, node, src, boff, roff in items:
        end = -neg_end
        name = _def_name(node)
        if not name:
            continue
        while stack and stack[-1][0] <= start:
            stack.pop()
        parent = stack[-1] if stack else None
        if kind == "function" and parent is not None and parent[2] in _CONTAINERS:
            kind = "method"
        qual = intern(f"{parent[1]}{sep}{name}" if parent else name)
        first = node.start_byte
        first_row = node.start_point[0]
        outer = node.parent
        if outer is not None and outer.type == "decorated_definition":
            first = outer.start_byte
            first_row = outer.start_point[0]
        if node.type != "impl_item":
            name_node = node.child_by_field_name("name")
            if name_node is not None:
                name_starts.add(name_node.start_byte + boff)
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

    refs = acc.refs
    refs.sort(key=lambda t: t[0])
    out_refs: list[PosRef] = []
    i = 0
    open_spans: list[tuple[int, int, str]] = []
    for byte, name, kind, line in refs:
        if byte in name_starts:
            continue
        while i < len(spans) and spans[i][0] <= byte:
            while open_spans and open_spans[-1][1] <= spans[i][0]:
                open_spans.pop()
            open_spans.append(spans[i])
            i += 1
        while open_spans and open_spans[-1][1] <= byte:
            open_spans.pop()
        out_refs.append((byte, name, kind, line, open_spans[-1][2] if open_spans else None))
    acc.imports.sort(key=lambda imp: imp[0])
    return Positioned(defs, out_refs, acc.imports, sorted(acc.errors))


def extract(spec: LanguageSpec, tree: Tree, source: bytes) -> Extracted:
    """Run the tags query over ``tree`` and turn the captures into raw tuples."""
    return extract_positioned(spec, tree, source).to_extracted()


# --- incremental re-extraction -----------------------------------------------------------------

BODY_TYPES = frozenset({"source_file", "module", "declaration_list", "block"})


def edited_region(tree: Tree, ranges: list[tuple[int, int]]) -> tuple[int, int]:
    """The byte span to re-extract: whole items (children of a file, impl, class or block body)
    covering every changed range, so that definitions are either inside it or enclose it."""
    a = min(r[0] for r in ranges)
    b = max(max(r[1] for r in ranges), a + 1)
    root = tree.root_node
    node = root.named_descendant_for_byte_range(a, b) or root
    # climb to a body that holds the change strictly inside (not touching its own delimiters)
    while node.parent is not None and (
        node.type not in BODY_TYPES or not (node.start_byte < a and b < node.end_byte)
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


# --- Rust imports ------------------------------------------------------------------------------


def _inline_scope(node: Node) -> str:
    """The chain of inline modules (``a::b``) that contains ``node`` within its file."""
    names: list[str] = []
    cur = node.parent
    while cur is not None:
        if cur.type == "mod_item":
            name = cur.child_by_field_name("name")
            if name is not None:
                names.append(_text(name))
        cur = cur.parent
    return "::".join(reversed(names))


def _use_paths(node: Node, prefix: str, out: list[tuple[str, str]]) -> None:
    """Expand a use tree into (path, local name) pairs; the name is ``*`` for globs."""
    kind = node.type
    if kind in ("identifier", "crate", "super", "self", "metavariable"):
        text = _text(node)
        path = f"{prefix}::{text}" if prefix else text
        if kind == "self" and prefix:
            path = prefix
            text = prefix.rsplit("::", 1)[-1]
        out.append((path, text))
    elif kind == "scoped_identifier":
        path = _text(node).replace(" ", "")
        out.append((f"{prefix}::{path}" if prefix else path, path.rsplit("::", 1)[-1]))
    elif kind == "use_as_clause":
        target = node.child_by_field_name("path")
        alias = node.child_by_field_name("alias")
        if target is not None:
            path = _text(target).replace(" ", "")
            out.append((f"{prefix}::{path}" if prefix else path, _text(alias) if alias else path))
    elif kind == "use_wildcard":
        inner = node.named_children[0] if node.named_child_count else None
        path = _text(inner).replace(" ", "") if inner is not None else ""
        full = f"{prefix}::{path}" if prefix and path else (path or prefix)
        out.append((f"{full}::*" if full else "*", "*"))
    elif kind == "scoped_use_list":
        path_node = node.child_by_field_name("path")
        path = _text(path_node).replace(" ", "") if path_node is not None else ""
        full = f"{prefix}::{path}" if prefix and path else (path or prefix)
        lst = node.child_by_field_name("list")
        if lst is not None:
            for child in lst.named_children:
                _use_paths(child, full, out)
    elif kind == "use_list":
        for child in node.named_children:
            _use_paths(child, prefix, out)


def _rust_use(node: Node, roff: int = 0, base_scope: str = "") -> list[RawImport]:
    arg = node.child_by_field_name("argument")
    if arg is None:
        return []
    public = any(c.type == "visibility_modifier" for c in node.children)
    pairs: list[tuple[str, str]] = []
    _use_paths(arg, "", pairs)
    line = node.start_point[0] + 1 + roff
    scope = "::".join(p for p in (base_scope, _inline_scope(node)) if p)
    kind = "pub-use" if public else "use"
    return [(kind, path, line, (name,), scope, "") for path, name in pairs]


def _path_attribute(node: Node) -> str:
    """The ``#[path = "..."]`` attribute placed before a ``mod`` item, if any."""
    prev = node.prev_named_sibling
    while prev is not None and prev.type in ("attribute_item", "line_comment", "block_comment"):
        if prev.type == "attribute_item":
            text = _text(prev)
            inner = text[2:-1].strip() if text.startswith("#[") else ""
            if inner.startswith("path") and "=" in inner:
                value = inner.split("=", 1)[1].strip()
                if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
                    return value[1:-1]
        prev = prev.prev_named_sibling
    return ""


def _rust_mods(node: Node, scope: str, roff: int = 0, boff: int = 0) -> list[tuple[int, RawImport]]:
    """``mod x;`` declarations (file modules), walking into inline ``mod a { ... }`` blocks."""
    out: list[tuple[int, RawImport]] = []
    for child in node.named_children:
        if child.type != "mod_item":
            continue
        name_node = child.child_by_field_name("name")
        if name_node is None:
            continue
        name = _text(name_node)
        body = child.child_by_field_name("body")
        if body is None:
            out.append((child.start_byte + boff,
                        ("mod", name, child.start_point[0] + 1 + roff, (name,), scope, _path_attribute(child))))
        else:
            out.append((child.start_byte + boff,
                        ("inline-mod", name, child.start_point[0] + 1 + roff, (name,), scope, "")))
            out.extend(_rust_mods(body, f"{scope}::{name}" if scope else name, roff, boff))
    return out


# --- Python imports ----------------------------------------------------------------------------


def _python_import(node: Node) -> list[RawImport]:
    line = node.start_point[0] + 1
    out: list[RawImport] = []
    if node.type == "import_statement":
        for child in node.children_by_field_name("name"):
            if child.type == "aliased_import":
                target = child.child_by_field_name("name")
                alias = child.child_by_field_name("alias")
                module = _text(target) if target is not None else ""
                bound = _text(alias) if alias is not None else module.split(".", 1)[0]
            else:
                module = _text(child)
                bound = module.split(".", 1)[0]
            if module:
                out.append(("import", module, line, (bound,), "", ""))
        return out
    module_node = node.child_by_field_name("module_name")
    module = "".join(_text(module_node).split()) if module_node is not None else ""
    names: list[str] = []
    for child in node.children_by_field_name("name"):
        if child.type == "aliased_import":
            target = child.child_by_field_name("name")
            if target is not None:
                names.append(_text(target))
        else:
            names.append(_text(child))
    if any(c.type == "wildcard_import" for c in node.named_children):
        names.append("*")
    if module:
        out.append(("from", module, line, tuple(names), "", ""))
    return out


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


_PARSERS: dict[str, Any] = {}


def parser_for(spec: LanguageSpec) -> Any:
    """One parser per language per process (workers reuse theirs across files)."""
    parser = _PARSERS.get(spec.name)
    if parser is None:
        parser = _PARSERS[spec.name] = spec.parser()
    return parser


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


def parse_batch(batch: list[tuple[str, str, str, int, int, str]]) -> list[ParsedFile]:
    """Worker entry point: parse a batch of (path, abspath, language, size, mtime_ns, hash)."""
    return [parse_path(*item) for item in batch]
