"""What the cascade works with and reports: an attempt, a verdict, a plan, a request's result,
and the two protocols the router sees the world through (:class:`Models`, :class:`Request`).

Kept apart from :mod:`~lsp_server.routing.router` so that the router, the call-and-record helpers
(:mod:`~lsp_server.routing.calls`) and the judge's call (:mod:`~lsp_server.routing.grading`) share
them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from lsp_server.config import ModelSettings, Tier
from lsp_server.providers.base import Completion, Prompt, Provider, Usage
from lsp_server.routing.early_stop import Expect
from lsp_server.routing.health import Health
from lsp_server.routing.tool_loop import ToolCallInfo, ToolRunner

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
