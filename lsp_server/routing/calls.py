"""One model call of the cascade, billed and recorded: the budget check before it, the streamed
call, and the attempt it leaves in the ledger however it ends (answered, stopped, failed,
cancelled). The router and the judge's call (:mod:`~lsp_server.routing.grading`) both call
through :class:`Calls`.

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
  ``measured`` from the server's count so far when the server sends one with every chunk
  (llama.cpp's server on a local tier, see :mod:`~lsp_server.providers.openai_compat`), else
  ``estimated`` from the prompt sent and the text streamed so far (a cloud vendor reports usage
  only at the end of a stream, and the stream was closed before it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from lsp_server.config import ModelSettings, RoutingSettings, Tier
from lsp_server.context.tokens import count_tokens
from lsp_server.errors import ProviderError, RateLimitedError
from lsp_server.providers.base import Completion, Prompt, Usage
from lsp_server.routing.attempts import (
    AttemptInfo,
    CostStatus,
    Judgement,
    Models,
    Request,
    RoutePlan,
    RouteResult,
)
from lsp_server.routing.budget import Budget, BudgetCheck
from lsp_server.routing.streaming import StreamedAnswer, consume

log = logging.getLogger(__name__)


class FallBackError(Exception):
    """A model could not be called or did not answer (already recorded); the cascade falls back."""


class Calls:
    """Makes and records the calls of one router: its models, routing settings and budget."""

    def __init__(self, fleet: Models, routing: RoutingSettings, budget: Budget) -> None:
        self.fleet = fleet
        self.routing = routing
        self.budget = budget

    def estimate(self, model: ModelSettings, prompt: Prompt, output_tokens: int) -> float | None:
        out = min(output_tokens, prompt.max_output_tokens or model.max_output_tokens)
        return self.fleet.cost(model, Usage(input=count_tokens(prompt.billed_text()), output=out))

    async def admit(self, model: ModelSettings, prompt: Prompt, plan: RoutePlan, request: Request,
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

    async def stream(self, model: ModelSettings, tier: Tier, prompt: Prompt,
                     stream: StreamedAnswer, request: Request, result: RouteResult,
                     judge_of: str | None = None) -> Completion | None:
        """:func:`~lsp_server.routing.streaming.consume`, with a cancelled or failed call
        recorded (a failure raises :class:`FallBackError`)."""
        try:
            return await consume(self.fleet.provider(model), model, tier, prompt, stream,
                                 self.routing)
        except asyncio.CancelledError:
            self.record(request, AttemptInfo(
                model.name, model.model, tier, None, ["cancelled"], Usage(), None,
                (time.perf_counter() - stream.started) * 1000, "cancelled",
                cost_status="unknown", first_token_ms=stream.first_token_ms,
                judge_of=judge_of), result)
            raise
        except Exception as exc:  # any failure of one model falls back to the next
            self.failed(model, tier, exc, (time.perf_counter() - stream.started) * 1000,
                        request, result, judge_of)
            raise FallBackError from exc

    def stopped(self, model: ModelSettings, tier: Tier, prompt: Prompt, stream: StreamedAnswer,
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
        self.record(request, info, result)
        return judgement, info

    def failed(self, model: ModelSettings, tier: Tier, exc: Exception, elapsed_ms: float,
               request: Request, result: RouteResult, judge_of: str | None = None) -> None:
        """Record a failed call (its retried tries first) and cool the model down if needed."""
        if not isinstance(exc, ProviderError):
            log.exception("%s failed unexpectedly", model.name)
        failed = exc if isinstance(exc, ProviderError) else ProviderError(str(exc))
        self.record_tries(model, tier, failed.tries, request, result, judge_of=judge_of)
        self.record(request, self.failure(model, tier, failed, "transport failure", elapsed_ms,
                                          _error_text(exc), judge_of), result)
        retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
        cooling = self.fleet.health.failure(model.name, type(exc).__name__,
                                            retry_after=retry_after)
        # The next model, if there is one, says itself that it is asked: "falling back" here
        # would promise a fallback that a one-model setup does not have.
        result.note(f"{model.name} failed ({short(exc)})"
                    + ("; it cools down before it is tried again" if cooling else ""))

    def billing(self, model: ModelSettings, usage: Usage | None,
                estimated: bool) -> tuple[Usage, float | None, CostStatus]:
        """The usage, cost and cost status to record for what a call is billed for (``usage``
        None: unknown, so no cost at all rather than $0)."""
        if usage is None:
            return Usage(), None, "unknown"
        return usage, self.fleet.cost(model, usage), "estimated" if estimated else "measured"

    def record_tries(self, model: ModelSettings, tier: Tier, tries: Sequence[ProviderError],
                     request: Request, result: RouteResult, judge_of: str | None = None) -> None:
        """Record each failed try the provider retried, as an attempt of its own."""
        for failed in tries:
            self.record(request, self.failure(model, tier, failed, "failed try: retried by the "
                                              "provider", 0.0, _error_text(failed), judge_of),
                        result)

    def failure(self, model: ModelSettings, tier: Tier, failed: ProviderError, reason: str,
                elapsed_ms: float, error: str, judge_of: str | None = None) -> AttemptInfo:
        """The attempt for one failed try, with what it is billed for and its own latency."""
        usage, cost, status = self.billing(model, failed.usage, failed.usage_estimated)
        return AttemptInfo(model.name, model.model, tier, None, [reason], usage, cost,
                           failed.latency_ms or elapsed_ms, error, cost_status=status,
                           judge_of=judge_of)

    @staticmethod
    def record(request: Request, info: AttemptInfo, result: RouteResult) -> None:
        """Report one attempt to the request (the ledger) and keep it in the result."""
        result.attempts.append(info)
        request.record(info)


def short(exc: BaseException, limit: int = 200) -> str:
    """The first line of an error, at most ``limit`` characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
