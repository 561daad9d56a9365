"""What extraction yields per file, as plain tuples, and the one node helper every language uses.

Shared by the engine (:mod:`extract`), the per-language readers (:mod:`lang_rust`,
:mod:`lang_python`) and the import resolvers, which must not import the engine.
"""

from __future__ import annotations

from tree_sitter import Node

# name, kind, local qualname, signature, start line, end line, start byte, end byte, local parent
RawDef = tuple[str, str, str, str, int, int, int, int, str | None]
# name, kind, line, local qualname of the enclosing definition
RawRef = tuple[str, str, int, str | None]
# kind, text, line, names, scope (inline module chain), attribute (Rust #[path])
RawImport = tuple[str, str, int, tuple[str, ...], str, str]


def node_text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""
