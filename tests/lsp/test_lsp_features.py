"""Editor features end to end over stdio, against a vendor stand-in, with VS Code and Neovim
capability profiles: actions listed for free, resolved, run as commands, hover, cancel, stale."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from lsp_helpers import FIX, OPENAI_KEY_VAR, RECT, code_actions, initialize, open_doc
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from standins import Reply, StandinServer


@pytest.fixture
def workspace(tmp_path: Path, rust_example: Path, model_server: StandinServer) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(rust_example, root)
    (root / "agentic-optimizer.toml").write_text(
        "[[models]]\n"
        'name = "budget-gpt"\nprovider = "openai"\nmodel = "gpt-4.1-mini"\ntier = "budget"\n'
        f'base_url = "{model_server.url}"\napi_key_env = "{OPENAI_KEY_VAR}"\nmax_retries = 0\n'
        # A loopback endpoint is not free: the stand-in carries the price of the vendor it plays.
        "price = { input = 0.4, output = 1.6 }\n"
        "[hover]\ntimeout_ms = 5000\n"
    )
    return root


def _unused_diag() -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=lsp.Range(start=lsp.Position(line=15, character=12), end=lsp.Position(line=15, character=18)),
        message="unused variable: `unused`",
        severity=lsp.DiagnosticSeverity.Warning,
    )


def _params(uri: str, diag: lsp.Diagnostic | None, rng: lsp.Range | None = None) -> lsp.CodeActionParams:
    return lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=rng or (diag.range if diag else lsp.Range(start=lsp.Position(line=0, character=0),
                                                          end=lsp.Position(line=0, character=0))),
        context=lsp.CodeActionContext(diagnostics=[diag] if diag else []),
    )


def _edited(text: str) -> str:
    return text.replace("        let unused = 0;\n", "")


@pytest.mark.parametrize("profile", ["visual-studio-code", "neovim"])
async def test_listing_is_free_and_titles_say_tier_and_cost(
    client: LanguageClient, workspace: Path, standin: StandinServer, profile: str
) -> None:
    await initialize(client, workspace, profile=profile)
    uri = open_doc(client, workspace / RECT, "rust")
    selection = lsp.Range(start=lsp.Position(line=14, character=0), end=lsp.Position(line=18, character=0))
    actions = await code_actions(client, _params(uri, _unused_diag(), selection))
    titles = [a.title for a in actions]
    assert titles[0].startswith("AI: Fix `unused variable: `unused``") or "Fix" in titles[0]
    assert all(" · budget · ~$0.00" in t for t in titles), titles
    assert {"AI: Explain selection", "AI: Simplify selection"} <= {t.split(" · ")[0] for t in titles}
    assert standin.generations == []  # listing made no model call


async def test_resolve_computes_the_edit_for_vscode(
    client: LanguageClient, workspace: Path, standin: StandinServer
) -> None:
    await initialize(client, workspace, profile="visual-studio-code")
    uri = open_doc(client, workspace / RECT, "rust")
    standin.add(Reply(FIX, input=900, output=40))
    actions = await code_actions(client, _params(uri, _unused_diag()))
    fix = actions[0]
    assert fix.command is None and fix.edit is None  # computed lazily
    resolved = await client.code_action_resolve_async(fix)
    assert resolved.edit is not None and resolved.edit.document_changes
    change = resolved.edit.document_changes[0]
    assert isinstance(change, lsp.TextDocumentEdit)
    assert change.text_document.version == 1 and change.text_document.uri == uri
    assert len(standin.generations) == 1


async def test_resolve_for_neovim_uses_utf8_positions(
    client: LanguageClient, workspace: Path, standin: StandinServer
) -> None:
    result = await initialize(client, workspace, profile="neovim")
    assert result.capabilities.position_encoding == lsp.PositionEncodingKind.Utf8
    path = workspace / RECT
    path.write_text(path.read_text().replace(
        "        let unused = 0;", '        let s = "Größe😀"; let unused = 0; let t = s;'))
    uri = open_doc(client, path, "rust")
    fix = (f"{RECT}\n<<<<<<< SEARCH\n"
           '        let s = "Größe😀"; let unused = 0; let t = s;\n'
           "=======\n"
           '        let s = "Größe😀"; let t = s;\n'
           ">>>>>>> REPLACE\n")
    standin.add(Reply(fix, input=900, output=40))
    actions = await code_actions(client, _params(uri, _unused_diag()))
    resolved = await client.code_action_resolve_async(actions[0])
    assert resolved.edit is not None and resolved.edit.document_changes
    edit = resolved.edit.document_changes[0]
    assert isinstance(edit, lsp.TextDocumentEdit)
    text = path.read_text()
    assert _apply(text, edit.edits, "utf-8") == text.replace(" let unused = 0;", "")


async def test_command_path_for_clients_without_lazy_edits(
    client: LanguageClient, workspace: Path, standin: StandinServer
) -> None:
    applied: list[lsp.WorkspaceEdit] = []

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        applied.append(params.edit)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    await initialize(client, workspace, profile="neovim", resolve_edits=False)
    uri = open_doc(client, workspace / RECT, "rust")
    standin.add(Reply(FIX, input=900, output=40))
    actions = await code_actions(client, _params(uri, _unused_diag()))
    command = actions[0].command
    assert command is not None and command.command == "agentic.runAction"
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )
    assert result["applied"] is True and result["tier"] == "budget" and result["request_id"]
    assert result["cost_usd"] > 0 and result["attempts"][0]["model"] == "gpt-4.1-mini"
    edit = applied[0].document_changes[0]
    assert isinstance(edit, lsp.TextDocumentEdit) and edit.text_document.version == 1
    # Applying the returned text edits to the buffer gives exactly the intended file.
    text = (workspace / RECT).read_text()
    assert _apply(text, edit.edits, "utf-8") == _edited(text)


async def test_ask_command_and_spend_notification(
    client: LanguageClient, workspace: Path, standin: StandinServer
) -> None:
    spend: list[Any] = []
    applied: list[lsp.WorkspaceEdit] = []

    @client.feature("agentic/spend")
    def on_spend(params: Any) -> None:
        spend.append(params)

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        applied.append(params.edit)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    await initialize(client, workspace)
    uri = open_doc(client, workspace / RECT, "rust")
    standin.add(Reply(FIX, input=900, output=40))
    rng = {"start": {"line": 14, "character": 0}, "end": {"line": 17, "character": 0}}
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="agentic.ask", arguments=[uri, rng, "remove the unused variable"]))
    assert result["applied"] is True
    for _ in range(50):
        if spend:
            break
        await asyncio.sleep(0.05)
    assert spend, "no agentic/spend notification after the request"
    params = _fields(spend[-1])
    # Exactly what the clients read (vscode-extension/src/wire.ts, the Neovim plugin).
    assert set(params) == {"spent_usd", "premium_usd", "saved_usd", "requests", "request_id"}
    assert params["request_id"] == result["request_id"]
    assert params["spent_usd"] == pytest.approx(result["cost_usd"])
    assert params["premium_usd"] == pytest.approx(result["premium_cost_usd"])
    assert params["saved_usd"] == pytest.approx(result["premium_cost_usd"] - result["cost_usd"])
    assert params["requests"] == 1


async def test_spend_names_the_resolved_action_for_feedback_on_the_last_result(
    client: LanguageClient, workspace: Path, standin: StandinServer
) -> None:
    """A resolved code action returns no command result: the notification carries its id."""
    spend: list[dict[str, Any]] = []

    @client.feature("agentic/spend")
    def on_spend(params: Any) -> None:
        spend.append(_fields(params))

    await initialize(client, workspace, profile="visual-studio-code")
    uri = open_doc(client, workspace / RECT, "rust")
    standin.add(Reply(FIX, input=900, output=40))
    actions = await code_actions(client, _params(uri, _unused_diag()))
    resolved = await client.code_action_resolve_async(actions[0])
    await _until(lambda: bool(spend))
    request_id = spend[-1]["request_id"]
    assert isinstance(request_id, str) and resolved.data == {"request_id": request_id}
    assert spend[-1]["requests"] == 1 and spend[-1]["spent_usd"] > 0

    recorded = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="agentic.feedback", arguments=[request_id, "reject"]))
    assert recorded == {"request_id": request_id, "recorded": True}
    # After the metrics no request finished: the id is null, and clients keep the last one.
    await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="agentic.showMetrics"))
    await _until(lambda: len(spend) >= 2)
    assert spend[-1]["request_id"] is None and spend[-1]["requests"] == 1


@pytest.mark.parametrize(("command", "arguments", "expected"), [
    ("agentic.ask", ["file:///x.rs", {"start": {"line": 0, "character": 0}, "end": {"line": 1}},
                     "fix it"],
     "expected an LSP position {line, character}, got {'line': 1}"),
    ("agentic.ask", ["file:///x.rs", {"start": {"line": 0, "character": 0},
                                      "end": {"line": 1, "character": 0}}, "  "],
     "agentic.ask expects (uri, range, instruction): the instruction is empty"),
    ("agentic.explain", [42], "agentic.explain expects (uri, range): got 1 argument"),
    ("agentic.feedback", ["abc123", 9],
     "agentic.feedback expects (request_id, accept|reject|rating 1-5): got the verdict 9"),
    ("agentic.runAction", [{"kind": "dance"}], "unknown action kind 'dance'"),
    ("agentic.reindex", ["now"], "agentic.reindex expects no arguments: got 1 argument"),
])
async def test_bad_command_arguments_get_one_clear_message(
    client: LanguageClient, workspace: Path, command: str, arguments: list[Any], expected: str
) -> None:
    await initialize(client, workspace)
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command=command, arguments=arguments))
    assert result is None
    await _until(lambda: bool(client.messages))
    assert len(client.messages) == 1 and client.messages[0].message.startswith(
        f"Agentic Optimizer: {expected}"), client.messages
    assert client.messages[0].type == lsp.MessageType.Error


def _fields(params: Any) -> dict[str, Any]:
    """A custom notification's params as a dict (pygls hands them over as a named tuple)."""
    return params if isinstance(params, dict) else dict(params._asdict())


