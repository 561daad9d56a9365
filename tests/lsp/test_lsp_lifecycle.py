"""`agentic-optimizer serve` over stdio: initialize, settings errors, shutdown."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from lsp_helpers import initialize
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient


@pytest.fixture
def workspace(tmp_path: Path, rust_example: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(rust_example, root)
    return root


async def _wait_for_message(client: LanguageClient, count: int = 1) -> list[str]:
    for _ in range(100):
        if len(client.messages) >= count:
            break
        await asyncio.sleep(0.05)
    return [m.message for m in client.messages]


async def test_initialize_reports_server_and_sync(client: LanguageClient, workspace: Path) -> None:
    result = await initialize(client, workspace)
    assert result.server_info is not None
    assert result.server_info.name == "agentic-optimizer"
    sync = result.capabilities.text_document_sync
    assert isinstance(sync, lsp.TextDocumentSyncOptions)
    assert sync.open_close and sync.change == lsp.TextDocumentSyncKind.Incremental
    assert client.messages == []


async def test_a_settings_file_that_is_not_utf8_is_shown_and_server_stays_up(
    client: LanguageClient, workspace: Path
) -> None:
    (workspace / "agentic-optimizer.toml").write_bytes(b"[budget]\n# caf\xe9\n")
    await initialize(client, workspace)
    messages = await _wait_for_message(client)
    assert any("line 2 is not UTF-8" in m for m in messages), messages
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="agentic.showMetrics"))
    assert result is not None  # still serving, on the default settings


async def test_bad_settings_file_is_shown_and_server_stays_up(
    client: LanguageClient, workspace: Path
) -> None:
    (workspace / "agentic-optimizer.toml").write_text("[routing]\nescalate_below = 7\n")
    await initialize(client, workspace)
    messages = await _wait_for_message(client)
    assert any("routing.escalate_below = 7" in m for m in messages), messages
    assert client.messages[0].type == lsp.MessageType.Error
    # Still serving: once the file is fixed, a reload is accepted without another error.
    (workspace / "agentic-optimizer.toml").write_text("[routing]\nescalate_below = 0.7\n")
    client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"agenticOptimizer": {"budget": {"dailyUsd": 2}}})
    )
    await asyncio.sleep(0.2)
    assert len(client.messages) == 1


async def test_bad_editor_settings_are_reported_and_last_good_kept(
    client: LanguageClient, workspace: Path
) -> None:
    await initialize(client, workspace, options={"budget": {"dailyUsd": 0.5}})
    client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"budget": {"dailyUsd": "lots"}})
    )
    messages = await _wait_for_message(client)
    assert any("budget.daily_usd = 'lots'" in m and "keeping the previous" in m for m in messages)


async def test_clean_shutdown(client: LanguageClient, workspace: Path) -> None:
    await initialize(client, workspace)
    await client.shutdown_async(None)
    client.exit(None)
    assert client._server is not None
    code = await asyncio.wait_for(client._server.wait(), timeout=10)
    assert code == 0
    client.capabilities = None  # already shut down: the fixture must not do it again


async def test_saving_the_settings_file_reloads_it(client: LanguageClient, workspace: Path) -> None:
    await initialize(client, workspace)
    config = workspace / "agentic-optimizer.toml"
    config.write_text("[budget]\ndaily_usd = -1\n")
    client.text_document_did_save(
        lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=config.as_uri()))
    )
    messages = await _wait_for_message(client)
    assert any("budget.daily_usd = -1" in m for m in messages), messages


async def test_overlay_serves_unsaved_text(client: LanguageClient, workspace: Path) -> None:
    """A definition that exists only in the unsaved buffer is known to hover."""
    await initialize(client, workspace, options={"hover": {"explain": False}})
    lib = workspace / "src" / "lib.rs"
    uri = lib.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="rust", version=1, text=lib.read_text())))
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line=7, character=0), end=lsp.Position(line=7, character=0)),
            text="pub fn unsaved_helper(scale: f64) -> f64 { scale }\n")],
    ))
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=7, character=9)))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert "unsaved_helper" in hover.contents.value
    assert "scale: f64" in hover.contents.value
    assert "unsaved_helper" not in lib.read_text()


async def test_changed_editor_settings_replace_the_startup_ones(
    client: LanguageClient, workspace: Path
) -> None:
    """A setting removed in the editor stops applying; an empty Lua table means no settings."""
    (workspace / "agentic-optimizer.toml").write_text("[budget]\ndaily_usd = 3.0\n")
    await initialize(client, workspace, options={"agenticOptimizer": {"budget": {"dailyUsd": "bad"}}})
    assert await _wait_for_message(client)
    client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"agenticOptimizer": []})
    )
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="agentic.showMetrics"))
    await asyncio.sleep(0.2)
    assert result is not None
    assert len(client.messages) == 2  # the startup error, then the metrics text; no new error
    assert "invalid" not in client.messages[1].message


async def test_a_workspace_over_the_file_limit_is_indexed_in_part_and_said_so(
    client: LanguageClient, workspace: Path
) -> None:
    (workspace / "agentic-optimizer.toml").write_text("[context]\nmax_files = 2\n")
    await initialize(client, workspace)
    messages = await _wait_for_message(client)
    assert any("indexed only the 2 source files nearest the project root" in m
               and "context.max_files (2)" in m for m in messages), messages
    assert client.messages[0].type == lsp.MessageType.Warning
    # a reindex the user asks for says it again
    stats = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="agentic.reindex"))
    assert stats["files"] == 2 and stats["capped_at"] == 2
    messages = await _wait_for_message(client, 2)
    assert len(messages) == 2 and "context.max_files (2)" in messages[1]


async def test_a_file_limit_changed_in_the_editor_applies_to_the_next_reindex(
    client: LanguageClient, workspace: Path
) -> None:
    """context.maxFiles from didChangeConfiguration reaches the index without a restart."""
    await initialize(client, workspace)

    async def reindex() -> dict[str, int]:
        result = await client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command="agentic.reindex"))
        assert isinstance(result, dict)
        return result

    every = (await reindex())["files"]
    assert every > 2
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"agenticOptimizer": {"context": {"maxFiles": 2}}}))
    lowered = await reindex()
    assert lowered["files"] == 2 and lowered["capped_at"] == 2
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"agenticOptimizer": {"context": {"maxFiles": 1000}}}))
    raised = await reindex()
    assert raised["files"] == every and raised.get("capped_at") is None
