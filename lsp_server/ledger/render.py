"""Reports as plain text (the shape ``metrics`` prints when piped), rich tables, or JSON data."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from lsp_server.ledger.compare import Comparison, VariantStats
from lsp_server.ledger.reports import GroupCost, Report

BAR_WIDTH = 30
GROUP_TITLES = {"provider": "Costs", "model": "Costs by model", "task": "Costs by task",
                "variant": "Costs by variant", "user": "Costs by user"}


def money(value: float) -> str:
    """Dollars: cents normally, four decimals for sub-cent amounts so they do not read as $0."""
    if value == 0:
        return "$0.00"
    if abs(value) < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def duration(ms: float | None) -> str:
    if ms is None:
        return "n/a"
    if ms < 1000:
        return f"{ms:.0f}ms"
    return f"{ms / 1000:.1f}s"


def percent(fraction: float | None, digits: int = 1) -> str:
    return "n/a" if fraction is None else f"{fraction * 100:.{digits}f}%"


def cost_text(cost: float, unpriced: int, noun: str = "unpriced", unknown: int = 0) -> str:
    """Dollars plus the calls that have no price, and those whose billing is unknown (never $0)."""
    text = money(cost)
    if unpriced:
        text += f" + {unpriced} {noun}"
    return f"{text} + {unknown} unknown" if unknown else text


def savings_text(report: Report) -> str:
    answers = "accepted answer" if report.earning_requests == 1 else "accepted answers"
    return (f"{money(report.savings_usd)} vs all-premium {money(report.premium_cost_usd)} "
            f"({report.earning_requests} {answers})")


def avoided_text(report: Report) -> str:
    return (f"{report.avoided_calls} ({report.cache_hits} cache, {report.index_answers} index), "
            f"estimated {money(report.avoided_usd)} at premium prices")


def escalation_text(report: Report) -> str:
    if report.escalation_rate is None and report.model_requests:
        return "n/a (no higher tier)"
    return percent(report.escalation_rate)


def feedback_text(report: Report) -> str | None:
    if not (report.ratings or report.rejections or report.verifier_rejections):
        return None
    mean = f", mean {report.mean_rating:.1f}/5" if report.mean_rating is not None else ""
    return (f"{report.ratings} rated{mean}, {report.rejections} rejected by the user; "
            f"{report.verifier_rejections} rejected by verification")


def cost_status_text(report: Report) -> str | None:
    """How the attempts' costs are known, when any is not measured."""
    if not (set(report.cost_status) - {"measured"}):
        return None
    return ", ".join(f"{report.cost_status.get(s, 0)} {s}" for s in ("measured", "estimated", "unknown"))


def title(report: Report) -> str:
    scope = f", {report.scope}" if report.scope else ""
    if report.day_count == 1:
        return f"Daily Metrics ({report.since.isoformat()}{scope})"
    return (f"Metrics ({report.since.isoformat()} to {report.until.isoformat()}, "
            f"{report.day_count} days{scope})")


def _requests(n: int) -> str:
    return f"{n} request" if n == 1 else f"{n} requests"


def _group_line(group: GroupCost) -> str:
    return f"{cost_text(group.cost_usd, group.unpriced, unknown=group.unknown)} ({_requests(group.requests)}, {group.share * 100:.0f}%)"


def _bar(value: float, peak: float, char: str) -> str:
    if peak <= 0 or value <= 0:
        return ""
    return char * max(1, round(value / peak * BAR_WIDTH))


def render_plain(report: Report, *, chart: bool = False, ascii_bars: bool = True) -> str:
    """The report as indented text lines (no colour), ending with a newline."""
    lines = [f"{title(report)}:"]
    lines.append(f"  Total Requests: {report.requests}")
    lines.append(f"  Success Rate: {percent(report.success_rate)}")
    lines.append(f"  {GROUP_TITLES[report.by]}:")
    names = [f"{g.name}:" for g in report.groups] + ["Total:"]
    width = max(len(n) for n in names) + 2
    for group in report.groups:
        lines.append(f"    {(group.name + ':').ljust(width)}{_group_line(group)}")
    total = cost_text(report.cost_usd, report.unpriced, "unpriced", report.unknown_cost)
    lines.append(f"    {'Total:'.ljust(width)}{total}")
    statuses = cost_status_text(report)
    if statuses:
        lines.append(f"  Attempt Costs: {statuses}")
    lines.append(f"  Savings: {savings_text(report)}")
    lines.append(f"  Avoided Calls: {avoided_text(report)}")
    lines.append(f"  Cache Hits: {report.cache_hits}")
    lines.append(f"  Escalation Rate: {escalation_text(report)}")
    if report.tool_calls:  # shown once models have used tools (always in --json)
        lines.append(f"  Tool Calls: {report.tool_calls} (answered from the index, $0)")
    feedback = feedback_text(report)
    if feedback:
        lines.append(f"  Feedback: {feedback}")
    lines.append("  Performance:")
    lines.append(f"    P50 latency: {duration(report.latency_p50)}")
    lines.append(f"    P95 latency: {duration(report.latency_p95)}")
    lines.append(f"    P99 latency: {duration(report.latency_p99)}")
    if chart:
        lines.append("  Spend per day:")
        peak = max((d.cost_usd for d in report.days), default=0.0)
        char = "#" if ascii_bars else "█"
        for d in report.days:
            bar = _bar(d.cost_usd, peak, char).ljust(BAR_WIDTH)
            lines.append(f"    {d.day.isoformat()}  {money(d.cost_usd):>9}  {bar}  {_requests(d.requests)}")
    return "\n".join(lines) + "\n"


