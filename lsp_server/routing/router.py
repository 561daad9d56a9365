"""The cascade: cheapest eligible tier first, verify, escalate while confidence is too low.

For each tier, from the classifier's starting tier upward, the router calls the tier's models in
their configured order. A completed answer is judged (the edits engine's verifier for edits, a
substance check for prose); at or above the threshold it is accepted, below it the router moves
to the next tier with the same context and the reason the last answer failed. A transport
failure (rate limit, server error, timeout, bad key) falls back to the next model of the same
tier, then the next tier; a model that keeps failing cools down. Before every paid call the
budget is checked; a blocked call is skipped and the cheaper tiers below the start are tried
instead. Repeats are answered from the response cache for $0. Every attempt is reported
through ``record`` as it happens, so a cancelled request still leaves its attempts in the ledger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lsp_server.config import ModelSettings, Settings, Tier
from lsp_server.errors import ProviderError, RateLimitedError
from lsp_server.providers.base import Completion, Prompt, Provider, Usage
from lsp_server.routing.budget import Budget
from lsp_server.routing.cache import ResponseCache
from lsp_server.routing.health import Health

log = logging.getLogger(__name__)


@dataclass
class AttemptInfo:
    """One model call (or cache hit) of a request, as reported to the user and the ledger."""

    provider: str  # the configured model's name
    model: str
    tier: str
    confidence: float | None
    reasons: list[str]
    usage: Usage
    cost_usd: float | None
    latency_ms: float
    error: str | None
    cached: bool = False
    accepted: bool = False
    premium_cost_usd: float | None = None  # what the premium model would charge for this usage


@dataclass
class Judgement:
    """The verdict on one answer: accepted or not, with measured confidence and reasons."""

    accepted: bool
    confidence: float | None
    reasons: list[str]
    payload: Any = None  # the edits engine's Verdict, or the prose answer


@dataclass
class Candidate:
    model: ModelSettings
    provider: Provider | None  # None until first use (created by ``connect``)


@dataclass
class RoutePlan:
    """Where the cascade starts and what it may use."""

    start: Tier
    tiers: tuple[Tier, ...]  # the tier order, cheapest first
    allowed: frozenset[Tier]  # privacy may narrow this to {"local"}
    output_tokens: int  # expected output, for the budget estimate


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


# A prompt, or an awaitable of one when it needs work that must not run on the event loop.
PromptFor = Callable[[ModelSettings, str | None], Prompt | Awaitable[Prompt]]
Judge = Callable[[ModelSettings, str, Completion | None], Awaitable[Judgement]]
Record = Callable[[AttemptInfo], None]
Connect = Callable[[ModelSettings], Provider]
CostFn = Callable[[ModelSettings, Usage], float | None]


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


class Router:
    """Runs the cascade over the configured models (see the module docstring)."""

    def __init__(
        self,
        models: Sequence[ModelSettings],
        *,
        settings: Settings,
        connect: Connect,
        cost: CostFn,
        premium_cost: Callable[[Usage], float | None],
        health: Health,
        cache: ResponseCache | None,
        count_tokens: Callable[[str], int],
    ) -> None:
        self.models = tuple(models)
        self.settings = settings
        self.connect = connect
        self.cost = cost
        self.premium_cost = premium_cost
        self.health = health
        self.cache = cache
        self.count_tokens = count_tokens
        self.budget = Budget(settings.budget)

    def models_in(self, tier: Tier) -> list[ModelSettings]:
        return [m for m in self.models if m.tier == tier]

    def estimate(self, model: ModelSettings, prompt: Prompt, output_tokens: int) -> float | None:
        out = min(output_tokens, prompt.max_output_tokens or model.max_output_tokens)
        return self.cost(model, Usage(input=self.count_tokens(prompt.text()), output=out))

    async def run(
        self,
        plan: RoutePlan,
        *,
        prompt_for: PromptFor,
        judge: Judge,
        record: Record,
        spent_today: Callable[[], float],
        progress: Callable[[str], None] | None = None,
    ) -> RouteResult:
        result = RouteResult()
        up, down = tier_sequence(plan)
        if not up and not down:
            result.notes.append("no tier is allowed for this request")
            return result
        failure: str | None = None
        max_calls = self.settings.routing.max_attempts
        calls = 0
        noted: set[str] = set()

        def note(text: str) -> None:
            if text not in noted:
                noted.add(text)
                result.notes.append(text)

        for phase, tiers in (("up", up), ("down", down)):
            if phase == "down":
                if result.completed or not tiers:
                    break
                if up:
                    note(f"no answer from the {'/'.join(up)} tier(s); trying cheaper tiers: "
                         f"{', '.join(tiers)}")
            for tier in tiers:
                models = self.models_in(tier)
                if not models:
                    continue
                judged_in_tier = False
                last: Judgement | None = None
                for model in models:
                    if calls >= max_calls:
                        note(f"stopped after {max_calls} attempts (routing.max_attempts)")
                        return result
                    if not self.health.available(model.name):
                        note(self.health.describe(model.name) + "; skipped")
                        continue
                    made = prompt_for(model, failure)
                    prompt = made if isinstance(made, Prompt) else await made
                    cached = self.cache.get(model, prompt) if self.cache is not None else None
                    if cached is not None:
                        judgement = await judge(model, cached.text, None)
                        info = AttemptInfo(
                            provider=model.name, model=model.model, tier=tier,
                            confidence=judgement.confidence,
                            reasons=[f"cache hit ({cached.age_seconds:.0f} s old, no call)",
                                     *judgement.reasons],
                            usage=Usage(), cost_usd=0.0, latency_ms=0.0, error=None, cached=True,
                            accepted=judgement.accepted,
                            premium_cost_usd=self.premium_cost(cached.usage),
                        )
                        result.completed += 1
                        result.attempts.append(info)
                        record(info)
                        if self._settle(result, judgement, info, model):
                            return result
                        failure = "; ".join(judgement.reasons) or "low confidence"
                        judged_in_tier, last = True, judgement
                        break
                    estimate = self.estimate(model, prompt, plan.output_tokens)
                    check = self.budget.check(spent_today=spent_today(),
                                              spent_request=result.cost_usd, estimate=estimate)
                    if not check.allowed:
                        result.budget_blocked = True
                        note(check.reason or "budget reached")
                        continue
                    if check.reason:
                        note(check.reason)
                    if progress is not None:
                        progress(f"asking {model.name} ({tier})")
                    calls += 1
                    start = time.perf_counter()
                    try:
                        provider = self.connect(model)
                        completion = await provider.generate(prompt)
                    except asyncio.CancelledError:
                        info = AttemptInfo(model.name, model.model, tier, None, ["cancelled"],
                                           Usage(), None, (time.perf_counter() - start) * 1000,
                                           "cancelled")
                        result.attempts.append(info)
                        record(info)
                        raise
                    except Exception as exc:  # any failure of one model falls back to the next
                        if not isinstance(exc, ProviderError):
                            log.exception("%s failed unexpectedly", model.name)
                        retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
                        cooling = self.health.failure(model.name, type(exc).__name__,
                                                      retry_after=retry_after)
                        info = AttemptInfo(model.name, model.model, tier, None,
                                           ["transport failure: falling back"], Usage(), 0.0,
                                           (time.perf_counter() - start) * 1000, _error_text(exc))
                        result.attempts.append(info)
                        record(info)
                        note(f"{model.name} failed ({_short(exc)}); falling back"
                             + (" and cooling it down" if cooling else ""))
                        continue
                    self.health.success(model.name)
                    latency = (time.perf_counter() - start) * 1000
                    if self.cache is not None:
                        self.cache.put(model, prompt, completion.text, completion.usage,
                                       completion.stop_reason, completion.raw_model or completion.model)
                    if progress is not None:
                        progress(f"checking the answer from {model.name}")
                    try:
                        judgement = await judge(model, completion.text, completion)
                    except asyncio.CancelledError:
                        info = AttemptInfo(model.name, model.model, tier, None, ["cancelled"],
                                           completion.usage, self.cost(model, completion.usage),
                                           completion.latency_ms or latency, "cancelled")
                        result.attempts.append(info)
                        record(info)
                        raise
                    info = AttemptInfo(
                        provider=model.name, model=model.model, tier=tier,
                        confidence=judgement.confidence, reasons=list(judgement.reasons),
                        usage=completion.usage, cost_usd=self.cost(model, completion.usage),
                        latency_ms=completion.latency_ms or latency, error=None,
                        accepted=judgement.accepted,
                        premium_cost_usd=self.premium_cost(completion.usage),
                    )
                    result.completed += 1
                    result.attempts.append(info)
                    record(info)
                    if self._settle(result, judgement, info, model):
                        return result
                    failure = "; ".join(judgement.reasons) or "low confidence"
                    judged_in_tier, last = True, judgement
                    break
                if judged_in_tier and tier != tiers[-1]:
                    note(f"escalated from the {tier} tier: confidence {_conf(last)} below "
                         f"the threshold ({failure})")
        return result

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
