"""The language server over stdio with a real local model (Gemma 3 270M on llama.cpp) as its
``local`` tier and a vendor stand-in as the ``budget`` tier: a code action resolved, and a hover
explanation. The local attempt is recorded with real token counts (llama-server's usage, measured,
unless the router stopped the answer); a local answer that is not accepted is never shown, and
the next tier's answer is."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_lsp
from local_llama import local_model_settings
from lsp.lsp_helpers import FIX, RECT, SERVER, initialize, open_doc
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from standins import Reply, StandinServer

from lsp_server.ledger.store import Ledger

pytestmark = pytest.mark.realmodel

KEY_VAR = "AGENTIC_TEST_OPENAI_KEY"
EXPLANATION = "Adds up the area of every shape in the slice and returns the sum."


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the server process starts (it reads the key from its environment)."""
    monkeypatch.setenv(KEY_VAR, "sk-test-not-real")


@pytest.fixture
def budget() -> Iterator[StandinServer]:
    with StandinServer("openai", api_key="sk-test-not-real") as server:
        yield server


@pytest.fixture
def workspace(tmp_path: Path, rust_example: Path, llama_url: str, budget: StandinServer) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(rust_example, root)
    # As in test_local_model.py: a loaded CI machine may read the prompt slowly.
    local = local_model_settings(llama_url, timeout_seconds=600)
    (root / "agentic-optimizer.toml").write_text(
        "[[models]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in local.items())
        + "[[models]]\n"
        'name = "budget-gpt"\nprovider = "openai"\nmodel = "gpt-4.1-mini"\ntier = "budget"\n'
        f'base_url = "{budget.url}"\napi_key_env = "{KEY_VAR}"\nmax_retries = 0\n'
        "price = { input = 0.4, output = 1.6 }\n"
        # Wait for the explanation (a CPU model takes seconds), and let hover use the paid tier.
        "[hover]\ntimeout_ms = 600000\npaid_tiers = true\n"
        # As in test_local_model.py: the latency budget is not what these tests are about.
        "[routing]\nfirst_token_timeout_s = { local = 300 }\ntier_timeout_s = { local = 600 }\n")
    return root


def _toml(value: object) -> str:
    return str(value) if isinstance(value, int) else f'"{value}"'


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient) -> AsyncIterator[LanguageClient]:
    yield lsp_client
    await lsp_client.shutdown_session()


def _local_attempt() -> dict[str, object]:
    """The ledger row of the server's latest local attempt (read with the ledger's own API)."""
    ledger = Ledger.open()
    try:
        found = ledger.connection.execute(
            "SELECT request_id FROM attempts WHERE tier = 'local' ORDER BY ts DESC LIMIT 1"
        ).fetchone()
        assert found is not None, "no local attempt in the ledger"
        row = ledger.request(found[0])
    finally:
        ledger.close()
    assert row is not None
    return next(a for a in row["attempts"] if a["tier"] == "local")


async def test_a_code_action_resolves_with_the_next_tiers_edit(
        client: LanguageClient, workspace: Path, budget: StandinServer) -> None:
    await initialize(client, workspace, profile="visual-studio-code")
    uri = open_doc(client, workspace / RECT, "rust")
    budget.add(Reply(FIX, input=900, output=40))
    diag = lsp.Diagnostic(
        range=lsp.Range(start=lsp.Position(line=15, character=12),
                        end=lsp.Position(line=15, character=18)),
        message="unused variable: `unused`", severity=lsp.DiagnosticSeverity.Warning)
    listed = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=diag.range,
        context=lsp.CodeActionContext(diagnostics=[diag])))
    actions = [a for a in listed or [] if isinstance(a, lsp.CodeAction)]
    assert actions and " · local · " in actions[0].title  # the local model is tried first
    resolved = await client.code_action_resolve_async(actions[0])
    assert resolved.edit is not None and resolved.edit.document_changes
    change = resolved.edit.document_changes[0]
    assert isinstance(change, lsp.TextDocumentEdit) and change.text_document.uri == uri
    assert all("unused" not in e.new_text for e in change.edits)
    assert len(budget.generations) == 1  # the local answer was not accepted; budget's was
    local = _local_attempt()
    assert int(local["input_tokens"]) > 100 and int(local["output_tokens"]) > 0  # type: ignore[call-overload]
    # The server's own count: at the end of the answer, or so far when it was stopped (an
    # estimate only for an answer stopped before its first token).
    assert local["cost_status"] == ("estimated" if local["first_token_ms"] is None else "measured")


async def test_a_hover_explains_with_real_usage_recorded(
        client: LanguageClient, workspace: Path, budget: StandinServer) -> None:
    await initialize(client, workspace)
    uri = open_doc(client, workspace / "src/lib.rs", "rust")
    budget.add(Reply(EXPLANATION, input=300, output=14))
    await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command="agentic.reindex"))
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=9, character=8)))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    text = hover.contents.value
    assert "total_area" in text and "on its way" not in text
    local = _local_attempt()
    assert int(local["input_tokens"]) > 100 and int(local["output_tokens"]) > 0  # type: ignore[call-overload]
    if budget.generations:  # the local answer was stopped or rejected: the budget tier's shows
        assert EXPLANATION in text
    else:  # the local answer was accepted: it ran to its end, with the server's own count
        assert local["cost_status"] == "measured" and EXPLANATION not in text
