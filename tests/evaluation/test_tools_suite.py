"""The tool suite (examples/eval-tools): its tasks load, and with the context budget the README
gives for it, the definition each task needs is not in the initial context (so a model can only
solve it by looking the definition up)."""

from __future__ import annotations

from pathlib import Path

from lsp_server.config import Settings, parse_settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.builder import build_context
from lsp_server.context.rank.ranking import ContextRequest
from lsp_server.evaluation.suite import load_suite

SUITE = Path(__file__).resolve().parents[2] / "examples" / "eval-tools"
NEEDED = {"tools-explain-total-rate": "8.25", "tools-explain-shipping": "11.05"}
BUDGET = 512  # context.budget_tokens in README's "Tools" eval configuration


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
