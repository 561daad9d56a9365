"""The built-in eval suite checks what it claims: every task's reference answer passes its
hidden check, and the untouched workspace (or an empty answer) fails it, so a check that
cannot fail would be caught here. Runs the real cargo and Python on copies of examples/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.edits import apply_edits, disk_reader, parse_edits, write_changes
from lsp_server.evaluation.checks import check_answer, check_edit
from lsp_server.evaluation.suite import BUILTIN_SUITE, Task, load_suite

TASKS = load_suite(BUILTIN_SUITE)


def test_the_suite_has_twenty_tasks_across_the_kinds() -> None:
    assert len(TASKS) >= 20
    expects = {t.expects for t in TASKS}
    assert expects == {"edit", "answer", "search"}
    assert all(t.reference for t in TASKS)


@pytest.fixture(scope="module")
def cargo_target(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"CARGO_TARGET_DIR": str(tmp_path_factory.mktemp("cargo-target"))}


@pytest.mark.parametrize("task", [t for t in TASKS if t.expects == "edit"], ids=lambda t: t.id)
def test_an_edit_task_passes_with_its_reference_and_fails_without_it(
        task: Task, tmp_path: Path, cargo_target: dict[str, str]) -> None:
    untouched = tmp_path / "untouched"
    shutil.copytree(task.workspace, untouched, ignore=shutil.ignore_patterns("target"))
    assert not check_edit(task, untouched, changed=True, env=cargo_target).solved
    edited = tmp_path / "edited"
    shutil.copytree(task.workspace, edited, ignore=shutil.ignore_patterns("target"))
    assert task.reference is not None
    edits = parse_edits(task.reference, "search_replace", default_path=task.file)
    changes = apply_edits(edits, disk_reader(edited), root=edited, settings=Settings())
    write_changes(edited, changes)
    verdict = check_edit(task, edited, changed=True, env=cargo_target)
    assert verdict.solved, verdict.detail
    assert not check_edit(task, edited, changed=False, env=cargo_target).solved


@pytest.mark.parametrize("task", [t for t in TASKS if t.expects != "edit"], ids=lambda t: t.id)
def test_a_prose_or_search_task_passes_with_its_reference_only(task: Task) -> None:
    assert check_answer(task, task.reference).solved
    assert not check_answer(task, "").solved
    assert not check_answer(task, "It is a function in the project.").solved
