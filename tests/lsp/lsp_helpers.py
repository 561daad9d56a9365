"""Helpers for end-to-end LSP tests: start `agentic-optimizer serve` and initialize it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_server", "serve"])
# The OpenAI stand-in's key, set for every test here by conftest (no model discovery reads it).
OPENAI_KEY_VAR = "AGENTIC_TEST_OPENAI_KEY"
OPENAI_KEY = "sk-test-not-real"

# The example crate's Rectangle has an unused variable; FIX removes it (search/replace format).
RECT = "src/shapes/rectangle.rs"
FIX = f"""{RECT}
<<<<<<< SEARCH
        let unused = 0;
        self.width == self.height
=======
        self.width == self.height
>>>>>>> REPLACE
"""


async def initialize(
    client: LanguageClient,
    root: Path,
    *,
    options: dict[str, Any] | None = None,
    profile: str = "visual-studio-code",
    resolve_edits: bool = True,
) -> lsp.InitializeResult:
    caps = client_capabilities(profile)
    if not resolve_edits and caps.text_document and caps.text_document.code_action:
        caps.text_document.code_action.resolve_support = None  # e.g. Neovim before 0.10
    params = lsp.InitializeParams(
        capabilities=caps,
        root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=options,
    )
    return await client.initialize_session(params)


def open_doc(client: LanguageClient, path: Path, language: str, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(
                uri=uri, language_id=language, version=version, text=path.read_text()
            )
        )
    )
    return uri


async def code_actions(client: LanguageClient, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    """Code actions read from the wire as CodeActions.

    The client's own parsing takes a CodeAction that carries a ``command`` for a Command (the
    result is typed ``Command | CodeAction``), so the raw JSON is read and structured here.
    """
    proto = client.protocol
    original = proto.get_result_type
    proto.get_result_type = lambda method: None if method == lsp.TEXT_DOCUMENT_CODE_ACTION else original(method)  # type: ignore[method-assign]
    try:
        raw = await proto.send_request_async(lsp.TEXT_DOCUMENT_CODE_ACTION, params)
    finally:
        proto.get_result_type = original  # type: ignore[method-assign]
    # A CodeAction's command is an object; a bare Command would carry a string there.
    assert all(isinstance(a.get("command", {}), dict) for a in raw or [])
    return [proto._converter.structure(a, lsp.CodeAction) for a in raw or []]