def render_rich(report: Report, console: Console, *, chart: bool = False) -> None:
    """The report as rich tables on a terminal."""
    summary = Table(title=title(report), show_header=False, title_justify="left")
    summary.add_column("metric", style="bold")
    summary.add_column("value", justify="right")
    summary.add_row("Total requests", str(report.requests))
    summary.add_row("Success rate", percent(report.success_rate))
    summary.add_row("Total cost", cost_text(report.cost_usd, report.unpriced, unknown=report.unknown_cost))
    statuses = cost_status_text(report)
    if statuses:
        summary.add_row("Attempt costs", statuses)
    summary.add_row("Savings", f"[green]{savings_text(report)}[/green]")
    summary.add_row("Avoided calls", avoided_text(report))
    summary.add_row("Cache hits", str(report.cache_hits))
    summary.add_row("Escalation rate", escalation_text(report))
    if report.tool_calls:
        summary.add_row("Tool calls", f"{report.tool_calls} (answered from the index, $0)")
    feedback = feedback_text(report)
    if feedback:
        summary.add_row("Feedback", feedback)
    summary.add_row("P50 / P95 / P99 latency", " / ".join(
        duration(v) for v in (report.latency_p50, report.latency_p95, report.latency_p99)
    ))
    console.print(summary)
    costs = Table(title=GROUP_TITLES[report.by], title_justify="left")
    costs.add_column(report.by.capitalize())
    costs.add_column("Cost", justify="right")
    costs.add_column("Requests", justify="right")
    costs.add_column("Share", justify="right")
    for g in report.groups:
        costs.add_row(g.name, cost_text(g.cost_usd, g.unpriced, unknown=g.unknown), str(g.requests), f"{g.share * 100:.0f}%")
    total = cost_text(report.cost_usd, report.unpriced, unknown=report.unknown_cost)
    costs.add_row("[bold]Total[/bold]", f"[bold]{total}[/bold]",
                  str(report.requests), "100%" if report.requests else "0%")
    console.print(costs)
    if chart:
        days = Table(title="Spend per day", title_justify="left")
        days.add_column("Day")
        days.add_column("Cost", justify="right")
        days.add_column("", min_width=BAR_WIDTH)
        days.add_column("Requests", justify="right")
        peak = max((d.cost_usd for d in report.days), default=0.0)
        for d in report.days:
            days.add_row(d.day.isoformat(), cost_text(d.cost_usd, d.unpriced, unknown=d.unknown),
                         f"[cyan]{_bar(d.cost_usd, peak, '█')}[/cyan]", str(d.requests))
        console.print(days)


