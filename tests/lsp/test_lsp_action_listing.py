"""What VS Code's light bulb (Ctrl+.) shows, over stdio: every action README lists, with kinds
the light bulb lists (not ``source.*``, which VS Code keeps for "Source Action..."), and, in a
workspace with no model set up and none discovered, titles that say so and an action that opens
the way to set one up instead of promising a local tier at an unknown cost."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsp_helpers import code_actions, initialize, open_doc
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from standins import StandinServer

REPO = Path(__file__).resolve().parents[2]
LIB = "src/lib.rs"
# `total_area` in examples/rust-crate/src/lib.rs, as a user would select it.
SELECTION = lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=12, character=0))


def lightbulb_kind(kind: str | None) -> bool:
    """Whether VS Code lists an action of this kind under the light bulb."""
    return not kind or kind == "quickfix" or kind == "refactor" or kind.startswith(
        ("quickfix.", "refactor."))


def readme_actions() -> list[str]:
    """The selection actions README's "Code actions" entry names (in *italics*)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    entry = text[text.index("- **Code actions**"):]
    entry = entry[:entry.index("\n- **")]
    names = re.findall(r"\*([A-Z][a-z]+(?: [a-z]+)?)\*", entry.split("on a selection", 1)[1])
    assert len(names) >= 4, entry
    return names


@pytest.fixture
def workspace(tmp_path: Path, rust_example: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(rust_example, root)
    return root


@pytest.fixture(autouse=True)
def _no_ollama(monkeypatch: pytest.MonkeyPatch) -> None:
    # Discovery must find nothing: port 9 (discard) has no Ollama, and conftest drops the keys.
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")


def _params(uri: str) -> lsp.CodeActionParams:
    # VS Code's light bulb request: no `only`, the selection, no diagnostics.
    return lsp.CodeActionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), range=SELECTION,
                                context=lsp.CodeActionContext(diagnostics=[]))


async def _settled(client: LanguageClient, uri: str) -> list[lsp.CodeAction]:
    """The listing once model discovery (a background probe at start) has answered."""
    for _ in range(200):
        actions = await code_actions(client, _params(uri))
        if not any("looking for models" in a.title for a in actions):
            return actions
        await asyncio.sleep(0.05)
    raise AssertionError(f"discovery never answered: {[a.title for a in actions]}")


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)


async def test_every_readme_action_is_in_the_light_bulb_with_tier_and_cost(
    client: LanguageClient, workspace: Path
) -> None:
    with StandinServer("openai", api_key="sk-test-not-real") as standin:
        (workspace / "agentic-optimizer.toml").write_text(
            "[[models]]\n"
            'name = "budget-gpt"\nprovider = "openai"\nmodel = "gpt-4.1-mini"\ntier = "budget"\n'
            f'base_url = "{standin.url}"\napi_key_env = "AGENTIC_TEST_OPENAI_KEY"\n'
            "price = { input = 0.4, output = 1.6 }\n")
        await initialize(client, workspace, profile="visual-studio-code")
        uri = open_doc(client, workspace / LIB, "rust")
        actions = await _settled(client, uri)
    by_label = {a.title.split(" · ")[0].removeprefix("AI: "): a for a in actions}
    for name in readme_actions():
        found = [a for label, a in by_label.items() if label.startswith(name)]
        assert found, f"README's *{name}* is not listed: {sorted(by_label)}"
        assert lightbulb_kind(found[0].kind), f"*{name}* has kind {found[0].kind}: not in the light bulb"
    assert all(re.search(r" · budget · ~\$0\.\d+$", a.title) for a in actions), [a.title for a in actions]
    # A client that asks for refactorings only still gets the refactoring kinds.
    refactor = await code_actions(client, lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=SELECTION,
        context=lsp.CodeActionContext(diagnostics=[], only=[lsp.CodeActionKind.Refactor])))
    assert {a.title.split(" · ")[0] for a in refactor} == {
        "AI: Simplify selection", "AI: Document selection", "AI: Generate tests for selection"}


async def test_without_a_model_titles_say_so_and_offer_the_setup(
    client: LanguageClient, workspace: Path
) -> None:
    await initialize(client, workspace, profile="visual-studio-code")
    uri = open_doc(client, workspace / LIB, "rust")
    actions = await _settled(client, uri)
    titles = [a.title for a in actions]
    assert not any("$?" in t or " · local" in t for t in titles), titles
    selection_titles = [t for t in titles if "selection" in t]
    assert len(selection_titles) == 4 and all(t.endswith(" · no model set up") for t in selection_titles), titles
    setup = [a for a in actions if a.title == "AI: Set up a model…"]
    assert len(setup) == 1 and lightbulb_kind(setup[0].kind) and setup[0].command is not None

    config = workspace / "agentic-optimizer.toml"
    assert not config.exists()
    result: Any = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command=setup[0].command.command, arguments=setup[0].command.arguments))
    assert result == {"config": config.as_uri()}
    shown = client.shown_documents
    assert shown and shown[0].uri == config.as_uri() and shown[0].take_focus
    text = config.read_text(encoding="utf-8")
    assert "# [[models]]" in text and 'provider = "ollama"' in text
    await _until(lambda: bool(client.messages))
    assert "No model is available" in client.messages[0].message and "wrote" in client.messages[0].message

    # An existing file is opened as it is, never rewritten.
    config.write_text("# mine\n", encoding="utf-8")
    await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command="agentic.setupModels"))
    assert config.read_text(encoding="utf-8") == "# mine\n" and len(shown) == 2
