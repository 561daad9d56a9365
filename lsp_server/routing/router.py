"""The cascade: cheapest eligible tier first, verify, escalate while confidence is too low.

For each tier, from the classifier's starting tier upward, the router calls the tier's models in
their configured order. A completed answer is judged (the edits engine's verifier for edits, a
substance check for prose); at or above the threshold it is accepted, below it the router moves
to the next tier with the same context and the reason the last answer failed. A transport
failure (rate limit, server error, timeout, bad key) falls back to the next model of the same
tier, then the next tier; a model that keeps failing cools down. Before every paid call the
budget is checked; a blocked call is skipped and the cheaper tiers below the start are tried
instead. Repeats are answered from the response cache for $0. Every attempt is reported
through ``Request.record`` as it happens, so a cancelled request still leaves its attempts in
the ledger.

Every attempt is recorded with what it is billed for, and how that is known (see
:mod:`~lsp_server.routing.calls`).

Every call streams (:meth:`Provider.stream`). While the answer arrives the router reports the
tier and the tokens so far (at most every :data:`~lsp_server.routing.streaming.PROGRESS_EVERY_S`), feeds each delta to the
request's :class:`~lsp_server.routing.early_stop.Monitor` (:meth:`Request.expect`), and holds
the tier's latency budget (``routing.first_token_timeout_s``, ``routing.tier_timeout_s``). A
stopped answer is a rejected one: recorded with its reason, and the cascade escalates to the
next tier at once. Cancelling the request closes the stream.

With ``routing.judge_tier`` set, an answer that passed the cheap checks from a tier below it is
graded by a model of the judge tier before it is accepted (:mod:`~lsp_server.routing.judge`);
the judge's call is an attempt like any other (budget, cache, pricing, ledger), marked
``judge_of``, and does not count against ``routing.max_attempts``.

The router decides and calls; it does not build prompts, judge answers or write the ledger.
It sees the request through the narrow :class:`~lsp_server.routing.attempts.Request` protocol
and the models through :class:`~lsp_server.routing.attempts.Models`, makes each call through
:class:`~lsp_server.routing.calls.Calls` and each judge's call through
:class:`~lsp_server.routing.grading.Grader`, so the cascade reads in one function,
:meth:`Router.run`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from lsp_server.config import ModelSettings, RoutingSettings, Tier
from lsp_server.context.tokens import count_tokens
from lsp_server.providers.base import Completion, Prompt, Usage
from lsp_server.routing.attempts import (
    AttemptInfo,
    Judgement,
    Models,
    Request,
    RoutePlan,
    RouteResult,
)
from lsp_server.routing.budget import Budget
from lsp_server.routing.cache import CachedResponse, ResponseCache
from lsp_server.routing.calls import Calls, FallBackError
from lsp_server.routing.early_stop import Monitor
from lsp_server.routing.grading import Grader
from lsp_server.routing.streaming import StreamedAnswer
from lsp_server.routing.tool_loop import ToolCallInfo, ToolSession, carry_text, offered_format


def tier_sequence(plan: RoutePlan) -> tuple[list[Tier], list[Tier]]:
    """The tiers to try: from the start upward, then (only if nothing above answered) the
    cheaper ones below the start, nearest first. Both lists keep only allowed tiers."""
    order = list(plan.tiers)
    start = order.index(plan.start) if plan.start in order else 0
    up = [t for t in order[start:] if t in plan.allowed]
    down = [t for t in reversed(order[:start]) if t in plan.allowed]
    return up, down


class Router:
    """Runs the cascade over the configured models (see the module docstring)."""

    def __init__(self, models: Sequence[ModelSettings], *, routing: RoutingSettings,
                 budget: Budget, fleet: Models, cache: ResponseCache | None) -> None:
        self.models = tuple(models)
        self.routing = routing
        self.fleet = fleet
        self.cache = cache
        self.calls = Calls(fleet, routing, budget)
        self.grader = Grader(self.calls, models, routing, cache)

    def models_in(self, tier: Tier) -> list[ModelSettings]:
        return [m for m in self.models if m.tier == tier]

    def estimate(self, model: ModelSettings, prompt: Prompt, output_tokens: int) -> float | None:
        return self.calls.estimate(model, prompt, output_tokens)

    async def run(self, plan: RoutePlan, request: Request) -> RouteResult:
        """Try tiers in order until an answer is accepted (see the module docstring)."""
        result = RouteResult()
        up, down = tier_sequence(plan)
        if not up and not down:
            result.note("no tier is allowed for this request")
            return result
        failure: str | None = None
        made = 0  # for routing.max_attempts: a tool loop is one attempt; cache hits and judges are none
        for phase, tiers in (("up", up), ("down", down)):
            if phase == "down":
                if result.completed or not tiers:
                    break
                if up:
                    result.note(f"no answer from the {'/'.join(up)} tier(s); trying cheaper "
                                f"tiers: {', '.join(tiers)}")
            for tier in tiers:
                judged: Judgement | None = None
                for model in self.models_in(tier):
                    if made >= self.routing.max_attempts:
                        result.note(f"stopped after {self.routing.max_attempts} attempts "
                                    "(routing.max_attempts)")
                        return result
                    if not self.fleet.health.available(model.name):
                        result.note(self.fleet.health.describe(model.name) + "; skipped")
                        continue
                    prompt = await request.prompt(model, failure)
                    # A lookup is a disk read, or a query over the network for a team's
                    # shared cache: off the event loop, as every ledger access is.
                    cached = (await asyncio.to_thread(self.cache.get, model, prompt)
                              if self.cache is not None else None)
                    if cached is None:
                        check = await self.calls.admit(model, prompt, plan, request, result)
                        if not check.allowed:
                            continue
                        made += 1
                    try:
                        if cached is not None:
                            judgement, info = await self._replay(model, tier, cached, request,
                                                                 result, plan)
                        else:
                            judgement, info = await self._call(model, tier, prompt, request,
                                                               result, plan)
                    except FallBackError:
                        continue
                    result.completed += 1
                    if self._settle(result, judgement, info, model):
                        return result
                    failure = "; ".join(judgement.reasons) or "low confidence"
                    judged = judgement
                    break  # one judged answer per tier, then escalate
                if judged is not None and tier != tiers[-1]:
                    result.note(f"escalated from the {tier} tier: confidence {_conf(judged)} "
                                f"below the threshold ({failure})")
        return result

    async def _replay(self, model: ModelSettings, tier: Tier, cached: CachedResponse,
                      request: Request, result: RouteResult,
                      plan: RoutePlan) -> tuple[Judgement, AttemptInfo]:
        """Judge a cached answer: no call, $0."""
        judgement = await request.judge(model, cached.text, None)
        info = AttemptInfo(
            provider=model.name, model=model.model, tier=tier, confidence=judgement.confidence,
            reasons=[f"cache hit ({cached.age_seconds:.0f} s old, no call)", *judgement.reasons],
            usage=Usage(), cost_usd=0.0, latency_ms=0.0, error=None, cached=True,
            accepted=judgement.accepted, answer_usage=cached.usage,
        )
        return await self._conclude(model, tier, cached.text, judgement, info, plan, request,
                                    result)

    async def _call(self, model: ModelSettings, tier: Tier, prompt: Prompt, request: Request,
                    result: RouteResult, plan: RoutePlan) -> tuple[Judgement, AttemptInfo]:
        """Stream ``model``'s answer (through the tool loop when the request has tools) and
        judge it; a failure is recorded and raises :class:`FallBackError`; an answer stopped
        early, or a tool loop stopped at a bound, is a rejected judgement."""
        request.progress(f"asking {model.name} ({tier})")
        session = await self._session(model, request, result)
        sent = session.prompt(prompt) if session is not None else prompt
        try:
            while True:
                start = time.perf_counter()
                # While tools are offered a tool call is a valid start of the reply.
                expect = request.expect(model)
                if expect is not None and session is not None:
                    expect = session.expect(expect)
                stream = StreamedAnswer(model.name, tier,
                                        Monitor(expect) if expect is not None else None,
                                        request.progress, start)
                completion = await self.calls.stream(model, tier, sent, stream, request, result)
                if completion is None:
                    return self.calls.stopped(model, tier, sent, stream, request, result)
                self.calls.record_tries(model, tier, completion.tries, request, result)
                self.fleet.health.success(model.name)
                latency = completion.latency_ms or (time.perf_counter() - start) * 1000
                usage, cost, status = self.calls.billing(model, completion.usage,
                                                         completion.usage_estimated)
                calls = session.calls_in(completion) if session is not None else ()
                if session is None or not calls:
                    break
                session.spent(usage.input or count_tokens(sent.billed_text()),
                              usage.output or count_tokens(completion.text))
                try:
                    turn = await self._tool_turn(model, prompt, completion, session, request,
                                                 result, plan)
                except asyncio.CancelledError:  # the turn's request was made: it is billed
                    self.calls.record(request, AttemptInfo(
                        model.name, model.model, tier, None,
                        [f"tool turn {len(session.turns) + 1}", "cancelled"], usage, cost,
                        latency, "cancelled", cost_status=status,
                        first_token_ms=stream.first_token_ms), result)
                    raise
                info = AttemptInfo(
                    provider=model.name, model=model.model, tier=tier, confidence=None,
                    reasons=[f"tool turn {len(session.turns)}"], usage=usage, cost_usd=cost,
                    latency_ms=latency, error=None, cost_status=status,
                    first_token_ms=stream.first_token_ms, tool_calls=turn[1], stopped=turn[2])
                if turn[2] is not None:
                    info.confidence = 0.0
                    info.reasons.append(f"tool loop stopped: {turn[2]}")
                    self.calls.record(request, info, result)
                    return Judgement(False, 0.0, [f"tool loop stopped: {turn[2]}"],
                                     completion.text), info
                self.calls.record(request, info, result)
                sent = turn[0]
        finally:
            if session is not None:
                result.found.extend(f for f in session.found if f not in result.found)
        if self.cache is not None:
            # Stored under the request's own prompt, so a repeat is answered without the loop.
            await asyncio.to_thread(
                self.cache.put, model, prompt, completion.text, completion.usage,
                completion.stop_reason, completion.raw_model or completion.model)
        request.progress(f"checking the answer from {model.name}")
        try:
            judgement = await request.judge(model, completion.text, completion)
        except asyncio.CancelledError:
            self.calls.record(request, AttemptInfo(
                model.name, model.model, tier, None, ["cancelled"], usage, cost,
                latency, "cancelled", cost_status=status,
                first_token_ms=stream.first_token_ms), result)
            raise
        reasons = list(judgement.reasons)
        if session is not None and session.turns:
            reasons.append(f"answered after {len(session.turns)} tool turn(s)")
        info = AttemptInfo(
            provider=model.name, model=model.model, tier=tier, confidence=judgement.confidence,
            reasons=reasons, usage=usage, cost_usd=cost,
            latency_ms=latency, error=None, accepted=judgement.accepted, cost_status=status,
            first_token_ms=stream.first_token_ms,
        )
        return await self._conclude(model, tier, completion.text, judgement, info, plan, request,
                                    result)

    async def _conclude(self, model: ModelSettings, tier: Tier, text: str, judgement: Judgement,
                        info: AttemptInfo, plan: RoutePlan, request: Request,
                        result: RouteResult) -> tuple[Judgement, AttemptInfo]:
        """Record the answer's attempt, after the judge tier graded it when one is set."""
        if judgement.accepted and self.routing.judge_tier is not None:
            return await self.grader.judged(model, tier, text, judgement, info, plan, request,
                                            result), info
        self.calls.record(request, info, result)
        return judgement, info

    async def _session(self, model: ModelSettings, request: Request,
                       result: RouteResult) -> ToolSession | None:
        """The tool loop of this attempt (None: tools are off or the request has none)."""
        if self.routing.max_tool_turns <= 0:
            return None
        runner = request.tools(model)
        if runner is None:
            return None
        form = offered_format(model.tool_format, await self.fleet.provider(model).tool_format())
        if form is None:
            return None
        return ToolSession(runner, self.routing.max_tool_turns, self.routing.max_attempt_tokens,
                           format=form, carry=carry_text(result.found))

    async def _tool_turn(self, model: ModelSettings, prompt: Prompt, completion: Completion,
                         session: ToolSession, request: Request, result: RouteResult,
                         plan: RoutePlan) -> tuple[Prompt, list[ToolCallInfo], str | None]:
        """Answer one turn's tool calls; the next prompt, the calls, and why the loop stops
        (None: it goes on). The bounds are checked before the next call is made."""
        calls = session.calls_in(completion)
        infos, stop = await session.answer(completion.text, calls, request.progress)
        following = session.prompt(prompt)
        if stop is None:
            output = min(plan.output_tokens, prompt.max_output_tokens or model.max_output_tokens)
            stop = session.admit(following, output)
        if stop is None:
            check = await self.calls.admit(model, following, plan, request, result)
            if not check.allowed:
                stop = check.reason or "the budget does not allow another turn"
        if stop is not None:
            request.progress(f"stopped {model.name}'s tool loop: {stop}")
        return following, infos, stop

    @staticmethod
    def _settle(result: RouteResult, judgement: Judgement, info: AttemptInfo,
                model: ModelSettings) -> bool:
        if result.best is None or (judgement.confidence or 0.0) > (result.best.confidence or 0.0):
            result.best = judgement
        if judgement.accepted:
            result.judgement = judgement
            result.winner = info
            result.winner_model = model
            return True
        return False


def _conf(judgement: Judgement | None) -> str:
    if judgement is None or judgement.confidence is None:
        return "?"
    return f"{judgement.confidence:.2f}"
