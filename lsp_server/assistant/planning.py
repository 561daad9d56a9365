"""Before any call: an action's starting tier and cost for its title (instant), and the
``--dry-run`` plan of a request (the tier and why, the context, the cost on every tier)."""

from __future__ import annotations

from pathlib import Path

from lsp_server.assistant.classify import first_look, with_index
from lsp_server.assistant.contexts import RequestContexts
from lsp_server.assistant.parts import ENABLE_HINT, NO_MODEL, Parts
from lsp_server.assistant.prompts import build_prompt, is_cloud
from lsp_server.assistant.targets import resolve_target
from lsp_server.assistant.values import (
    AssistRequest,
    Estimate,
    Plan,
    PlanBudget,
    PlanContext,
    PlanTier,
)
from lsp_server.config import ModelSettings, Tier
from lsp_server.context.tokens import count_tokens
from lsp_server.providers.base import Usage
from lsp_server.routing.classifier import Signals, classify
from lsp_server.routing.kinds import TaskKind, profile


def estimate(parts: Parts, kind: TaskKind, path: Path | None,
             line_range: tuple[int, int] | None) -> Estimate:
    """The starting tier and a rough cost, instantly (no I/O, no model): for action titles."""
    settings = parts.settings
    rel: str | None = None
    if path is not None:
        try:
            rel = path.relative_to(parts.root).as_posix() if path.is_absolute() else path.as_posix()
        except ValueError:
            rel = None
    lines = None if line_range is None else max(1, line_range[1] - line_range[0] + 1)
    cls = classify(Signals(kind=kind, instruction="", has_path=path is not None,
                           target_lines=lines), settings.routing.tier_order)
    reasons = list(cls.reasons)
    if cls.tier is None:
        return Estimate("index", None, 0.0, reasons)
    allowed = parts.privacy.allowed_tiers(rel)
    known = parts.models.known_models()
    model = parts.models.first_model(known, cls.tier, allowed)
    if model is None:
        return Estimate(cls.tier, None, None, [*reasons, _missing_reason(parts, known)],
                        missing=_missing(parts, known, allowed))
    if model.tier != cls.tier:
        reasons.append(f"no usable {cls.tier} model: {model.name} on the {model.tier} tier")
    tokens_in = 400 + int(settings.context.budget_tokens * 0.75) + 12 * (lines or 20)
    cost = parts.models.quick_cost(model, tokens_in, profile(cls.kind).output_tokens)
    return Estimate(model.tier, model.name, cost, reasons)


def _missing(parts: Parts, known: tuple[ModelSettings, ...], allowed: frozenset[Tier]) -> str:
    """What a title says instead of a tier and cost when no model can start the action."""
    if not known:
        return "looking for models…" if parts.models.discovery_pending() else NO_MODEL
    tiers = "/".join(t for t in parts.settings.routing.tier_order if t in allowed)
    return f"no {tiers} model for this file" if tiers else "no tier allowed for this file"


def _missing_reason(parts: Parts, known: tuple[ModelSettings, ...]) -> str:
    if not known and not parts.models.discovery_pending():
        return ENABLE_HINT
    return "no model configured for this tier yet"


async def plan(parts: Parts, request: AssistRequest) -> Plan:
    """The ``--dry-run`` view: the tier and why, the context, the cost on each tier. No call."""
    settings = parts.settings
    target = resolve_target(parts.root, parts.documents, request)
    first = first_look(request, target.rel, settings)
    if first.search is not None:
        return Plan(mode="search", tier=None, model=None, reasons=list(first.reasons),
                    search=first.search.describe())
    project = parts.project
    contexts = RequestContexts(project, request, target,
                               await project.semantic(request.instruction))
    local_ctx = await contexts.aget(False)
    project.built()
    cls = with_index(request, target.rel, settings, project)
    assert cls.tier is not None
    allowed = parts.privacy.allowed_tiers(target.rel, paid=request.paid_tiers)
    notes = [r for r in (parts.privacy.local_only(target.rel),) if r]
    models = parts.models.models()
    if not models:
        notes.append(ENABLE_HINT)
    chosen = parts.models.first_model(models, cls.tier, allowed)
    out_tokens = profile(cls.kind).output_tokens
    tiers: list[PlanTier] = []
    for tier in settings.routing.tier_order:
        for model in [m for m in models if m.tier == tier]:
            context = await contexts.aget(is_cloud(model))
            prompt = build_prompt(model, request, cls, target, context, parts.privacy.filter,
                                  None)
            usage = Usage(input=count_tokens(prompt.text()),
                          output=min(out_tokens, model.max_output_tokens))
            tiers.append(PlanTier(
                tier=tier, model=model.name, provider=model.provider, input_tokens=usage.input,
                output_tokens=usage.output, cost_usd=parts.models.cost(model, usage),
                allowed=tier in allowed, cooling_down=not parts.models.health.available(model.name),
            ))
    cloud_ctx = contexts.peek(True)
    premium_usage = Usage(input=count_tokens(local_ctx.text) + 400, output=out_tokens)
    return Plan(
        mode=cls.mode, kind=cls.kind, tier=chosen.tier if chosen else cls.tier,
        model=chosen.name if chosen else None, reasons=list(cls.reasons), score=cls.score,
        threshold=settings.routing.escalate_below,
        context=PlanContext(
            files=[f.path for f in local_ctx.files if f.in_context], tokens=local_ctx.tokens,
            budget=local_ctx.budget,
            cloud_tokens=cloud_ctx.tokens if cloud_ctx is not None else None,
            excluded=cloud_ctx.excluded if cloud_ctx is not None else [],
            redactions=cloud_ctx.redactions if cloud_ctx is not None else 0,
        ),
        tiers=tiers,
        premium_cost_usd=parts.models.cost(parts.models.premium_model(), premium_usage),
        budget=PlanBudget(daily_usd=settings.budget.daily_usd,
                          spent_today_usd=parts.ledger_writer.spent_today(),
                          per_request_usd=settings.budget.per_request_usd),
        notes=notes,
    )
