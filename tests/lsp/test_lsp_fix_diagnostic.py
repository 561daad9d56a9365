""""AI: Fix <diagnostic>" over stdio: the code action carries the editor's diagnostic (source,
code, range, message) to the verifier, which finds it among its checkers' errors by source and
code, and accepts the fix only when it is gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_helpers import OPENAI_KEY_VAR, code_actions, initialize, open_doc
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from standins import Reply, StandinServer

PRICING = "def discounted(value, percent):\n    return value * (1 - pct / 100)\n"
FIXED = ("shop/pricing.py\n<<<<<<< SEARCH\n    return value * (1 - pct / 100)\n=======\n"
         "    return value * (1 - percent / 100)\n>>>>>>> REPLACE\n")
NOT_FIXED = ("shop/pricing.py\n<<<<<<< SEARCH\n    return value * (1 - pct / 100)\n=======\n"
             "    return value * (1 - pct / 100.0)\n>>>>>>> REPLACE\n")


@pytest.fixture
def workspace(tmp_path: Path, model_server: StandinServer) -> Path:
    root = tmp_path / "ws"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "pricing.py").write_text(PRICING)
    (root / "agentic-optimizer.toml").write_text(
        "[[models]]\n"
        'name = "budget-gpt"\nprovider = "openai"\nmodel = "gpt-4.1-mini"\ntier = "budget"\n'
        f'base_url = "{model_server.url}"\napi_key_env = "{OPENAI_KEY_VAR}"\nmax_retries = 0\n'
        "price = { input = 0.4, output = 1.6 }\n"
        "[routing]\nmax_attempts = 1\n"
    )
    return root


def _ruff_diag() -> lsp.Diagnostic:
    # As Ruff's language server reports it: its own code and wording, not pyflakes'.
    return lsp.Diagnostic(
        range=lsp.Range(start=lsp.Position(line=1, character=24),
                        end=lsp.Position(line=1, character=27)),
        message="Undefined name `pct`", source="Ruff", code="F821",
        severity=lsp.DiagnosticSeverity.Error)


async def _run_fix(client: LanguageClient, workspace: Path) -> dict[str, object]:
    await initialize(client, workspace, profile="neovim", resolve_edits=False)
    uri = open_doc(client, workspace / "shop" / "pricing.py", "python")
    diag = _ruff_diag()
    actions = await code_actions(client, lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=diag.range,
        context=lsp.CodeActionContext(diagnostics=[diag])))
    command = actions[0].command
    assert command is not None and command.arguments
    carried = command.arguments[0]["diagnostics"]
    assert carried == [{"message": "Undefined name `pct`", "source": "Ruff", "code": "F821",
                        "range": {"start": {"line": 1, "character": 24},
                                  "end": {"line": 1, "character": 27}}}]
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command=command.command, arguments=command.arguments))
    assert isinstance(result, dict)
    return result


async def test_a_fix_that_removes_the_diagnostic_is_accepted(
        client: LanguageClient, workspace: Path, standin: StandinServer) -> None:
    applied: list[lsp.WorkspaceEdit] = []

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        applied.append(params.edit)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    standin.add(Reply(FIXED, input=500, output=40))
    result = await _run_fix(client, workspace)
    assert result["outcome"] == "accepted" and result["applied"] is True
    reasons = result["attempts"][0]["reasons"]  # type: ignore[index]
    assert any(r.startswith("the diagnostic to fix is gone: shop/pricing.py:2: [UndefinedName]")
               for r in reasons), reasons
    # The prompt named the diagnostic with its source and code.
    assert "[Ruff F821] Undefined name `pct`" in standin.generations[0].raw
    assert applied


async def test_a_fix_that_leaves_the_diagnostic_is_rejected(
        client: LanguageClient, workspace: Path, standin: StandinServer) -> None:
    standin.add(Reply(NOT_FIXED, input=500, output=40))
    result = await _run_fix(client, workspace)
    assert result["outcome"] == "rejected"
    reasons = result["attempts"][0]["reasons"]  # type: ignore[index]
    assert any("the diagnostic to fix is still reported after the edit: shop/pricing.py:2: "
               "[UndefinedName]" in r for r in reasons), reasons
