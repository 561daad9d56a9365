"""Find a definition by name in a file's text with tree-sitter, without the project index.

The whole-definition format addresses a function, method, class, struct, enum, trait, impl or
module by name (``area``, ``Circle::area``, ``Stock.add``). This module parses the text itself,
so the edits engine works on an unsaved buffer and before any index exists. Each definition
carries its *lead*: the doc comments, comments, attributes and decorators directly above it,
which belong to it (a replacement may rewrite them, and a change there counts as inside it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from lsp_server.context.index.languages import LanguageSpec, language_for
from lsp_server.errors import EditApplyError

_DEF_KINDS: dict[str, str] = {
    # rust
    "function_item": "function",
    "function_signature_item": "function",
    "struct_item": "struct",
    "enum_item": "enum",
    "union_item": "union",
    "trait_item": "trait",
    "impl_item": "impl",
    "mod_item": "module",
    "type_item": "type",
    "const_item": "const",
    "static_item": "static",
    "macro_definition": "macro",
    # python
    "function_definition": "function",
    "class_definition": "class",
}
_LEAD_TYPES = frozenset({"line_comment", "block_comment", "attribute_item", "comment", "decorator"})
_GENERICS = re.compile(r"<.*>", re.DOTALL)
_SYMBOL_SPLIT = re.compile(r"::|\.")


class ByteMap:
    """UTF-8 byte offsets (tree-sitter) to string offsets, for one text."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8", "surrogatepass")
        self._ascii = len(self.data) == len(text)
        self._chars: list[int] = []
        if not self._ascii:
            chars = [0] * (len(self.data) + 1)
            pos = 0
            for index, ch in enumerate(text):
                width = len(ch.encode("utf-8", "surrogatepass"))
                for k in range(width):
                    chars[pos + k] = index
                pos += width
            chars[pos] = len(text)
            self._chars = chars

    def char(self, byte: int) -> int:
        return byte if self._ascii else self._chars[byte]


@dataclass(frozen=True)
class DefinitionSpan:
    """One definition: name, parents, and string offsets of its lead, its node and its end."""

    name: str
    kind: str
    parents: tuple[str, ...]
    lead: tuple[tuple[str, int], ...]  # (kind: comment|attribute, offset) directly above, in order
    start: int  # start of the definition node (decorators included for Python)
    body_start: int  # start of the ``def``/``class``/``fn`` line itself
    end: int

    @property
    def qualname(self) -> str:
        return "::".join((*self.parents, self.name))

    @property
    def lead_start(self) -> int:
        return self.lead[0][1] if self.lead else self.start


def _name_of(node: Node) -> str | None:
    if node.type == "impl_item":
        target = node.child_by_field_name("type")
        if target is None or target.text is None:
            return None
        text = _GENERICS.sub("", target.text.decode("utf-8", "replace"))
        return text.split("::")[-1].strip() or None
    name = node.child_by_field_name("name")
    if name is None or name.text is None:
        return None
    return name.text.decode("utf-8", "replace")


def _lead_of(node: Node, bmap: ByteMap) -> tuple[tuple[str, int], ...]:
    items: list[tuple[str, int]] = []
    row = node.start_point[0]
    sibling = node.prev_sibling
    while sibling is not None and sibling.type in _LEAD_TYPES and sibling.end_point[0] >= row - 1:
        kind = "attribute" if sibling.type in {"attribute_item", "decorator"} else "comment"
        items.append((kind, bmap.char(sibling.start_byte)))
        row = sibling.start_point[0]
        sibling = sibling.prev_sibling
    items.reverse()
    return tuple(items)


def definitions_in(text: str, spec: LanguageSpec) -> list[DefinitionSpan]:
    """Every definition in ``text``, outermost first, with string offsets."""
    bmap = ByteMap(text)
    tree = spec.parser().parse(bmap.data)
    found: list[DefinitionSpan] = []
    # Depth first in document order (a definition, then what it contains, then its next
    # sibling), with an explicit stack of child iterators: a deeply nested file must not
    # exhaust Python's recursion limit.
    stack: list[tuple[Iterator[Node], tuple[str, ...]]] = [(iter(tree.root_node.named_children), ())]
    while stack:
        children, parents = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        target = child
        if child.type == "decorated_definition":
            inner = child.child_by_field_name("definition")
            if inner is None:
                stack.append((iter(child.named_children), parents))
                continue
            target = inner
        kind = _DEF_KINDS.get(target.type)
        name = _name_of(target) if kind else None
        if not (kind and name):
            stack.append((iter(child.named_children), parents))
            continue
        found.append(
            DefinitionSpan(
                name=name,
                kind=kind,
                parents=parents,
                lead=_lead_of(child, bmap),
                start=bmap.char(child.start_byte),
                body_start=bmap.char(target.start_byte),
                end=bmap.char(child.end_byte),
            )
        )
        stack.append((iter(target.named_children), (*parents, name)))
    return found


def _symbol_parts(symbol: str) -> list[str]:
    symbol = _GENERICS.sub("", symbol.strip().strip("`"))
    for prefix in ("impl ", "fn ", "def ", "class ", "struct ", "enum ", "trait "):
        if symbol.startswith(prefix):
            symbol = symbol[len(prefix):]
    return [p for p in _SYMBOL_SPLIT.split(symbol.strip()) if p]


def find_definition(text: str, path: str, symbol: str) -> DefinitionSpan:
    """The one definition ``symbol`` names in ``text``; EditApplyError when none or several."""
    spec = language_for(path)
    if spec is None:
        raise EditApplyError(f"{path}: definitions can only be replaced in Rust or Python files")
    parts = _symbol_parts(symbol)
    if not parts:
        raise EditApplyError(f"{path}: {symbol!r} is not a definition name")
    named = [d for d in definitions_in(text, spec) if d.name == parts[-1]]
    if not named:
        raise EditApplyError(f"{path}: no definition named {parts[-1]!r}")
    chosen = named
    for k in range(len(parts), 0, -1):
        chosen = [d for d in named if [*d.parents, d.name][-k:] == parts[-k:]]
        if chosen:
            break
    if len(chosen) > 1:
        not_impl = [d for d in chosen if d.kind != "impl"]
        if len(not_impl) == 1:
            chosen = not_impl
    if len(chosen) != 1:
        names = ", ".join(sorted({d.qualname for d in chosen}))
        raise EditApplyError(f"{path}: {symbol!r} names {len(chosen)} definitions ({names}); qualify it")
    return chosen[0]


def enclosing_definition(text: str, path: str, start: int, end: int) -> DefinitionSpan | None:
    """The innermost definition whose lead-to-end span holds ``[start, end)``, if any."""
    spec = language_for(path)
    if spec is None:
        return None
    best: DefinitionSpan | None = None
    for d in definitions_in(text, spec):
        if d.lead_start <= start and end <= d.end and (best is None or d.end - d.lead_start < best.end - best.lead_start):
            best = d
    return best


def definitions_at(text: str, path: str, first: int, last: int) -> list[str]:
    """Names of the definitions that overlap 1-based lines ``first``..``last`` (innermost last)."""
    spec = language_for(path)
    if spec is None:
        return []
    names: list[str] = []
    for d in definitions_in(text, spec):
        start = text.count("\n", 0, d.body_start) + 1
        end = text.count("\n", 0, d.end) + 1
        if start <= last and first <= end and d.kind != "impl" and d.name not in names:
            names.append(d.name)
    return names
