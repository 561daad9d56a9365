"""Lifecycle, settings and document synchronisation handlers.

Thin by design: each handler converts params and calls the core (the documents overlay and the
settings loader); it holds no logic of its own.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from lsp_server.config import CONFIG_FILENAME
from lsp_server.server import convert
from lsp_server.server.app import AgenticServer
from lsp_server.server.handlers import index_in_background

log = logging.getLogger(__name__)

SETTINGS_SECTION = "agenticOptimizer"


def _options(value: Any) -> dict[str, Any]:
    """Settings as editors send them: bare, or under an ``agenticOptimizer`` key. An empty
    section may arrive as a JSON array (an empty Lua table): it means no settings."""
    if not isinstance(value, dict):
        return {}
    if SETTINGS_SECTION in value:
        inner = value[SETTINGS_SECTION]
        return dict(inner) if isinstance(inner, dict) else {}
    return dict(value)


def _show_error(server: AgenticServer, message: str) -> None:
    server.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Error, message=message))


def register(server: AgenticServer) -> None:
    @server.feature(lsp.INITIALIZE)
    def initialize(ls: AgenticServer, params: lsp.InitializeParams) -> None:
        root_uri = params.root_uri
        if params.workspace_folders:
            root_uri = params.workspace_folders[0].uri
        if root_uri:
            ls.root = convert.uri_to_path(root_uri)
        elif params.root_path:
            ls.root = Path(params.root_path)
        ls.documents.encoding = convert.encoding_of(ls.workspace.position_encoding)
        ls.init_options = _options(params.initialization_options)
        ls.pending_message = ls.reload_settings()

    @server.feature(lsp.INITIALIZED)
    def initialized(ls: AgenticServer, params: lsp.InitializedParams) -> None:
        if ls.pending_message:
            _show_error(ls, ls.pending_message)
            ls.pending_message = None
        log.info("initialized: root=%s encoding=%s", ls.root, ls.documents.encoding)
        if ls.root is not None:
            task = asyncio.ensure_future(index_in_background(ls))
            ls.background.add(task)
            task.add_done_callback(ls.background.discard)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(
        ls: AgenticServer, params: lsp.DidChangeConfigurationParams
    ) -> None:
        if params.settings is None:  # a pull-model client: nothing to take
            return
        # Editors send their whole set each time: it replaces the startup options, so a
        # setting the user removed stops applying.
        ls.init_options = {}
        ls.client_options = _options(params.settings)
        message = ls.reload_settings()
        if message:
            _show_error(ls, message)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(
        ls: AgenticServer, params: lsp.DidChangeWorkspaceFoldersParams
    ) -> None:
        if ls.root is None and params.event.added:
            ls.root = convert.uri_to_path(params.event.added[0].uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AgenticServer, params: lsp.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        path = convert.uri_to_path(doc.uri)
        if path is not None:
            ls.documents.open(path, doc.text, doc.version, doc.language_id)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AgenticServer, params: lsp.DidChangeTextDocumentParams) -> None:
        path = convert.uri_to_path(params.text_document.uri)
        if path is not None:
            changes = [convert.text_change(c) for c in params.content_changes]
            ls.documents.change(path, changes, params.text_document.version)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: AgenticServer, params: lsp.DidCloseTextDocumentParams) -> None:
        path = convert.uri_to_path(params.text_document.uri)
        if path is not None:
            ls.documents.close(path)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE, lsp.SaveOptions(include_text=False))
    def did_save(ls: AgenticServer, params: lsp.DidSaveTextDocumentParams) -> None:
        path = convert.uri_to_path(params.text_document.uri)
        if path is not None and path.name == CONFIG_FILENAME:
            message = ls.reload_settings()
            if message:
                _show_error(ls, message)

    @server.feature(lsp.SHUTDOWN)
    async def shutdown(ls: AgenticServer, params: None) -> None:
        log.info("shutdown requested")
        for task in list(ls.background):
            task.cancel()
        for hover_task in list(ls.hover_tasks.values()):
            hover_task.cancel()
        if ls.assistant is not None:
            await ls.assistant.aclose()
