"""Hover content: what the index knows about a symbol, as Markdown, and a small cache of model
explanations keyed by the symbol's content (so the second hover is free and instant)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from lsp_server.routing.symbols import SymbolInfo


def symbol_markdown(info: SymbolInfo) -> str:
    """Markdown for a symbol: kind and name, signature, where defined, how many references."""
    parts = [f"**{info.kind or 'symbol'}** `{info.qualname or info.name}`"]
    if info.signature:
        parts.append(f"```{info.language}\n{info.signature.strip()}\n```")
    refs = f"{info.references} reference{'s' if info.references != 1 else ''}"
    parts.append(f"defined in `{info.path}` line {info.line} · {refs}")
    return "\n\n".join(parts)


def content_key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class ExplanationCache:
    """Least-recently-used explanations, keyed by symbol content."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: str) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
