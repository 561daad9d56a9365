"""The tool suite (examples/eval-tools): its tasks load, and with the context budget the README
gives for it, the definition each task needs is not in the initial context (so a model can only
solve it by looking the definition up)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from standins import StandinServer
from standins.looking import EVAL_TOOLS_LOOKUPS, looking_oracle

from lsp_server.cli import main
from lsp_server.config import Settings, parse_settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.builder import build_context
from lsp_server.context.rank.ranking import ContextRequest
from lsp_server.evaluation.suite import load_suite

SUITE = Path(__file__).resolve().parents[2] / "examples" / "eval-tools"
NEEDED = {"tools-explain-total-rate": "8.25", "tools-explain-shipping": "11.05"}
BUDGET = 512  # context.budget_tokens in README's "Tools" eval configuration
KEY = "sk-test-not-real"


def test_each_task_needs_a_definition_left_out_of_the_initial_context(tmp_path: Path) -> None:
    tasks = load_suite(SUITE)
    assert {t.id for t in tasks} == set(NEEDED)
    settings = parse_settings({"context": {"budget_tokens": BUDGET}})
    for task in tasks:
        index = ProjectIndex.open(task.workspace, settings=Settings(), state_dir=tmp_path)
        try:
            index.refresh()
            built = build_context(index, ContextRequest(
                text=task.instruction, path=task.file, line_range=task.line_range),
                budget_tokens=BUDGET, settings=settings, for_cloud=True)
            files = [f.path for f in built.files if f.in_context]
        finally:
            index.close()
        assert task.file in files, task.id
        assert NEEDED[task.id] not in built.text, (task.id, files)


@pytest.mark.parametrize("vendor", ["ollama", "gemini"])
def test_eval_with_and_without_tools(tmp_path: Path, vendor: str,
                                     capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """``eval`` on the tool suite with a stand-in that uses tools: with tools off it can only
    guess (no task solved); with tools on it asks for the definitions the context left out,
    natively in its vendor's format, and solves both; ``--json`` lists the tool calls."""
    tasks = load_suite(SUITE)
    tier = "local" if vendor == "ollama" else "budget"
    monkeypatch.setenv(f"STANDIN_{vendor.upper()}_KEY", KEY)
    with StandinServer(vendor, fallback=looking_oracle(tasks, EVAL_TOOLS_LOOKUPS),
                       api_key=None if vendor == "ollama" else KEY) as server:
        summaries = []
        for turns in (0, 3):
            model = server.model_settings(name="m", tier=tier, max_retries=0)
            lines = ["[[models]]", *(f"{k} = {json.dumps(v)}" for k, v in model.items()),
                     "[routing]", f"max_tool_turns = {turns}", "[context]",
                     f"budget_tokens = {BUDGET}"]
            config = tmp_path / f"tools-{turns}.toml"
            config.write_text("\n".join(lines) + "\n")
            code = main(["eval", "--suite", str(SUITE), "--config", str(config), "--json"])
            summaries.append(json.loads(capsys.readouterr().out))
            assert code == (1 if turns == 0 else 0)  # the guesses are wrong answers accepted
        body = server.generations[-2].body
    off, on = summaries
    assert (off["overall"]["solved"], on["overall"]["solved"]) == (0, 2)
    (tier_off,), (tier_on,) = off["tiers"], on["tiers"]
    assert tier_off["tool_calls"] == 0 and tier_on["tool_calls"] == 3
    rate = next(t for t in on["tasks"] if t["id"] == "tools-explain-total-rate")
    assert [[c["name"], c["args"], c["ok"]] for a in rate["attempts"] for c in a["tool_calls"]] == [
        ["find_definition", {"name": "apply_rate"}, True],
        ["find_definition", {"name": "COUNTY_RATES"}, True]]
    assert body.get("tools")  # native: the vendor's own tool calling
