"""One request as the router's cascade sees it (:class:`~lsp_server.routing.attempts.Request`):
its prompt for each model, the verdict on each answer, each attempt recorded as it happens, the
day's spend for the budget, and progress for the user.

The router asks for a model's prompt, then (when an answer came) for its verdict, then records
the attempt; each model is tried at most once per request (a provider's failed tries are
recorded first, before the model's answer). So the prompt and answer of an attempt are the
last ones seen for its model, and go to the recorder with it, counted in the premium model's
tokens for the savings policy when the attempt answered."""

from __future__ import annotations

from collections.abc import Callable

from lsp_server.assistant.contexts import RequestContexts, local_prefix
from lsp_server.assistant.judging import AnswerJudge
from lsp_server.assistant.parts import Parts
from lsp_server.assistant.prompts import build_prompt, is_cloud, selection_text
from lsp_server.assistant.recording import RequestRecorder
from lsp_server.assistant.values import AssistRequest, Target
from lsp_server.config import ModelSettings, PromptStyle
from lsp_server.ledger.labels import provider_label
from lsp_server.ledger.writer import LedgerWriter
from lsp_server.providers.base import Completion, Prompt
from lsp_server.routing.attempts import AttemptInfo, Judgement
from lsp_server.routing.classifier import Classification
from lsp_server.routing.early_stop import Expect, expected_language
from lsp_server.routing.judge import grading_instruction, grading_prompt
from lsp_server.routing.tool_loop import ToolRunner

Progress = Callable[[str], None]


class CascadeRequest:
    """See the module docstring."""

    def __init__(self, parts: Parts, request: AssistRequest, cls: Classification, target: Target,
                 contexts: RequestContexts, recorder: RequestRecorder, judge: AnswerJudge,
                 progress: Progress, style: PromptStyle | None = None) -> None:
        self._privacy = parts.privacy
        self._project = parts.project
        self._writer: LedgerWriter = parts.ledger_writer
        self._request = request
        self._cls = cls
        self._target = target
        self._contexts = contexts
        self._recorder = recorder
        self._judge = judge
        self._progress = progress
        self._style = style
        self._savings = parts.savings
        self._parts = parts
        self._prompts: dict[str, Prompt] = {}  # by model name: the last prompt and answer
        self._answers: dict[str, str] = {}
        self._gradings: dict[str, Prompt] = {}  # by judge model name: its last grading prompt

    async def prompt(self, model: ModelSettings, failure: str | None) -> Prompt:
        context = await self._contexts.aget(is_cloud(model))
        built = build_prompt(model, self._request, self._cls, self._target, context,
                             self._privacy.filter, failure, self._style)
        self._prompts[model.name] = built
        if not is_cloud(model):
            # What the local server's prefix cache will hold for the next request's sizing.
            self._project.sent_locally(local_prefix(built.system, context))
        return built

    async def judge(self, model: ModelSettings, text: str,
                    completion: Completion | None) -> Judgement:
        self._answers[model.name] = text
        return await self._judge.judge(model, text, completion)

    def record(self, attempt: AttemptInfo) -> None:
        if attempt.judge_of is not None:
            # A judge's call: its grading prompt, no premium estimate (it never answers), and
            # a report label of its own so `metrics` shows what grading cost.
            judge = self._parts.settings.model_named(attempt.provider)
            label = f"{provider_label(judge) if judge is not None else attempt.provider} (judge)"
            self._recorder.attempt(attempt, self._gradings.get(attempt.provider), None, None,
                                   label=label)
            return
        prompt = self._prompts.get(attempt.provider)
        # A stopped answer was never judged: what it wrote before the stop is its answer.
        answer = attempt.partial if attempt.stopped is not None else self._answers.get(
            attempt.provider)
        estimate = None
        if attempt.error is None and prompt is not None and answer is not None:
            estimate = self._savings.premium_usage(prompt.text(), answer)
        self._recorder.attempt(attempt, prompt, answer, estimate)

    def spent_today(self) -> float:
        return self._writer.spent_today()

    def progress(self, text: str) -> None:
        self._progress(text)

    def expect(self, model: ModelSettings) -> Expect:
        """An edit must open with the model's edit format; prose must stay on the question;
        code blocks must be in the target's language."""
        language = None
        if self._target.rel is not None:
            from lsp_server.context.index.languages import language_for  # loads the grammars

            spec = language_for(self._target.rel)
            language = expected_language(spec.name) if spec is not None else None
        if self._cls.mode == "edit":
            return Expect(mode="edit", edit_format=model.effective_edit_format,
                          language=language, question=self._request.instruction)
        return Expect(mode="answer", language=language, question=self._request.instruction)

    def grading(self, judge: ModelSettings, answered: ModelSettings,
                text: str) -> Prompt | str | None:
        """The judge's prompt for a prose answer (None for an edit: the verifier measures
        those); for a cloud judge, redacted like any cloud prompt, and refused when a local
        answer drew on files the privacy settings keep from cloud models."""
        if self._cls.mode == "edit":
            return None
        question = self._request.instruction
        selection = selection_text(self._target.text, self._request.line_range)
        if is_cloud(judge):
            if not is_cloud(answered):
                local = self._contexts.peek(False)
                kept = [] if local is None else self._privacy.filter.excluded(
                    f.path for f in local.files if f.in_context)
                if kept:
                    return (f"not graded: the answer drew on {', '.join(kept[:3])}, which the "
                            "privacy settings keep from cloud models such as the judge")
            name = self._target.rel or "context.txt"
            question = self._privacy.filter.redact(question, name)[0]
            text = self._privacy.filter.redact(text, name)[0]
            if selection is not None:
                selection = self._privacy.filter.redact(selection, name)[0]
        where = None
        if self._target.rel is not None:
            lines = self._request.line_range
            where = self._target.rel + (f" lines {lines[0]}-{lines[1]}" if lines else "")
        prompt = grading_prompt(grading_instruction(question, text, target=where,
                                                    selection=selection), judge)
        self._gradings[judge.name] = prompt
        return prompt

    def tools(self, model: ModelSettings) -> ToolRunner | None:
        """The index's tools, with the privacy rules of ``model``'s audience (None: the request
        offers none)."""
        if not self._request.tools:
            return None
        from lsp_server.assistant.tools import IndexTools, Toolbox, context_search

        cloud = is_cloud(model)
        project, settings, privacy = self._parts.project, self._parts.settings, self._privacy

        def make() -> Toolbox:
            index = project.index()
            return Toolbox(index, privacy.filter, cloud=cloud,
                           search=context_search(index, settings, cloud=cloud))

        return IndexTools(make)
