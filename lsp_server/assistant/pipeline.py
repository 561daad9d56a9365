"""One request, left to right: classify → context → route → finish.

1. **Classify** from the request alone; a question the index can answer ("where is X
   defined") is answered there, with no model (:mod:`~lsp_server.assistant.index_answers`).
2. **Context**: open the index (off the event loop), classify again with what it knows about
   the symbol being changed, and build the context for the audience of the first model to be
   tried (local, or cloud: privacy-filtered and redacted). Another audience's context is built
   only if the cascade reaches a model that needs it.
3. **Route**: the router's cascade, told about this request through a
   :class:`~lsp_server.assistant.cascade_request.CascadeRequest` (prompts, judging, recording,
   budget and progress), with the ledger recording each attempt as it happens.
4. **Finish**: the accepted edits or answer, the notes, and what the request cost and would
   have cost on the premium model (from the one savings policy), recorded and returned.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence

from lsp_server.assistant.cascade_request import CascadeRequest, Progress
from lsp_server.assistant.classify import first_look, with_index
from lsp_server.assistant.contexts import LocalSizing, RequestContexts
from lsp_server.assistant.index_answers import answer_from_index
from lsp_server.assistant.judging import AnswerJudge
from lsp_server.assistant.local_budget import estimate_speed
from lsp_server.assistant.parts import ENABLE_HINT, Parts
from lsp_server.assistant.prompts import fixed_prompt_tokens, is_cloud
from lsp_server.assistant.recording import RequestRecorder
from lsp_server.assistant.targets import require_editable, resolve_target
from lsp_server.assistant.values import AssistRequest, AssistResult, Target
from lsp_server.config import ModelSettings, Settings, Tier, VariantSettings
from lsp_server.edits import FileChange, unified_diff
from lsp_server.errors import ConfigError, LedgerError, NoModelAvailableError
from lsp_server.ledger.variants import assign_variant
from lsp_server.routing.attempts import RoutePlan, RouteResult
from lsp_server.routing.budget import Budget
from lsp_server.routing.classifier import Classification
from lsp_server.routing.kinds import is_task_kind, profile
from lsp_server.routing.router import Router

log = logging.getLogger(__name__)


async def run(parts: Parts, request: AssistRequest, progress: Progress | None = None) -> AssistResult:
    """Answer or edit. Cancelling records ``cancelled`` and re-raises CancelledError."""
    check_request(request)
    t0 = time.perf_counter()
    settings = parts.settings
    timings = {"classify_ms": 0.0, "context_ms": 0.0, "verify_ms": 0.0}
    target = resolve_target(parts.root, parts.documents, request)
    first = first_look(request, target.rel, settings)
    timings["classify_ms"] += (time.perf_counter() - t0) * 1000
    if first.search is not None:
        answered, recorder = await asyncio.to_thread(answer_from_index, parts, request, first, t0)
        return await _settled(answered, recorder)
    if first.mode == "edit":
        require_editable(parts.root, parts.documents, target)
    models = parts.models.models()
    if not models:
        raise NoModelAvailableError(ENABLE_HINT)
    allowed = parts.privacy.allowed_tiers(target.rel, paid=request.paid_tiers)
    if not request.paid_tiers and not any(m.tier in allowed for m in models):
        # Nothing to try without paying: no call, and no ledger row for a request never run.
        raise NoModelAvailableError("no local model, and this request may not use paid tiers")
    tell = progress or _silent
    tell("building context")
    semantic = await parts.project.semantic(request.instruction)
    t1 = time.perf_counter()
    # The index opens (and on first use is built) in a thread: the editor is answered meanwhile.
    cls = await asyncio.to_thread(_classify_with_index, parts, request, target, settings)
    assert cls.tier is not None
    # The local model's measured speed is a ledger query (over the network for a team's).
    sizing = await asyncio.to_thread(_local_sizing, parts, models, allowed, request, cls, target)
    t2 = time.perf_counter()
    contexts = RequestContexts(parts.project, request, target, semantic, sizing)
    first_model = parts.models.first_model(models, cls.tier, allowed)
    await contexts.aget(first_model is not None and is_cloud(first_model))
    parts.project.built()
    timings["classify_ms"] += (t2 - t1) * 1000
    timings["context_ms"] += (time.perf_counter() - t2) * 1000

    request_id = uuid.uuid4().hex[:16]
    threshold, variant = variant_threshold(request_id, settings)
    recorder = RequestRecorder(parts.ledger_writer, parts.savings, request_id=request_id,
                               kind=request.kind, workspace=str(parts.root),
                               classification=cls.label(), reasons=cls.reasons,
                               variant=variant.name if variant is not None else None,
                               higher_tier=parts.models.has_tier_above(models, cls.tier, allowed),
                               store_prompts=settings.ledger.store_prompts)
    judge = AnswerJudge(root=parts.root, documents=parts.documents, settings=settings,
                        edit=cls.mode == "edit", request=request, target=target,
                        threshold=threshold, timings=timings)
    this_run = CascadeRequest(parts, request, cls, target, contexts, recorder, judge, tell,
                              variant.prompt_style if variant is not None else None)
    # The router prices calls on the event loop: the snapshot's first load happens here instead.
    await asyncio.to_thread(parts.models.prices.preload)
    team = parts.ledger_writer.team_limit(request_id, settings.budget.team_daily_usd)
    router = Router(models, routing=settings.routing, budget=Budget(settings.budget, team),
                    fleet=parts.models, cache=parts.cache)
    plan = RoutePlan(start=cls.tier, tiers=tuple(settings.routing.tier_order), allowed=allowed,
                     output_tokens=profile(cls.kind).output_tokens, threshold=threshold)
    try:
        routed = await router.run(plan, this_run)
    except BaseException as exc:
        # Cancelled, or an engine error: the request still gets an outcome and its spend.
        outcome = "cancelled" if isinstance(exc, asyncio.CancelledError) else "failed"
        recorder.abandon(outcome, (time.perf_counter() - t0) * 1000)
        raise
    local_reason = parts.privacy.local_only(target.rel)
    result = _finish(request, cls, target, routed, recorder, t0,
                     [local_reason] if local_reason else [], contexts)
    result.timings = timings
    return await _settled(result, recorder)


async def _settled(result: AssistResult, recorder: RequestRecorder) -> AssistResult:
    """The result once its ledger rows are written or kept, with what the user should be
    told about the ledger (once) among its notes."""
    notice = await recorder.settled()
    if notice:
        result.notes.append(f"ledger: {notice}")
    return result


def check_request(request: AssistRequest) -> None:
    if not is_task_kind(request.kind):
        raise ConfigError(f"unknown task kind {request.kind!r}")
    if not request.instruction.strip():
        raise ConfigError("the instruction is empty")


def variant_threshold(request_id: str,
                      settings: Settings) -> tuple[float, VariantSettings | None]:
    """The confidence threshold for this request, and its A/B variant if any."""
    variant = assign_variant(request_id, settings.variants)
    threshold = settings.routing.escalate_below
    if variant is not None and variant.escalate_below is not None:
        threshold = variant.escalate_below
    return threshold, variant


def _classify_with_index(parts: Parts, request: AssistRequest, target: Target,
                         settings: Settings) -> Classification:
    parts.project.index()
    return with_index(request, target.rel, settings, parts.project)


def _local_sizing(parts: Parts, models: Sequence[ModelSettings], allowed: frozenset[Tier],
                  request: AssistRequest, cls: Classification,
                  target: Target) -> LocalSizing | None:
    """How to size the local context (:mod:`~lsp_server.assistant.local_budget`) for the
    first local model the cascade may try, from its latest calls in the ledger; None without
    one. A ledger that cannot be read leaves the speed unmeasured (the default)."""
    local = next((m for m in models if not is_cloud(m) and m.tier in allowed), None)
    if local is None:
        return None
    settings = parts.settings
    try:
        speed = estimate_speed(parts.ledger.call_speeds(local.name))
    except LedgerError as exc:
        log.warning("local model speed unknown (%s); sizing its context by the default", exc)
        speed = None
    return LocalSizing(
        speed=speed, first_token_s=settings.routing.first_token_timeout_s.get(local.tier),
        ceiling=settings.context.budget_tokens,
        fixed_tokens=fixed_prompt_tokens(local, request, cls, target, parts.privacy.filter))


def _silent(text: str) -> None:
    return None


def _finish(request: AssistRequest, cls: Classification, target: Target, routed: RouteResult,
            recorder: RequestRecorder, t0: float, notes: list[str],
            contexts: RequestContexts) -> AssistResult:
    notes = [*notes, *routed.notes]
    changes: list[FileChange] = []
    diff = ""
    answer: str | None = None
    judgement = routed.judgement
    if judgement is not None:
        if cls.mode == "edit":
            changes = list(judgement.payload.changes)
            diff = unified_diff(changes)
        else:
            answer = str(judgement.payload)
    elif routed.best is not None:
        notes.append(
            f"no answer reached the confidence threshold (best {routed.best.confidence or 0:.2f}): "
            + "; ".join(routed.best.reasons))
    elif not routed.attempts:
        notes.append("no model could be called for this request")
    cloud_ctx = contexts.peek(True)
    if cloud_ctx is not None and cloud_ctx.redactions and any(
            a.tier != "local" for a in routed.attempts):
        notes.append(f"{cloud_ctx.redactions} secret(s) redacted before the cloud call")
    winner = routed.winner
    elapsed = (time.perf_counter() - t0) * 1000
    cost = recorder.finish(routed.outcome, winner, elapsed)
    confidence = winner.confidence if winner else (routed.best.confidence if routed.best else None)
    return AssistResult(
        request_id=recorder.request_id, kind=request.kind, answer=answer, changes=changes,
        diff=diff, attempts=routed.attempts, cost_usd=cost.cost_usd,
        premium_cost_usd=cost.premium_cost_usd, elapsed_ms=elapsed,
        tier=winner.tier if winner else None, model=winner.model if winner else None,
        confidence=confidence, notes=notes, outcome=routed.outcome,
        document_version=target.version,
    )