async def _until(condition: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)


async def test_a_stale_version_is_refused(
    client: LanguageClient, workspace: Path, standin: StandinServer
) -> None:
    await initialize(client, workspace, profile="visual-studio-code")
    uri = open_doc(client, workspace / RECT, "rust")
    actions = await code_actions(client, _params(uri, _unused_diag()))
    # The user types before resolving: the action was listed against version 1.
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)),
            text="// edited\n")],
    ))
    standin.add(Reply(FIX, input=900, output=40))
    resolved = await client.code_action_resolve_async(actions[0])
    assert resolved is None or resolved.edit is None
    for _ in range(50):
        if client.messages:
            break
        await asyncio.sleep(0.05)
    assert any("changed" in m.message for m in client.messages), client.messages


async def test_hover_explains_with_paid_models_only_when_allowed_then_from_cache(
    client: LanguageClient, workspace: Path, standin: StandinServer
) -> None:
    await initialize(client, workspace)  # the only model is a paid (budget) one
    uri = open_doc(client, workspace / "src/lib.rs", "rust")
    standin.add(Reply("Adds up the area of every shape.", input=300, output=10))
    await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command="agentic.reindex"))
    params = lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri),
                             position=lsp.Position(line=9, character=8))
    # By default hover explanations are local-only: the index facts, and no cloud call.
    facts = await client.text_document_hover_async(params)
    assert facts is not None and isinstance(facts.contents, lsp.MarkupContent)
    assert "total_area" in facts.contents.value
    assert "Adds up the area" not in facts.contents.value
    assert "on its way" not in facts.contents.value
    assert standin.generations == []
    # Opting in to paid tiers: the hover asks the cloud model. The long wait keeps a loaded
    # machine from turning the first hover into the "on its way" note.
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"agenticOptimizer": {"hover": {"paidTiers": True, "timeoutMs": 60000}}}))
    first = await client.text_document_hover_async(params)
    assert first is not None and isinstance(first.contents, lsp.MarkupContent)
    assert "total_area" in first.contents.value
    assert "Adds up the area" in first.contents.value
    calls = len(standin.generations)
    second = await client.text_document_hover_async(params)
    assert second is not None and "Adds up the area" in second.contents.value  # type: ignore[union-attr]
    assert len(standin.generations) == calls == 1


