"""A task's hidden check, run on the task's own copy of its workspace.

The check decides whether a task is solved, independently of the router's confidence: the
edited copy gets the hidden files (tests the model never saw), then the check command runs in
it with a time limit (model-written code runs only in this copy), and the edited files are
matched against the patterns; a prose answer must state every reference fact.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lsp_server.evaluation.suite import Task


@dataclass(frozen=True, slots=True)
class Verdict:
    solved: bool
    detail: str


def check_answer(task: Task, answer: str | None) -> Verdict:
    """A prose answer or a search result against the reference facts / expected text."""
    text = answer or ""
    if not text.strip():
        return Verdict(False, "no answer")
    missing = [f for f in task.check.facts if re.search(f, text, re.IGNORECASE) is None]
    missing += [s for s in task.check.answer_contains if s not in text]
    if missing:
        return Verdict(False, "missing: " + ", ".join(missing))
    return Verdict(True, "every reference fact stated")


def check_edit(task: Task, copy: Path, changed: bool,
               env: Mapping[str, str] | None = None) -> Verdict:
    """The edited ``copy`` against the hidden check (blocking: subprocesses)."""
    check = task.check
    if (check.must_change or task.expects == "edit") and not changed:
        return Verdict(False, "no edit was made")
    for rel, patterns in check.contains.items():
        text = _read(copy / rel)
        for pattern in patterns:
            if re.search(pattern, text, re.MULTILINE) is None:
                return Verdict(False, f"{rel} lacks {pattern!r}")
    for rel, patterns in check.absent.items():
        text = _read(copy / rel)
        for pattern in patterns:
            if re.search(pattern, text, re.MULTILINE) is not None:
                return Verdict(False, f"{rel} still has {pattern!r}")
    for rel, content in check.files.items():
        target = (copy / rel).resolve()
        if not target.is_relative_to(copy.resolve()):
            return Verdict(False, f"hidden file {rel} is outside the workspace")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    if check.command:
        try:
            proc = subprocess.run(
                list(check.command), cwd=copy, capture_output=True, text=True,
                timeout=check.timeout_s, env={**os.environ, **(env or {})}, check=False)
        except subprocess.TimeoutExpired:
            return Verdict(False, f"the check command ran past {check.timeout_s:g} s")
        except OSError as exc:
            return Verdict(False, f"the check command could not run: {exc}")
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            return Verdict(False, f"the check command failed ({proc.returncode}): "
                           + " | ".join(tail))
    return Verdict(True, "the hidden check passed")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""
