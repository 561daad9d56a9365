"""Incremental re-extraction of an edited buffer: which region to re-read, and how to merge.

After an edit, the symbols of an open buffer are :func:`shift`-ed past it, the items around the
changed ranges (:func:`edited_region`) are extracted again from the new tree, and
:func:`splice` replaces what lay in that region, so a keystroke costs the items it touched
rather than the whole file.
"""

from __future__ import annotations

import bisect

from tree_sitter import Tree

from lsp_server.context.index.extract import Positioned
from lsp_server.context.index.languages import LanguageSpec
from lsp_server.context.index.syntax import RawDef, RawImport


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