async def test_cancel_mid_stream_applies_nothing(
    client: LanguageClient, workspace: Path, standin: StandinServer
) -> None:
    applied: list[Any] = []

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        applied.append(params)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    await initialize(client, workspace)
    uri = open_doc(client, workspace / RECT, "rust")
    standin.add(Reply(FIX, input=900, output=40, delay=3.0))
    rng = {"start": {"line": 14, "character": 0}, "end": {"line": 17, "character": 0}}
    future = client.protocol.send_request(lsp.WORKSPACE_EXECUTE_COMMAND, lsp.ExecuteCommandParams(
        command="agentic.ask", arguments=[uri, rng, "remove the unused variable"]))
    assert standin.wait_for(lambda reqs: any(r.path.endswith("/chat/completions") for r in reqs), 10)
    msg_id = next(k for k, v in client.protocol._request_futures.items() if v is future)
    client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id=msg_id))
    await asyncio.sleep(3.5)
    assert applied == []
    # The server is still healthy and the cancellation is in the ledger.
    metrics = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="agentic.showMetrics"))
    assert metrics is not None and "text" in metrics


def _apply(text: str, edits: list[Any], encoding: Any = "utf-16") -> str:
    from lsp_server.text import Position, offset_at

    out = text
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start = offset_at(out, Position(e.range.start.line, e.range.start.character), encoding)
        end = offset_at(out, Position(e.range.end.line, e.range.end.character), encoding)
        out = out[:start] + e.new_text + out[end:]
    return out
