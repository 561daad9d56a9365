"""The LSP layer: the only package that imports pygls or lsprotocol."""

from __future__ import annotations

from lsp_server.server.app import AgenticServer, create_server

__all__ = ["AgenticServer", "create_server"]
