"""Rust specifics the engine reaches through :class:`~lsp_server.context.index.languages.LanguageSpec`:
``use`` trees and ``mod`` items read as raw imports, the inline-module scope of a node, and the
name of an ``impl`` block (its type).
"""

from __future__ import annotations

from tree_sitter import Node

from lsp_server.context.index.syntax import RawImport
from lsp_server.context.index.syntax import node_text as _text


def type_name(node: Node) -> str:
    """``Foo<T>`` → ``Foo``, ``a::b::Foo`` → ``Foo``, ``&'a mut [T]`` → ``[T]``."""
    text = _text(node)
    cut = text.find("<")
    if cut > 0:
        text = text[:cut]
    text = text.rsplit("::", 1)[-1].strip()
    return text.lstrip("&").removeprefix("mut ").strip() or text


def impl_name(node: Node) -> str | None:
    """An ``impl`` block is named by its type: ``impl<T> Foo<T>`` → ``Foo``."""
    target = node.child_by_field_name("type")
    return type_name(target) if target is not None else None


def inline_scope(node: Node) -> str:
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


def read_use(node: Node, roff: int = 0, base_scope: str = "") -> list[RawImport]:
    arg = node.child_by_field_name("argument")
    if arg is None:
        return []
    public = any(c.type == "visibility_modifier" for c in node.children)
    pairs: list[tuple[str, str]] = []
    _use_paths(arg, "", pairs)
    line = node.start_point[0] + 1 + roff
    scope = "::".join(p for p in (base_scope, inline_scope(node)) if p)
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


def read_modules(mods: list[Node], root: Node, scope: str, roff: int = 0, boff: int = 0) -> list[tuple[int, RawImport]]:
    """``mod x;`` declarations (file modules) and inline ``mod a { ... }`` blocks among the
    captured ``mod_item`` nodes: those at the top of ``root`` or nested in inline modules only."""
    scopes: dict[int, str | None] = {}  # mod_item start byte → the scope its body opens, None if not one

    def opened(item: Node) -> str | None:
        """The scope an inline ``mod`` item's body opens, or None when it is not a module path."""
        key = item.start_byte
        if key in scopes:
            return scopes[key]
        outer = place(item)
        name_node = item.child_by_field_name("name")
        got = None
        if outer is not None and name_node is not None:
            name = _text(name_node)
            got = f"{outer}::{name}" if outer else name
        scopes[key] = got
        return got

    def place(item: Node) -> str | None:
        """The scope ``item`` sits in, when it sits at the top or directly in inline modules."""
        holder = item.parent
        if holder is None:
            return None
        if holder == root:
            return scope
        owner = holder.parent
        if holder.type != "declaration_list" or owner is None or owner.type != "mod_item":
            return None
        return opened(owner)

    out: list[tuple[int, RawImport]] = []
    for child in mods:
        where = place(child)
        if where is None:
            continue
        name_node = child.child_by_field_name("name")
        if name_node is None:
            continue
        name = _text(name_node)
        line = child.start_point[0] + 1 + roff
        if child.child_by_field_name("body") is None:
            out.append((child.start_byte + boff, ("mod", name, line, (name,), where, _path_attribute(child))))
        else:
            out.append((child.start_byte + boff, ("inline-mod", name, line, (name,), where, "")))
    return out
