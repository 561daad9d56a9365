"""Over stdio: a ledger locked by another process holds up only the rows waiting for it. While
a request's rows wait for the lock, the editor still gets code action listings and hovers, no
ledger warning is shown, and once the lock clears the request finishes and every row is there."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsp_helpers import FIX, RECT, initialize, open_doc
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from standins import Reply, StandinServer

from lsp_server.ledger.store import Ledger

KEY_VAR = "AGENTIC_TEST_ANTHROPIC_KEY"
KEY = "sk-ant-test-not-real"
ASK_RANGE = {"start": {"line": 14, "character": 0}, "end": {"line": 17, "character": 0}}


@pytest.fixture
def premium() -> Iterator[StandinServer]:
    with StandinServer("anthropic", api_key=KEY) as server:
        yield server


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, KEY)  # before the server process starts


@pytest.fixture
def workspace(tmp_path: Path, rust_example: Path, premium: StandinServer) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(rust_example, root)
    (root / "agentic-optimizer.toml").write_text(
        "[[models]]\n"
        'name = "sonnet"\nprovider = "anthropic"\nmodel = "claude-sonnet-4-5"\n'
        f'tier = "premium"\nbase_url = "{premium.url}"\napi_key_env = "{KEY_VAR}"\n'
        "max_retries = 0\n"
    )
    return root


def _listing(uri: str) -> lsp.CodeActionParams:
    return lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(start=lsp.Position(line=14, character=0),
                        end=lsp.Position(line=17, character=0)),
        context=lsp.CodeActionContext(diagnostics=[]),
    )


async def _ask(client: LanguageClient, uri: str, instruction: str) -> Any:
    return await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="agentic.ask", arguments=[uri, ASK_RANGE, instruction]))


async def test_listings_and_hovers_answer_while_the_ledger_is_locked(
    client: LanguageClient, workspace: Path, premium: StandinServer
) -> None:
    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        return lsp.ApplyWorkspaceEditResult(applied=True)

    await initialize(client, workspace)
    uri = open_doc(client, workspace / RECT, "rust")
    premium.add(Reply(FIX, input=900, output=40))
    free = await _ask(client, uri, "remove the unused variable")  # the ledger exists, and is free
    assert free["applied"] is True

    other = sqlite3.connect(Ledger.default_path(), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the ledger (busy timeout: 10 s)
    try:
        premium.add(Reply(FIX, input=900, output=40))
        # Another instruction: the same one would be answered from the response cache.
        locked = asyncio.ensure_future(_ask(client, uri, "drop the variable that is never read"))
        # The request's first row (its start) is written before the model is called, so by the
        # time the vendor sees the call the ledger writer is waiting for the lock.
        calls = len(premium.generations)
        for _ in range(1000):
            if len(premium.generations) > calls:
                break
            await asyncio.sleep(0.01)
        assert len(premium.generations) > calls, "the request never reached the model"
        for _ in range(3):
            actions = await client.text_document_code_action_async(_listing(uri))
            assert actions, "no code actions listed while the ledger was locked"
            hover = await client.text_document_hover_async(lsp.HoverParams(
                text_document=lsp.TextDocumentIdentifier(uri=uri),
                position=lsp.Position(line=15, character=13)))
            assert hover is None or hover.contents is not None
        # The request is still waiting for its rows, within the busy timeout, and says nothing.
        assert not locked.done()
        assert not _ledger_warnings(client)
    finally:
        other.execute("ROLLBACK")
        other.close()
    result = await asyncio.wait_for(locked, 30)
    assert result["applied"] is True
    with Ledger.open() as ledger:
        for answered in (free, result):
            row = ledger.request(answered["request_id"])
            assert row is not None and row["outcome"] == "accepted"
            assert len(row["attempts"]) == 1
    assert not _ledger_warnings(client)


def _ledger_warnings(client: LanguageClient) -> list[str]:
    """What the server has shown the user about the ledger (pytest-lsp keeps showMessage)."""
    return [m.message for m in client.messages if "ledger" in m.message.lower()]
