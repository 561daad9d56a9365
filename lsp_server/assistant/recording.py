"""One request's rows in the ledger: started once, each attempt as it happens, finished once.

Every path that answers a request (the cascade, a cancellation, an engine error, an index
answer) records through :class:`RequestRecorder`, and what the request cost, saved and avoided
comes from the one savings policy (:class:`~lsp_server.ledger.savings.SavingsPolicy`). The
request is attributed to the attempt whose answer was accepted, and to no model otherwise.
With ``ledger.store_prompts`` on, each attempt's prompt and answer are stored with it
(key-looking strings masked); with it off they are never passed to the ledger.

The rows (:class:`~lsp_server.ledger.spool.RowOp`: plain data, so a shared ledger that cannot be
reached can keep them in its spool) go through a
:class:`~lsp_server.ledger.writer.LedgerWriter`, which writes them in order on its own thread, each with the moment it was made: recording never waits for the
ledger. :meth:`RequestRecorder.settled` waits (without blocking the event loop) until the
request's rows are written, or kept because the ledger cannot take them now, and returns what
the user should be told about the ledger.

A row written again after a failed try (the database took it but the answer was lost) is not
duplicated: the start is skipped when the request is there, and each attempt carries its own
idempotency key. An attempt's record settles the team budget reservation its call made
(:mod:`lsp_server.ledger.team`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from lsp_server.ledger.savings import RequestCost, SavingsPolicy
from lsp_server.ledger.spool import RowOp
from lsp_server.ledger.team import reservation_key
from lsp_server.ledger.writer import LedgerWriter
from lsp_server.providers.base import Prompt, Usage
from lsp_server.routing.attempts import AttemptInfo


class RequestRecorder:
    """Records one request (see the module docstring)."""

    def __init__(self, writer: LedgerWriter, savings: SavingsPolicy, *, request_id: str,
                 kind: str, workspace: str, classification: str, reasons: Sequence[str],
                 variant: str | None = None, higher_tier: bool | None = None,
                 store_prompts: bool = False) -> None:
        self.request_id = request_id
        self._writer = writer
        self._savings = savings
        self._store_prompts = store_prompts
        self._attempts: list[AttemptInfo] = []
        self._estimates: list[Usage | None] = []
        now = datetime.now(UTC)
        reasons = tuple(reasons)

        start = RowOp("start", request_id, {
            "kind": kind, "workspace": workspace, "classification": classification,
            "reasons": list(reasons), "variant": variant, "higher_tier": higher_tier,
            "now": now.isoformat()})
        writer.submit(request_id, start, moment=now)

    def attempt(self, info: AttemptInfo, prompt: Prompt | None = None,
                answer: str | None = None, estimate: Usage | None = None,
                label: str | None = None) -> None:
        """Record one attempt: ``prompt`` and ``answer`` are what the model was sent and said;
        ``estimate`` is them in the premium model's tokens
        (:meth:`SavingsPolicy.premium_usage`), for the premium equivalent if it wins;
        ``label`` replaces the model's report label (a judge's call is shown apart)."""
        self._attempts.append(info)
        self._estimates.append(estimate)
        store = self._store_prompts
        text = prompt.text() if store and prompt is not None else None
        kept = answer if store else None
        now = datetime.now(UTC)
        row_key = uuid.uuid4().hex
        reservation = reservation_key(self.request_id, info.provider)

        usage = info.usage
        record = RowOp("attempt", self.request_id, {
            "provider": info.provider, "model": info.model, "tier": info.tier,
            "usage": [usage.input, usage.output, usage.cache_read, usage.cache_write],
            "cost_usd": info.cost_usd, "latency_ms": info.latency_ms,
            "confidence": info.confidence, "error_class": info.error,
            "reasons": list(info.reasons), "cost_status": info.cost_status, "prompt": text,
            "response": kept, "now": now.isoformat(), "row_key": row_key,
            "reservation": reservation, "first_token_ms": info.first_token_ms,
            "stopped": info.stopped,
            "tool_calls": [{"name": c.name, "args": c.args, "ok": c.ok} for c in info.tool_calls]})
        if label is not None:
            record.fields["label"] = label

        spent = info.cost_usd if info.cost_usd is not None and info.cost_status != "unknown" else 0.0
        self._writer.submit(self.request_id, record, cost_usd=spent, moment=now)

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

    async def settled(self) -> str | None:
        """Wait until this request's rows are written or kept (see the module docstring);
        what the user should be told about the ledger, once, else None."""
        await self._writer.settled(self.request_id)
        return self._writer.take_notice()

    def _close(self, outcome: str, cost: RequestCost, latency_ms: float,
               answered: tuple[str, str, str] | None = None) -> RequestCost:
        now = datetime.now(UTC)

        finish = RowOp("finish", self.request_id, {
            "outcome": outcome, "cost_usd": cost.cost_usd,
            "premium_cost_usd": cost.premium_cost_usd, "latency_ms": latency_ms,
            "answered_by": list(answered) if answered is not None else None,
            "now": now.isoformat()})

        self._writer.submit(self.request_id, finish, moment=now)
        return cost
