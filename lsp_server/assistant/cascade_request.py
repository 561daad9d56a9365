"""One request as the router's cascade sees it (:class:`~lsp_server.routing.router.Request`):
its prompt for each model, the verdict on each answer, each attempt recorded as it happens (with
its prompt and answer counted in the premium model's tokens, for the savings policy), the day's
spend for the budget, and progress for the user."""

from __future__ import annotations

from collections.abc import Callable

from lsp_server.assistant.contexts import RequestContexts
from lsp_server.assistant.judging import AnswerJudge
from lsp_server.assistant.parts import Parts
from lsp_server.assistant.prompts import build_prompt, is_cloud
from lsp_server.assistant.recording import RequestRecorder
from lsp_server.assistant.values import AssistRequest, Target
from lsp_server.config import ModelSettings
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Completion, Prompt
from lsp_server.routing.classifier import Classification
from lsp_server.routing.router import AttemptInfo, Judgement

Progress = Callable[[str], None]


class CascadeRequest:
    """See the module docstring."""

    def __init__(self, parts: Parts, request: AssistRequest, cls: Classification, target: Target,
                 contexts: RequestContexts, recorder: RequestRecorder, judge: AnswerJudge,
                 progress: Progress) -> None:
        self._privacy = parts.privacy
        self._ledger: Ledger = parts.ledger
        self._request = request
        self._cls = cls
        self._target = target
        self._contexts = contexts
        self._recorder = recorder
        self._judge = judge
        self._progress = progress
        self._savings = parts.savings
        self._prompt = ""  # the last prompt built, and the last answer judged
        self._answer: str | None = None

    async def prompt(self, model: ModelSettings, failure: str | None) -> Prompt:
        context = await self._contexts.aget(is_cloud(model))
        prompt = build_prompt(model, self._request, self._cls, self._target, context,
                              self._privacy.filter, failure)
        self._prompt, self._answer = prompt.text(), None
        return prompt

    async def judge(self, model: ModelSettings, text: str,
                    completion: Completion | None) -> Judgement:
        self._answer = text
        return await self._judge.judge(model, text, completion)

    def record(self, attempt: AttemptInfo) -> None:
        estimate = None
        if attempt.error is None and self._answer is not None:
            estimate = self._savings.premium_usage(self._prompt, self._answer)
        self._recorder.attempt(attempt, estimate)
        self._answer = None

    def spent_today(self) -> float:
        return self._ledger.spent_today()

    def progress(self, text: str) -> None:
        self._progress(text)
