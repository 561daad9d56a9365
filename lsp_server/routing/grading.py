"""The judge's call (``routing.judge_tier``): ask a model of the judge tier to grade an answer
that passed the cheap checks, through the same budget, cache, pricing and ledger as any call.

Who grades, the prompt's rules and how a verdict is read are decisions of
:mod:`~lsp_server.routing.judge`; this module only makes the call and records it (marked
``judge_of``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from lsp_server.config import ModelSettings, RoutingSettings, Tier
from lsp_server.providers.base import Usage
from lsp_server.routing.attempts import AttemptInfo, Judgement, Request, RoutePlan, RouteResult
from lsp_server.routing.cache import ResponseCache
from lsp_server.routing.calls import Calls, FallBackError, short
from lsp_server.routing.judge import Regraded, graded, judge_for, not_asked, parse_grade, ungraded
from lsp_server.routing.streaming import StreamedAnswer


class Grader:
    """Grades answers for one router (see the module docstring)."""

    def __init__(self, calls: Calls, models: Sequence[ModelSettings], routing: RoutingSettings,
                 cache: ResponseCache | None) -> None:
        self.calls = calls
        self.models = tuple(models)
        self.routing = routing
        self.cache = cache

    async def judged(self, model: ModelSettings, tier: Tier, text: str, judgement: Judgement,
                     info: AttemptInfo, plan: RoutePlan, request: Request,
                     result: RouteResult) -> Judgement:
        """``judgement`` after the judge tier graded the answer, when it applies (see
        :mod:`~lsp_server.routing.judge`). The answer's attempt is recorded with the final
        verdict, after the judge's call."""
        result.attempts.append(info)  # the request's spend includes it for the judge's budget
        try:
            verdict = await self._grade(model, tier, text, judgement, info, plan, request, result)
            info.accepted, info.confidence = verdict.accepted, verdict.confidence
            # What grading added; the attempt's own reasons (a cache hit's first) stay as they are.
            info.reasons = [*info.reasons, *verdict.reasons[len(judgement.reasons):]]
        except asyncio.CancelledError:
            info.accepted = False
            info.reasons.append("cancelled while the judge graded the answer")
            raise
        finally:
            request.record(info)
        return Judgement(verdict.accepted, verdict.confidence, list(verdict.reasons),
                         judgement.payload)

    async def _grade(self, model: ModelSettings, tier: Tier, text: str, judgement: Judgement,
                     info: AttemptInfo, plan: RoutePlan, request: Request,
                     result: RouteResult) -> Regraded:
        """Decide who grades the answer, then ask them: priced, budgeted, cached and recorded
        as an attempt like any call (marked ``judge_of``)."""
        health = self.calls.fleet.health
        chosen = judge_for(tier, self.routing.judge_tier, plan.tiers, plan.allowed, self.models,
                           health.available)
        prompt = (request.grading(chosen, model, text) if isinstance(chosen, ModelSettings)
                  else chosen)
        if chosen is None or prompt is None:
            return Regraded(judgement.accepted, judgement.confidence, list(judgement.reasons))
        if isinstance(prompt, str):
            return not_asked(judgement, prompt)
        assert isinstance(chosen, ModelSettings)
        threshold = plan.threshold if plan.threshold is not None else self.routing.escalate_below
        cached = (await asyncio.to_thread(self.cache.get, chosen, prompt)
                  if self.cache is not None else None)
        if cached is not None:
            grade = parse_grade(cached.text)
            self.calls.record(request, AttemptInfo(
                chosen.name, chosen.model, chosen.tier, None,
                [f"cache hit ({cached.age_seconds:.0f} s old, no call)",
                 f"verdict: {cached.text.strip()[:80]!r}"],
                Usage(), 0.0, 0.0, None, cached=True, answer_usage=cached.usage,
                judge_of=model.name), result)
            return graded(judgement, chosen, grade, threshold)
        check = await self.calls.admit(chosen, prompt, plan, request, result,
                                       unrecorded=info.cost_usd or 0.0)
        if not check.allowed:
            return not_asked(judgement, f"not graded: the budget does not allow the judge's call "
                                        f"({check.reason})")
        request.progress(f"asking {chosen.name} ({chosen.tier}) to grade the answer")
        stream = StreamedAnswer(chosen.name, chosen.tier, None, request.progress,
                                time.perf_counter())
        try:
            completion = await self.calls.stream(chosen, chosen.tier, prompt, stream, request,
                                                 result, judge_of=model.name)
        except FallBackError as exc:  # the judge failed: the answer is not graded
            failed = exc.__cause__ or exc
            return ungraded(judgement, f"judge {chosen.name} failed ({short(failed)})", threshold)
        if completion is None:
            self.calls.stopped(chosen, chosen.tier, prompt, stream, request, result,
                               judge_of=model.name)
            return ungraded(judgement, f"judge {chosen.name} stopped: {stream.stopped}", threshold)
        self.calls.record_tries(chosen, chosen.tier, completion.tries, request, result,
                                judge_of=model.name)
        health.success(chosen.name)
        usage, cost, status = self.calls.billing(chosen, completion.usage,
                                                 completion.usage_estimated)
        grade = parse_grade(completion.text)
        if self.cache is not None and grade.passed is not None:
            await asyncio.to_thread(
                self.cache.put, chosen, prompt, completion.text, completion.usage,
                completion.stop_reason, completion.raw_model or completion.model)
        self.calls.record(request, AttemptInfo(
            chosen.name, chosen.model, chosen.tier, None,
            [f"verdict: {completion.text.strip()[:80]!r}"], usage, cost,
            completion.latency_ms or (time.perf_counter() - stream.started) * 1000, None,
            cost_status=status, first_token_ms=stream.first_token_ms, judge_of=model.name),
                          result)
        return graded(judgement, chosen, grade, threshold)
