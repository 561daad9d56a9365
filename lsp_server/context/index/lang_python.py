"""Python specifics the engine reaches through :class:`~lsp_server.context.index.languages.LanguageSpec`:
``import`` and ``from ... import`` statements read as raw imports, and the name an assignment
binds.
"""

from __future__ import annotations

from tree_sitter import Node

from lsp_server.context.index.syntax import RawImport
from lsp_server.context.index.syntax import node_text as _text


def assignment_name(node: Node) -> str | None:
    """``X = ...`` at module or class level (an ``expression_statement``) defines ``X``."""
    assign = node.named_children[0] if node.named_child_count else None
    left = assign.child_by_field_name("left") if assign is not None else None
    return _text(left) if left is not None else None


def read_import(node: Node, roff: int = 0, scope: str = "") -> list[RawImport]:
    """One raw import per imported module (``from`` imports keep their names together).

    ``roff`` and ``scope`` are for languages whose bodies are re-parsed apart (Rust macros):
    Python never is, so both are always zero and empty here.
    """
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
