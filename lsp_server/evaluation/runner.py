"""Run a suite's tasks through the assistant, one fresh copy of the workspace per task.

Each task runs on its own copy (edits are applied there, never to the suite's folders), with
the user's models and an isolated state directory (so the evaluation's requests do not count in
the user's ``metrics``) and no response cache (a cached answer would measure nothing). An
accepted edit is written to the copy and the hidden check decides whether the task is solved.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_server.config import CacheSettings, Settings
from lsp_server.errors import AgenticError
from lsp_server.evaluation.checks import Verdict, check_answer, check_edit
from lsp_server.evaluation.suite import Task

ACCEPTED = frozenset({"accepted", "cache_hit", "index"})
_IGNORED = shutil.ignore_patterns("target", ".git", "__pycache__", ".venv", "node_modules")


@dataclass(frozen=True, slots=True)
class AttemptRow:
    tier: str
    model: str
    accepted: bool
    cost_usd: float | None
    latency_ms: float
    first_token_ms: float | None
    output_tokens: int
    stopped: str | None
    tool_calls: tuple[dict[str, Any], ...] = ()  # a tool turn's calls: name, args, ok, error


@dataclass
class TaskResult:
    id: str
    kind: str
    expects: str
    outcome: str
    tier: str | None  # the tier whose answer was accepted ("index" for the index)
    solved: bool
    wrong_accepted: bool
    detail: str
    cost_usd: float
    premium_cost_usd: float | None
    elapsed_ms: float
    first_token_ms: float | None
    attempts: list[AttemptRow] = field(default_factory=list)


async def run_suite(tasks: list[Task], settings: Settings,
                    progress: Callable[[str], None] | None = None) -> list[TaskResult]:
    """Run every task in order (one at a time: a local model serves one request best)."""
    results: list[TaskResult] = []
    with tempfile.TemporaryDirectory(prefix="ao-eval-") as scratch:
        base = Path(scratch)
        isolated = settings.model_copy(update={
            "state_dir": str(base / "state"), "cache": CacheSettings(enabled=False)})
        env = {"CARGO_TARGET_DIR": str(base / "cargo-target")}  # one build cache for all copies
        for n, task in enumerate(tasks, 1):
            if progress is not None:
                progress(f"[{n}/{len(tasks)}] {task.id}")
            results.append(await run_task(task, isolated, base / task.id, env))
    return results


async def run_task(task: Task, settings: Settings, copy: Path,
                   env: dict[str, str]) -> TaskResult:
    from lsp_server.assistant import Assistant, AssistRequest
    from lsp_server.edits import write_changes

    await asyncio.to_thread(shutil.copytree, task.workspace, copy, ignore=_IGNORED)
    path = copy / task.file if task.file else None
    request = AssistRequest(kind=task.kind, instruction=task.instruction, path=path,
                            line_range=task.line_range,
                            cursor=(task.line_range[0], 0) if task.line_range else None)
    assistant = Assistant(copy, settings)
    try:
        result = await assistant.run(request)
    except AgenticError as exc:
        return TaskResult(task.id, task.kind, task.expects, "error", None, False, False,
                          str(exc), 0.0, None, 0.0, None)
    finally:
        await assistant.aclose()
    accepted = result.outcome in ACCEPTED
    changed = False
    if accepted and result.changes:
        await asyncio.to_thread(write_changes, copy, result.changes)
        changed = True
    verdict: Verdict
    if not accepted:
        verdict = Verdict(False, "no answer was accepted")
    elif task.expects == "edit":
        verdict = await asyncio.to_thread(check_edit, task, copy, changed, env)
    else:
        verdict = check_answer(task, result.answer)
    rows = [AttemptRow(a.tier, a.model, a.accepted, a.cost_usd, a.latency_ms, a.first_token_ms,
                       a.usage.output, a.stopped,
                       tuple({"name": c.name, "args": c.args, "ok": c.ok, "error": c.error}
                             for c in a.tool_calls))
            for a in result.attempts if not a.cached]
    firsts = [r.first_token_ms for r in rows if r.first_token_ms is not None]
    tier = ("index" if result.outcome == "index" else result.tier) if accepted else None
    return TaskResult(
        id=task.id, kind=task.kind, expects=task.expects, outcome=result.outcome, tier=tier,
        solved=accepted and verdict.solved, wrong_accepted=accepted and not verdict.solved,
        detail=verdict.detail, cost_usd=result.cost_usd, premium_cost_usd=result.premium_cost_usd,
        elapsed_ms=result.elapsed_ms, first_token_ms=firsts[0] if firsts else None, attempts=rows)
