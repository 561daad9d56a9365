"""One request's rows in the ledger: started once, each attempt as it happens, finished once.

Every path that answers a request (the cascade, a cancellation, an engine error, an index
answer) records through :class:`RequestRecorder`, and what the request cost, saved and avoided
comes from the one savings policy (:class:`~lsp_server.ledger.savings.SavingsPolicy`). The
request is attributed to the attempt whose answer was accepted, and to no model otherwise.
With ``ledger.store_prompts`` on, each attempt's prompt and answer are stored with it
(key-looking strings masked); with it off they are never passed to the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsp_server.ledger.savings import RequestCost, SavingsPolicy
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Prompt, Usage
from lsp_server.routing.router import AttemptInfo


class RequestRecorder:
    """Records one request (see the module docstring)."""

    def __init__(self, ledger: Ledger, savings: SavingsPolicy, *, request_id: str, kind: str,
                 workspace: str, classification: str, reasons: Sequence[str],
                 variant: str | None = None, higher_tier: bool | None = None) -> None:
        self.request_id = request_id
        self._ledger = ledger
        self._savings = savings
        self._attempts: list[AttemptInfo] = []
        self._estimates: list[Usage | None] = []
        ledger.start_request(kind=kind, workspace=workspace, classification=classification,
                             reasons=reasons, variant=variant, request_id=request_id,
                             higher_tier=higher_tier)

    def attempt(self, info: AttemptInfo, prompt: Prompt | None = None,
                answer: str | None = None, estimate: Usage | None = None) -> None:
        """Record one attempt: ``prompt`` and ``answer`` are what the model was sent and said;
        ``estimate`` is them in the premium model's tokens
        (:meth:`SavingsPolicy.premium_usage`), for the premium equivalent if it wins."""
        self._attempts.append(info)
        self._estimates.append(estimate)
        store = self._ledger.settings.ledger.store_prompts
        self._ledger.record_attempt(
            self.request_id, provider=info.provider, model=info.model, tier=info.tier,
            usage=info.usage, cost_usd=info.cost_usd, latency_ms=info.latency_ms,
            confidence=info.confidence, error_class=info.error, reasons=info.reasons,
            cost_status=info.cost_status,
            prompt=prompt.text() if store and prompt is not None else None,
            response=answer if store else None,
        )

    def finish(self, outcome: str, winner: AttemptInfo | None, latency_ms: float) -> RequestCost:
        """Close a request the cascade ran to its end."""
        estimate = next((e for a, e in zip(self._attempts, self._estimates, strict=True)
                         if a is winner), None)
        cost = self._savings.request(self._attempts, winner, estimate)
        answered = None if winner is None else (winner.provider, winner.model, winner.tier)
        return self._close(outcome, cost, latency_ms, answered)

    def abandon(self, outcome: str, latency_ms: float) -> RequestCost:
        """Close a request that was cancelled or failed in the engine."""
        return self._close(outcome, self._savings.unfinished(self._attempts), latency_ms)

    def answered_by_index(self, replaced: Usage, latency_ms: float) -> RequestCost:
        """Close a request the index answered, with the premium call it avoided."""
        return self._close("index", self._savings.index_answer(replaced), latency_ms)

    def _close(self, outcome: str, cost: RequestCost, latency_ms: float,
               answered: tuple[str, str, str] | None = None) -> RequestCost:
        self._ledger.finish_request(self.request_id, outcome=outcome, cost_usd=cost.cost_usd,
                                    premium_cost_usd=cost.premium_cost_usd, latency_ms=latency_ms,
                                    answered_by=answered)
        return cost
