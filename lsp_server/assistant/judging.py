"""Judging one answer for a request: the edits engine's verifier for an edit, a substance
check for prose. Confidence is measured, and below the threshold the cascade escalates."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from lsp_server.assistant.values import AssistRequest, Target
from lsp_server.config import ModelSettings, Settings
from lsp_server.context.documents import Documents
from lsp_server.edits import Verdict, verify
from lsp_server.edits.definitions import definitions_at
from lsp_server.providers.base import Completion
from lsp_server.routing.answers import judge_answer
from lsp_server.routing.attempts import Judgement

_QUOTED = re.compile(r"`([A-Za-z_][\w:.]*)`")
_FILE = re.compile(r"\b[\w./-]+\.(?:rs|py|pyi|toml|md|js|ts)\b")


def request_symbols(request: AssistRequest, target: Target) -> list[str]:
    """What the user named in the question: quoted identifiers, file names, and definitions in
    the requested lines that the instruction mentions (empty: the on-topic check is skipped, as
    for a hover's generic "explain this", whose answer need not repeat the name)."""
    text = request.instruction
    found = [m.group(1) for m in _QUOTED.finditer(text)] + [m.group(0) for m in _FILE.finditer(text)]
    if target.rel is not None and target.text is not None and request.line_range is not None:
        lo, hi = request.line_range
        for d in definitions_at(target.text, target.rel, lo, hi):
            if d not in found and re.search(rf"\b{re.escape(d)}\b", text):
                found.append(d)
    return list(dict.fromkeys(found))


class AnswerJudge:
    """Judges the answers to one request; the time spent is added to ``timings["verify_ms"]``."""

    def __init__(self, *, root: Path, documents: Documents, settings: Settings, edit: bool,
                 request: AssistRequest, target: Target, threshold: float,
                 timings: dict[str, float]) -> None:
        self._root = root
        self._documents = documents
        self._settings = settings
        self._edit = edit
        self._request = request
        self._target = target
        self._threshold = threshold
        self._timings = timings
        self._symbol_cache: list[str] | None = None

    async def judge(self, model: ModelSettings, text: str,
                    completion: Completion | None) -> Judgement:
        start = time.perf_counter()
        try:
            if self._edit:
                return await self._edit_verdict(model, text)
            stop = completion.stop_reason if completion is not None else None
            confidence, reasons = judge_answer(text, stop, question=self._request.instruction,
                                               symbols=self._symbols())
            return Judgement(confidence >= self._threshold, confidence, reasons, text)
        finally:
            self._timings["verify_ms"] += (time.perf_counter() - start) * 1000

    def _symbols(self) -> list[str]:
        """What the question names (see :func:`request_symbols`)."""
        if self._symbol_cache is None:
            self._symbol_cache = request_symbols(self._request, self._target)
        return self._symbol_cache

    async def _edit_verdict(self, model: ModelSettings, text: str) -> Judgement:
        def read_text(rel: str) -> str | None:
            return self._documents.text_for_edit(self._root / rel)

        verdict: Verdict = await asyncio.to_thread(
            verify, text, edit_format=model.effective_edit_format, read_text=read_text,
            root=self._root, settings=self._settings, target_path=self._target.rel,
            target_lines=self._request.line_range, threshold=self._threshold,
            tier=model.tier, fix_diagnostics=self._request.diagnostics,
        )
        return Judgement(verdict.accepted, verdict.confidence, list(verdict.reasons), verdict)
