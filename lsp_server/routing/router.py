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

Every attempt is recorded with what it is billed for, and how that is known (``cost_status``):

* an answer: the vendor's usage, ``measured``; ``estimated`` when the vendor reported none;
* a try the provider retried: an attempt of its own, recorded before the call's final attempt,
  with its error, latency and billing (one row per vendor request, as on the invoice);
* a failure: what the vendor reported for it (``measured``, or ``estimated`` when a stream broke
  before the final count); a refusal the vendor does not bill (a 4xx without usage, a
  connection never made, no API key) is ``measured`` at $0; any other failure (5xx, timeout,
  a connection broken mid-answer, a malformed body) is ``unknown`` with cost None, never $0
  (the rules are in :mod:`lsp_server.errors`);
* a cancelled call: ``unknown``, cost None (the call returns nothing to price before it ends);
  cancelled while its answer was judged, the answer's usage and cost;
* an answer the router stopped itself (early stop, or past the tier's latency budget):
  ``estimated``, from the prompt sent and the text streamed so far (the vendor reports usage
  only at the end of a stream, and the stream was closed before it).

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
It sees the request through the narrow :class:`Request` protocol and the models through
:class:`Models`, so the cascade reads in one function, :meth:`Router.run`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from lsp_server.config import ModelSettings, RoutingSettings, Tier
from lsp_server.context.tokens import count_tokens
from lsp_server.errors import ProviderError, RateLimitedError
from lsp_server.providers.base import Completion, Prompt, Provider, Usage
from lsp_server.routing.budget import Budget, BudgetCheck
from lsp_server.routing.cache import CachedResponse, ResponseCache
from lsp_server.routing.early_stop import Expect, Monitor
from lsp_server.routing.health import Health
from lsp_server.routing.judge import Regraded, graded, judge_for, not_asked, parse_grade, ungraded
from lsp_server.routing.streaming import StreamedAnswer, consume
from lsp_server.routing.tool_loop import (
    ToolCallInfo,
    ToolRunner,
    ToolSession,
    carry_text,
    offered_format,
)

log = logging.getLogger(__name__)

# How an attempt's tokens (and so its cost) are known: from the vendor's usage report, from an
# estimate (the vendor reported none), or not at all (a timeout whose billing is unknown).
CostStatus = Literal["measured", "estimated", "unknown"]



@dataclass
class AttemptInfo:
    """One model call (or cache hit) of a request, as reported to the user and the ledger."""

    provider: str  # the configured model's name
    model: str
    tier: str
    confidence: float | None
    reasons: list[str]
    usage: Usage  # tokens billed for this attempt (none for a cache hit)
    cost_usd: float | None
    latency_ms: float
    error: str | None
    cached: bool = False
    accepted: bool = False
    answer_usage: Usage | None = None  # a cache hit's: the tokens of the call that made it
    cost_status: CostStatus = "measured"
    first_token_ms: float | None = None  # when the first streamed text arrived
    stopped: str | None = None  # why the router stopped the answer before its end
    partial: str | None = None  # a stopped answer's text up to the stop
    tool_calls: list[ToolCallInfo] = field(default_factory=list)  # a tool turn's calls
    judge_of: str | None = None  # a judge call (routing.judge_tier): the model it graded


@dataclass
class Judgement:
    """The verdict on one answer: accepted or not, with measured confidence and reasons."""

    accepted: bool
    confidence: float | None
    reasons: list[str]
    payload: Any = None  # the edits engine's Verdict, or the prose answer


@dataclass
class RoutePlan:
    """Where the cascade starts and what it may use."""

    start: Tier
    tiers: tuple[Tier, ...]  # the tier order, cheapest first
    allowed: frozenset[Tier]  # privacy may narrow this to {"local"}
    output_tokens: int  # expected output, for the budget estimate
    threshold: float | None = None  # the request's confidence threshold (None: escalate_below)


@dataclass
class RouteResult:
    attempts: list[AttemptInfo] = field(default_factory=list)
    judgement: Judgement | None = None  # the accepted one, if any
    best: Judgement | None = None  # the highest-confidence one, accepted or not
    winner: AttemptInfo | None = None
    winner_model: ModelSettings | None = None
    notes: list[str] = field(default_factory=list)
    completed: int = 0  # answers judged (model calls or cache hits)
    budget_blocked: bool = False
    found: list[str] = field(default_factory=list)  # what tool calls found, for later tiers

    @property
    def outcome(self) -> str:
        if self.judgement is not None:
            return "cache_hit" if self.winner is not None and self.winner.cached else "accepted"
        return "rejected" if self.completed else "failed"

    @property
    def cost_usd(self) -> float:
        return sum(a.cost_usd or 0.0 for a in self.attempts)

    @property
    def unpriced(self) -> int:
        return sum(1 for a in self.attempts if a.cost_usd is None and a.error is None)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


class Models(Protocol):
    """The models side the cascade calls: clients, prices and health."""

    health: Health

    def provider(self, model: ModelSettings) -> Provider:
        """The client for ``model`` (created on first use)."""

    def cost(self, model: ModelSettings, usage: Usage) -> float | None:
        """USD for ``usage`` on ``model``; None when unpriced."""


class Request(Protocol):
    """The request side: what the cascade asks of the request it runs for."""

    async def prompt(self, model: ModelSettings, failure: str | None) -> Prompt:
        """The prompt for ``model``; ``failure`` says why the last answer was not accepted."""

    async def judge(self, model: ModelSettings, text: str,
                    completion: Completion | None) -> Judgement:
        """Judge an answer (``completion`` None for a cached one)."""

    def record(self, attempt: AttemptInfo) -> None:
        """Called once per attempt as it happens (a cancelled request keeps its attempts)."""

    def spent_today(self) -> float:
        """USD spent today, for the daily budget."""

    def progress(self, text: str) -> None:
        """Tell the user what is happening."""

    def expect(self, model: ModelSettings) -> Expect | None:
        """What an acceptable answer from ``model`` looks like while it streams (None: no
        early stop)."""

    def tools(self, model: ModelSettings) -> ToolRunner | None:
        """The tools ``model`` may call (None: none; see :mod:`~lsp_server.routing.tool_loop`)."""

    def grading(self, judge: ModelSettings, answered: ModelSettings,
                text: str) -> Prompt | str | None:
        """The prompt asking ``judge`` to grade ``answered``'s answer ``text``; a sentence saying why the
        judge may not see it; or None when this request's answers are not graded (an edit).
        Asked only with ``routing.judge_tier`` set (see :mod:`~lsp_server.routing.judge`)."""


def tier_sequence(plan: RoutePlan) -> tuple[list[Tier], list[Tier]]:
    """The tiers to try: from the start upward, then (only if nothing above answered) the
    cheaper ones below the start, nearest first. Both lists keep only allowed tiers."""
    order = list(plan.tiers)
    start = order.index(plan.start) if plan.start in order else 0
    up = [t for t in order[start:] if t in plan.allowed]
    down = [t for t in reversed(order[:start]) if t in plan.allowed]
    return up, down


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class _FallBackError(Exception):
    """A model could not be called or did not answer; the cascade falls back."""


class Router:
    """Runs the cascade over the configured models (see the module docstring)."""

    def __init__(self, models: Sequence[ModelSettings], *, routing: RoutingSettings,
                 budget: Budget, fleet: Models, cache: ResponseCache | None) -> None:
        self.models = tuple(models)
        self.routing = routing
        self.budget = budget
        self.fleet = fleet
        self.cache = cache

    def models_in(self, tier: Tier) -> list[ModelSettings]:
        return [m for m in self.models if m.tier == tier]

    def estimate(self, model: ModelSettings, prompt: Prompt, output_tokens: int) -> float | None:
        out = min(output_tokens, prompt.max_output_tokens or model.max_output_tokens)
        return self.fleet.cost(model, Usage(input=count_tokens(prompt.billed_text()), output=out))

    async def run(self, plan: RoutePlan, request: Request) -> RouteResult:
        """Try tiers in order until an answer is accepted (see the module docstring)."""
        result = RouteResult()
        up, down = tier_sequence(plan)
        if not up and not down:
            result.note("no tier is allowed for this request")
            return result
        failure: str | None = None
        calls = 0
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
                    if calls >= self.routing.max_attempts:
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
                        check = await self._budget(model, prompt, plan, request, result)
                        if not check.allowed:
                            continue
                        calls += 1
                    try:
                        if cached is not None:
                            judgement, info = await self._replay(model, tier, cached, request,
                                                                 result, plan)
                        else:
                            judgement, info = await self._call(model, tier, prompt, request,
                                                               result, plan)
                    except _FallBackError:
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

    async def _budget(self, model: ModelSettings, prompt: Prompt, plan: RoutePlan, request: Request,
                result: RouteResult, unrecorded: float = 0.0) -> BudgetCheck:
        """Whether a paid call may go ahead; a refusal or a warning becomes a note.
        ``unrecorded``: USD of this request's attempts not handed to the ledger yet."""
        estimate = self.estimate(model, prompt, plan.output_tokens)
        check = await self.budget.admit(call=model.name,
                                        spent_today=request.spent_today() + unrecorded,
                                  spent_request=result.cost_usd, estimate=estimate)
        if not check.allowed:
            result.budget_blocked = True
        if check.reason:
            result.note(check.reason)
        return check

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
        if judgement.accepted and self.routing.judge_tier is not None:
            return await self._judged(model, tier, cached.text, judgement, info, plan, request,
                                      result), info
        self._attempt(request, info, result)
        return judgement, info

    async def _call(self, model: ModelSettings, tier: Tier, prompt: Prompt, request: Request,
                    result: RouteResult, plan: RoutePlan) -> tuple[Judgement, AttemptInfo]:
        """Stream ``model``'s answer (through the tool loop when the request has tools) and
        judge it; a failure is recorded and raises :class:`_FallBackError`; an answer stopped
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
                completion = await self._stream_call(model, tier, sent, stream, request, result)
                if completion is None:
                    return self._stopped(model, tier, sent, stream, request, result)
                self._record_tries(model, tier, completion.tries, request, result)
                self.fleet.health.success(model.name)
                latency = completion.latency_ms or (time.perf_counter() - start) * 1000
                usage, cost, status = self._billing(model, completion.usage,
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
                    self._attempt(request, AttemptInfo(
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
                    self._attempt(request, info, result)
                    return Judgement(False, 0.0, [f"tool loop stopped: {turn[2]}"],
                                     completion.text), info
                self._attempt(request, info, result)
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
            self._attempt(request, AttemptInfo(
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
        if judgement.accepted and self.routing.judge_tier is not None:
            return await self._judged(model, tier, completion.text, judgement, info, plan,
                                      request, result), info
        self._attempt(request, info, result)
        return judgement, info

    async def _judged(self, model: ModelSettings, tier: Tier, text: str, judgement: Judgement,
                      info: AttemptInfo, plan: RoutePlan, request: Request,
                      result: RouteResult) -> Judgement:
        """``judgement`` after the judge tier graded the answer, when it applies (see
        :mod:`~lsp_server.routing.judge`). The answer's attempt is recorded with the final
        verdict, after the judge's call."""
        result.attempts.append(info)  # the request's spend includes it for the judge's budget
        try:
            verdict = await self._grade(model, tier, text, judgement, info, plan, request, result)
            info.accepted, info.confidence = verdict.accepted, verdict.confidence
            info.reasons = [*verdict.reasons, *info.reasons[len(judgement.reasons):]]
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
        chosen = judge_for(tier, self.routing.judge_tier, plan.tiers, plan.allowed, self.models,
                           self.fleet.health.available)
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
            self._attempt(request, AttemptInfo(
                chosen.name, chosen.model, chosen.tier, None,
                [f"cache hit ({cached.age_seconds:.0f} s old, no call)",
                 f"verdict: {cached.text.strip()[:80]!r}"],
                Usage(), 0.0, 0.0, None, cached=True, answer_usage=cached.usage,
                judge_of=model.name), result)
            return graded(judgement, chosen, grade, threshold)
        check = await self._budget(chosen, prompt, plan, request, result,
                                   unrecorded=info.cost_usd or 0.0)
        if not check.allowed:
            return not_asked(judgement, f"not graded: the budget does not allow the judge's call "
                                        f"({check.reason})")
        request.progress(f"asking {chosen.name} ({chosen.tier}) to grade the answer")
        stream = StreamedAnswer(chosen.name, chosen.tier, None, request.progress,
                                time.perf_counter())
        try:
            completion = await self._stream_call(chosen, chosen.tier, prompt, stream, request,
                                                 result, judge_of=model.name)
        except _FallBackError as exc:  # the judge failed: the answer is not graded
            failed = exc.__cause__ or exc
            return ungraded(judgement, f"judge {chosen.name} failed ({_short(failed)})", threshold)
        if completion is None:
            self._stopped(chosen, chosen.tier, prompt, stream, request, result, judge_of=model.name)
            return ungraded(judgement, f"judge {chosen.name} stopped: {stream.stopped}", threshold)
        self._record_tries(chosen, chosen.tier, completion.tries, request, result,
                           judge_of=model.name)
        self.fleet.health.success(chosen.name)
        usage, cost, status = self._billing(chosen, completion.usage, completion.usage_estimated)
        grade = parse_grade(completion.text)
        if self.cache is not None and grade.passed is not None:
            await asyncio.to_thread(
                self.cache.put, chosen, prompt, completion.text, completion.usage,
                completion.stop_reason, completion.raw_model or completion.model)
        self._attempt(request, AttemptInfo(
            chosen.name, chosen.model, chosen.tier, None,
            [f"verdict: {completion.text.strip()[:80]!r}"], usage, cost,
            completion.latency_ms or (time.perf_counter() - stream.started) * 1000, None,
            cost_status=status, first_token_ms=stream.first_token_ms, judge_of=model.name),
            result)
        return graded(judgement, chosen, grade, threshold)

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

    async def _stream_call(self, model: ModelSettings, tier: Tier, prompt: Prompt,
                           stream: StreamedAnswer, request: Request, result: RouteResult,
                           judge_of: str | None = None) -> Completion | None:
        """:func:`~lsp_server.routing.streaming.consume`, with a cancelled or failed call
        recorded (a failure raises :class:`_FallBackError`)."""
        try:
            return await consume(self.fleet.provider(model), model, tier, prompt, stream,
                                 self.routing)
        except asyncio.CancelledError:
            self._attempt(request, AttemptInfo(
                model.name, model.model, tier, None, ["cancelled"], Usage(), None,
                (time.perf_counter() - stream.started) * 1000, "cancelled",
                cost_status="unknown", first_token_ms=stream.first_token_ms,
                judge_of=judge_of), result)
            raise
        except Exception as exc:  # any failure of one model falls back to the next
            self._failed(model, tier, exc, (time.perf_counter() - stream.started) * 1000,
                         request, result, judge_of)
            raise _FallBackError from exc

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
            check = await self._budget(model, following, plan, request, result)
            if not check.allowed:
                stop = check.reason or "the budget does not allow another turn"
        if stop is not None:
            request.progress(f"stopped {model.name}'s tool loop: {stop}")
        return following, infos, stop

    def _stopped(self, model: ModelSettings, tier: Tier, prompt: Prompt, stream: StreamedAnswer,
                 request: Request, result: RouteResult,
                 judge_of: str | None = None) -> tuple[Judgement, AttemptInfo]:
        """Record an answer the router stopped, billed from the server's count so far when it
        sent one mid-stream, else estimated from what was sent and streamed, and reject it so
        the cascade escalates."""
        reason = stream.stopped or "stopped"
        measured = stream.usage is not None
        usage = stream.usage or Usage(input=count_tokens(prompt.billed_text()), output=stream.tokens)
        cost = self.fleet.cost(model, usage)
        latency = (time.perf_counter() - stream.started) * 1000
        judgement = Judgement(False, 0.0, [f"stopped early: {reason}"], stream.text)
        info = AttemptInfo(
            provider=model.name, model=model.model, tier=tier, confidence=0.0,
            reasons=list(judgement.reasons), usage=usage, cost_usd=cost, latency_ms=latency,
            error=None, cost_status="measured" if measured else "estimated",
            first_token_ms=stream.first_token_ms, stopped=reason, partial=stream.text,
            judge_of=judge_of)
        request.progress(f"stopped {model.name} ({tier}) after {stream.tokens} tokens: {reason}")
        self._attempt(request, info, result)
        return judgement, info

    def _failed(self, model: ModelSettings, tier: Tier, exc: Exception, elapsed_ms: float,
                request: Request, result: RouteResult, judge_of: str | None = None) -> None:
        """Record a failed call (its retried tries first) and cool the model down if needed."""
        if not isinstance(exc, ProviderError):
            log.exception("%s failed unexpectedly", model.name)
        failed = exc if isinstance(exc, ProviderError) else ProviderError(str(exc))
        self._record_tries(model, tier, failed.tries, request, result, judge_of=judge_of)
        self._attempt(request, self._failure(model, tier, failed, "transport failure",
                                             elapsed_ms, _error_text(exc), judge_of), result)
        retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
        cooling = self.fleet.health.failure(model.name, type(exc).__name__,
                                            retry_after=retry_after)
        # The next model, if there is one, says itself that it is asked: "falling back" here
        # would promise a fallback that a one-model setup does not have.
        result.note(f"{model.name} failed ({_short(exc)})"
                    + ("; it cools down before it is tried again" if cooling else ""))

    def _billing(self, model: ModelSettings, usage: Usage | None,
                 estimated: bool) -> tuple[Usage, float | None, CostStatus]:
        """The usage, cost and cost status to record for what a call is billed for (``usage``
        None: unknown, so no cost at all rather than $0)."""
        if usage is None:
            return Usage(), None, "unknown"
        return usage, self.fleet.cost(model, usage), "estimated" if estimated else "measured"

    def _record_tries(self, model: ModelSettings, tier: Tier, tries: Sequence[ProviderError],
                      request: Request, result: RouteResult, judge_of: str | None = None) -> None:
        """Record each failed try the provider retried, as an attempt of its own."""
        for failed in tries:
            self._attempt(request, self._failure(model, tier, failed, "failed try: retried by the "
                                                 "provider", 0.0, _error_text(failed), judge_of),
                          result)

    def _failure(self, model: ModelSettings, tier: Tier, failed: ProviderError, reason: str,
                 elapsed_ms: float, error: str, judge_of: str | None = None) -> AttemptInfo:
        """The attempt for one failed try, with what it is billed for and its own latency."""
        usage, cost, status = self._billing(model, failed.usage, failed.usage_estimated)
        return AttemptInfo(model.name, model.model, tier, None, [reason], usage, cost,
                           failed.latency_ms or elapsed_ms, error, cost_status=status,
                           judge_of=judge_of)

    @staticmethod
    def _attempt(request: Request, info: AttemptInfo, result: RouteResult) -> None:
        result.attempts.append(info)
        request.record(info)

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


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _conf(judgement: Judgement | None) -> str:
    if judgement is None or judgement.confidence is None:
        return "?"
    return f"{judgement.confidence:.2f}"
