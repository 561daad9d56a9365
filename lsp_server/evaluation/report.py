"""The evaluation's figures: per tier (from each model call) and overall (from each task).

Per tier: the calls made on it (and the tool calls those made), the answers it had accepted, how many of those solved their
task (by the hidden check) and how many were wrong yet accepted, what its calls cost, their
latency and time to first token. Overall: tasks solved, wrong answers accepted, the cost, the
cost had the premium model answered everything (the savings policy's estimate per request),
and each task's latency and first-token time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsp_server.evaluation.runner import TaskResult


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by nearest rank, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _latency(values: Sequence[float]) -> dict[str, float | None]:
    return {"p50_ms": percentile(values, 0.5), "p95_ms": percentile(values, 0.95)}


def summarize(results: Sequence[TaskResult], tiers: Sequence[str]) -> dict[str, Any]:
    """The figures as one JSON-ready object (see the module docstring)."""
    per_tier: list[dict[str, Any]] = []
    by_task = {r.id: r for r in results}
    for tier in [*tiers, "index"]:
        calls = [(r, a) for r in results for a in r.attempts if a.tier == tier]
        answered = [r for r in results if r.tier == tier]
        if not calls and not answered:
            continue
        unpriced = sum(1 for _, a in calls if a.cost_usd is None)
        per_tier.append({
            "tier": tier,
            "calls": len(calls),
            "stopped_early": sum(1 for _, a in calls if a.stopped),
            "tool_calls": sum(len(a.tool_calls) for _, a in calls),
            "accepted": len(answered),
            "solved": sum(1 for r in answered if by_task[r.id].solved),
            "wrong_accepted": sum(1 for r in answered if by_task[r.id].wrong_accepted),
            "cost_usd": sum(a.cost_usd or 0.0 for _, a in calls),
            "unpriced_calls": unpriced,
            "latency": _latency([a.latency_ms for _, a in calls]),
            "first_token": _latency([a.first_token_ms for _, a in calls
                                     if a.first_token_ms is not None]),
        })
    premium = [r.premium_cost_usd for r in results if r.premium_cost_usd is not None]
    overall = {
        "tasks": len(results),
        "solved": sum(1 for r in results if r.solved),
        "wrong_accepted": sum(1 for r in results if r.wrong_accepted),
        "unanswered": sum(1 for r in results if r.tier is None),
        "cost_usd": sum(r.cost_usd for r in results),
        "all_premium_cost_usd": sum(premium) if premium else None,
        "latency": _latency([r.elapsed_ms for r in results]),
        "first_token": _latency([r.first_token_ms for r in results
                                 if r.first_token_ms is not None]),
    }
    tasks = [{
        "id": r.id, "kind": r.kind, "expects": r.expects, "outcome": r.outcome, "tier": r.tier,
        "solved": r.solved, "wrong_accepted": r.wrong_accepted, "detail": r.detail,
        "cost_usd": r.cost_usd, "premium_cost_usd": r.premium_cost_usd,
        "elapsed_ms": round(r.elapsed_ms, 1),
        "first_token_ms": None if r.first_token_ms is None else round(r.first_token_ms, 1),
        "attempts": [{"tier": a.tier, "model": a.model, "accepted": a.accepted,
                      "cost_usd": a.cost_usd, "latency_ms": round(a.latency_ms, 1),
                      "first_token_ms": None if a.first_token_ms is None
                      else round(a.first_token_ms, 1),
                      "output_tokens": a.output_tokens, "stopped": a.stopped,
                      "tool_calls": list(a.tool_calls)}
                     for a in r.attempts],
    } for r in results]
    return {"tiers": per_tier, "overall": overall, "tasks": tasks}


def _ms(value: float | None) -> str:
    return "-" if value is None else (f"{value / 1000:.1f}s" if value >= 1000 else f"{value:.0f}ms")


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def format_table(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table a terminal shows well too."""
    head = ("| tier | calls | stopped early | tool calls | accepted | solved | wrong accepted | "
            "cost | latency p50 / p95 | first token p50 / p95 |")
    lines = [head, "|" + " --- |" * 10]
    for t in summary["tiers"]:
        lines.append(
            f"| {t['tier']} | {t['calls']} | {t['stopped_early']} | {t['tool_calls']} | "
            f"{t['accepted']} | "
            f"{t['solved']} | {t['wrong_accepted']} | {_usd(t['cost_usd'])}"
            f"{' (+' + str(t['unpriced_calls']) + ' unpriced)' if t['unpriced_calls'] else ''} | "
            f"{_ms(t['latency']['p50_ms'])} / {_ms(t['latency']['p95_ms'])} | "
            f"{_ms(t['first_token']['p50_ms'])} / {_ms(t['first_token']['p95_ms'])} |")
    o = summary["overall"]
    share = f" ({o['solved'] / o['tasks']:.0%})" if o["tasks"] else ""
    lines.append(
        f"| **all** | {sum(t['calls'] for t in summary['tiers'])} | "
        f"{sum(t['stopped_early'] for t in summary['tiers'])} | "
        f"{sum(t['tool_calls'] for t in summary['tiers'])} | "
        f"{o['tasks'] - o['unanswered']} of {o['tasks']} | {o['solved']}{share} | "
        f"{o['wrong_accepted']} | {_usd(o['cost_usd'])} | "
        f"{_ms(o['latency']['p50_ms'])} / {_ms(o['latency']['p95_ms'])} | "
        f"{_ms(o['first_token']['p50_ms'])} / {_ms(o['first_token']['p95_ms'])} |")
    lines.append("")
    lines.append(f"all-premium cost (the premium model answering every task): "
                 f"{_usd(o['all_premium_cost_usd'])}; cascade cost: {_usd(o['cost_usd'])}")
    return "\n".join(lines)