def _round(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def _groups_json(groups: tuple[GroupCost, ...]) -> dict[str, dict[str, Any]]:
    return {
        g.name: {"requests": g.requests, "cost_usd": round(g.cost_usd, 6), "share": round(g.share, 4),
                 "unpriced_calls": g.unpriced, "unknown_cost_calls": g.unknown,
                 "tool_calls": g.tool_calls}
        for g in groups
    }


def report_json(report: Report, *, include_days: bool = False) -> dict[str, Any]:
    """The report as JSON-ready data; the keys ``metrics --json`` documents, plus a few extras."""
    data: dict[str, Any] = {
        "period": {"since": report.since.isoformat(), "until": report.until.isoformat(),
                   "days": report.day_count},
        "scope": report.scope or None,
        "requests": report.requests,
        "success_rate": _round(report.success_rate, 4),
        "cost_usd": round(report.cost_usd, 6),
        "premium_cost_usd": round(report.premium_cost_usd, 6),
        "savings_usd": round(report.savings_usd, 6),
        "savings_requests": report.earning_requests,
        "avoided_calls": {"cache_hits": report.cache_hits, "index_answers": report.index_answers,
                          "estimated_value_usd": round(report.avoided_usd, 6)},
        "cache_hits": report.cache_hits,
        "escalation_rate": _round(report.escalation_rate, 4),
        "tool_calls": report.tool_calls,
        "latency_ms": {"p50": _round(report.latency_p50, 1), "p95": _round(report.latency_p95, 1),
                       "p99": _round(report.latency_p99, 1)},
        "by_provider": _groups_json(report.by_provider),
        "unpriced_calls": report.unpriced,
        "unknown_cost_calls": report.unknown_cost,
        "attempt_cost_status": {s: report.cost_status.get(s, 0)
                                for s in ("measured", "estimated", "unknown")},
        "outcomes": dict(sorted(report.outcomes.items())),
        "feedback": {"ratings": report.ratings, "mean_rating": _round(report.mean_rating, 2),
                     "rejected": report.rejections,
                     "verifier_rejected": report.verifier_rejections},
    }
    if report.by != "provider":
        data[f"by_{report.by}"] = _groups_json(report.groups)
    if include_days:
        data["daily"] = [
            {"day": d.day.isoformat(), "requests": d.requests, "cost_usd": round(d.cost_usd, 6),
             "unpriced_calls": d.unpriced, "unknown_cost_calls": d.unknown,
             "tool_calls": d.tool_calls}
            for d in report.days
        ]
    return data


def _comparison_rows(cmp: Comparison) -> list[tuple[str, str, str]]:
    def rate(s: VariantStats) -> str:
        return f"{percent(s.success_rate)} ({s.successes}/{s.decided})"

    def cost_each(s: VariantStats) -> str:
        mean = money(s.mean_cost) if s.mean_cost is not None else "n/a"
        extra = f", {s.unpriced} unpriced" if s.unpriced else ""
        return f"{mean} ({len(s.costs)} priced{extra})"

    def ratings(s: VariantStats) -> str:
        return f"{len(s.ratings)} rated, mean {s.mean_rating:.1f}" if s.mean_rating is not None else "0 rated"

    a, b = cmp.a, cmp.b
    return [
        ("Requests", str(a.requests), str(b.requests)),
        ("Success rate", rate(a), rate(b)),
        ("Cost per request", cost_each(a), cost_each(b)),
        ("Total cost", money(a.total_cost), money(b.total_cost)),
        ("P50 latency", duration(a.latency(50)), duration(b.latency(50))),
        ("P95 latency", duration(a.latency(95)), duration(b.latency(95))),
        ("Escalation rate", percent(a.escalation_rate), percent(b.escalation_rate)),
        ("Feedback", ratings(a), ratings(b)),
        ("Rejected by the user", str(a.rejections), str(b.rejections)),
        ("Rejected by verification", str(a.verifier_rejections), str(b.verifier_rejections)),
    ]


def comparison_title(cmp: Comparison) -> str:
    if cmp.since is None and cmp.until is None:
        period = "all time"
    else:
        period = f"{cmp.since.isoformat() if cmp.since else 'start'} to {cmp.until.isoformat() if cmp.until else 'today'}"
    return f"Variants {cmp.a.name} vs {cmp.b.name} ({period})"


def render_comparison_plain(cmp: Comparison) -> str:
    rows = _comparison_rows(cmp)
    w0 = max(len(r[0]) for r in rows) + 2
    w1 = max(len(r[1]) for r in [*rows, ("", cmp.a.name, "")]) + 3
    lines = [f"{comparison_title(cmp)}:", f"  {'':{w0}}{cmp.a.name:{w1}}{cmp.b.name}"]
    lines += [f"  {label:{w0}}{va:{w1}}{vb}" for label, va, vb in rows]
    lines.append("  Significance (p < 0.05):")
    lines += [f"    {t.metric}: {t.note}" for t in cmp.tests]
    return "\n".join(lines) + "\n"


def render_comparison_rich(cmp: Comparison, console: Console) -> None:
    table = Table(title=comparison_title(cmp), title_justify="left")
    table.add_column("Metric", style="bold")
    table.add_column(cmp.a.name, justify="right")
    table.add_column(cmp.b.name, justify="right")
    for row in _comparison_rows(cmp):
        table.add_row(*row)
    console.print(table)
    for t in cmp.tests:
        style = "green" if t.meaningful else "yellow"
        console.print(f"[bold]{t.metric}[/bold]: [{style}]{t.note}[/{style}]")


def _variant_json(s: VariantStats) -> dict[str, Any]:
    return {
        "requests": s.requests,
        "success_rate": _round(s.success_rate, 4),
        "successes": s.successes,
        "decided": s.decided,
        "cost_usd": round(s.total_cost, 6),
        "mean_cost_usd": _round(s.mean_cost, 6),
        "priced_requests": len(s.costs),
        "unpriced_requests": s.unpriced,
        "latency_ms": {"p50": _round(s.latency(50), 1), "p95": _round(s.latency(95), 1),
                       "p99": _round(s.latency(99), 1)},
        "escalation_rate": _round(s.escalation_rate, 4),
        "ratings": len(s.ratings),
        "mean_rating": _round(s.mean_rating, 2),
        "rejected": s.rejections,
        "verifier_rejected": s.verifier_rejections,
    }


def comparison_json(cmp: Comparison) -> dict[str, Any]:
    return {
        "period": {"since": cmp.since.isoformat() if cmp.since else None,
                   "until": cmp.until.isoformat() if cmp.until else None},
        "variants": {cmp.a.name: _variant_json(cmp.a), cmp.b.name: _variant_json(cmp.b)},
        "tests": [
            {"metric": t.metric, "test": t.test, "p_value": _round(t.p_value, 6),
             "meaningful": t.meaningful, "note": t.note}
            for t in cmp.tests
        ],
    }
