"""Reports over a period of days: what was spent, with whom, how fast, and what was saved.

Definitions (the ones ``metrics`` prints):

- *requests*: requests started in the period (by the day they started).
- *success rate*: accepted, cache-hit and index-answered requests not later rejected, over the
  requests that reached a verdict (accepted, rejected, failed, cache hit, index). Cancelled and
  unfinished requests are left out of both sides.
- *costs*: money spent on attempts made in the period, grouped by the chosen dimension; a group's
  request count is the requests it *answered* (the model whose answer was accepted), or
  ``Cache`` / ``Index`` for requests answered without a model call, or ``No model`` for requests
  with no accepted answer. Calls without a price are counted as unpriced,
  and calls whose billing is unknown as unknown, never as $0.
- *savings*, *avoided calls*: as the one savings policy decides
  (:mod:`lsp_server.ledger.savings`): savings only on accepted answers the user did not reject
  (the premium equivalent of the accepted call minus what the request spent); cache hits and
  index answers are avoided calls with an estimated value, kept apart from the savings.
- *rejections*: by the user (``feedback --reject``, an edit the editor refused) and by
  verification (no answer reached the threshold) are separate figures.
- *escalation rate*: requests that needed more than one model call, over the requests that called
  one and had a higher tier to escalate to (None when none had).
- *cost status*: how many attempts' costs are measured (the vendor's usage), estimated, unknown.
- *latency*: nearest-rank percentiles of finished requests' end-to-end latency.
- *tool calls*: calls the models made to the agent's tools (answered from the index at $0), by
  the day and group of the tool turn that made them.

A report covers the whole ledger (on a shared ledger: the whole team), or only one user's
requests and attempts (``user``); ``by="user"`` groups the costs by who made them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from lsp_server.errors import LedgerError
from lsp_server.ledger.backend import Sql
from lsp_server.ledger.savings import AVOIDED_SQL, EARNED_PREMIUM_SQL, SAVED_SQL

DIMENSIONS = ("provider", "model", "task", "variant", "user")
SUCCESS_OUTCOMES = ("accepted", "cache_hit", "index")
DECIDED_OUTCOMES = ("accepted", "rejected", "failed", "cache_hit", "index")
CACHE_LABEL = "Cache"
INDEX_LABEL = "Index"
NO_MODEL_LABEL = "No model"
NO_VARIANT = "(none)"
NO_MODEL_LABELS = {"cache_hit": CACHE_LABEL, "index": INDEX_LABEL}


@dataclass(frozen=True)
class GroupCost:
    """One line of the cost breakdown."""

    name: str
    requests: int
    cost_usd: float
    unpriced: int
    share: float
    unknown: int = 0  # attempts whose billing is unknown
    tool_calls: int = 0  # tool calls its attempts made


@dataclass(frozen=True)
class DaySpend:
    day: date
    requests: int
    cost_usd: float
    unpriced: int
    unknown: int = 0  # attempts whose billing is unknown (not in ``unpriced``)
    tool_calls: int = 0  # tool calls the day's attempts made


@dataclass(frozen=True)
class Report:
    since: date
    until: date
    by: str
    requests: int
    successes: int
    decided: int
    cost_usd: float
    unpriced: int
    premium_cost_usd: float
    savings_usd: float
    cache_hits: int
    index_answers: int
    escalations: int
    model_requests: int
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None
    groups: tuple[GroupCost, ...]
    by_provider: tuple[GroupCost, ...]
    days: tuple[DaySpend, ...]
    outcomes: dict[str, int] = field(default_factory=dict)
    ratings: int = 0
    mean_rating: float | None = None
    rejections: int = 0  # by the user
    verifier_rejections: int = 0
    avoided_usd: float = 0.0  # estimated value of cache hits and index answers
    earning_requests: int = 0  # accepted answers, not rejected by the user, priced both ways
    escalable_requests: int = 0  # model requests that had a higher tier
    cost_status: dict[str, int] = field(default_factory=dict)  # attempts by cost status
    unknown_cost: int = 0  # attempts whose billing is unknown (not in ``unpriced``)
    scope: str = ""  # whose rows, when not the whole ledger's: "team core", "user ana"
    tool_calls: int = 0  # tool calls the period's attempts made

    @property
    def avoided_calls(self) -> int:
        return self.cache_hits + self.index_answers

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.decided if self.decided else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalations / self.escalable_requests if self.escalable_requests else None

    @property
    def day_count(self) -> int:
        return (self.until - self.since).days + 1


def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending sequence (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def _request_label_sql(by: str) -> str:
    if by == "provider":
        return (
            f"COALESCE(answered_by, CASE outcome WHEN 'cache_hit' THEN '{CACHE_LABEL}' "
            f"WHEN 'index' THEN '{INDEX_LABEL}' ELSE '{NO_MODEL_LABEL}' END)"
        )
    if by == "model":
        return (
            f"COALESCE(answered_model, CASE outcome WHEN 'cache_hit' THEN '{CACHE_LABEL}' "
            f"WHEN 'index' THEN '{INDEX_LABEL}' ELSE '{NO_MODEL_LABEL}' END)"
        )
    if by == "task":
        return "kind"
    if by == "user":
        return "user_name"
    return f"COALESCE(variant, '{NO_VARIANT}')"


def _attempt_cost_sql(by: str, user: str | None) -> str:
    where = "WHERE a.day BETWEEN ? AND ?" + (" AND a.user_name = ?" if user is not None else "")
    figures = ("SUM(a.cost_usd), COUNT(*) - COUNT(a.cost_usd) - SUM(CASE WHEN a.cost_status = 'unknown' THEN 1 ELSE 0 END),"
               " SUM(CASE WHEN a.cost_status = 'unknown' THEN 1 ELSE 0 END), SUM(a.tool_call_count)")
    if by in ("provider", "model", "user"):
        column = {"provider": "a.label", "model": "a.model", "user": "a.user_name"}[by]
        return f"SELECT {column}, {figures} FROM attempts a {where} GROUP BY 1"
    column = "r.kind" if by == "task" else f"COALESCE(r.variant, '{NO_VARIANT}')"
    return (
        f"SELECT {column}, {figures} "
        f"FROM attempts a JOIN requests r ON r.id = a.request_id {where} GROUP BY 1"
    )


def _attempt_costs(conn: Sql, since: str, until: str, by: str,
                   user: str | None = None) -> dict[str, tuple[float, int, int, int]]:
    params = (since, until) if user is None else (since, until, user)
    return {
        str(name): (float(cost or 0.0), int(unpriced), int(unknown), int(tools or 0))
        for name, cost, unpriced, unknown, tools in conn.execute(_attempt_cost_sql(by, user),
                                                                 params)
    }


def _groups(counts: dict[str, int],
            costs: dict[str, tuple[float, int, int, int]]) -> tuple[GroupCost, ...]:
    """Requests answered and money spent per group, largest first."""
    total = sum(counts.values())
    none = (0.0, 0, 0, 0)
    groups = [
        GroupCost(
            name=name,
            requests=counts.get(name, 0),
            cost_usd=costs.get(name, none)[0],
            unpriced=costs.get(name, none)[1],
            share=counts.get(name, 0) / total if total else 0.0,
            unknown=costs.get(name, none)[2],
            tool_calls=costs.get(name, none)[3],
        )
        for name in set(counts) | set(costs)
    ]
    groups.sort(key=lambda g: (-g.requests, -g.cost_usd, g.name))
    return tuple(groups)


def build_report(conn: Sql, since: date, until: date, by: str = "provider",
                 user: str | None = None) -> Report:
    """Compute a :class:`Report` for the days ``since`` to ``until`` inclusive: of the whole
    ledger, or of ``user``'s rows only.

    One grouped pass over the requests (index-only for the default grouping), one over the
    attempts, one read of the latencies, and the per-day spend table.
    """
    if by not in DIMENSIONS:
        raise LedgerError(f"cannot group by {by!r}; choose one of {', '.join(DIMENSIONS)}")
    if until < since:
        raise LedgerError(f"the period {since} to {until} ends before it starts")
    lo, hi = since.isoformat(), until.isoformat()
    mine = "" if user is None else " AND user_name = ?"
    span: tuple[str, ...] = (lo, hi) if user is None else (lo, hi, user)
    spend_table = "daily_spend" if user is None else "user_spend"
    # GROUP BY in the covering index's column order: SQLite streams the groups, no sorting.
    rows = conn.execute(
        "SELECT day, outcome, rejected, attempt_count, higher_tier, answered_by, COUNT(*),"
        f" TOTAL({EARNED_PREMIUM_SQL}), TOTAL({SAVED_SQL}), COUNT({SAVED_SQL}), TOTAL({AVOIDED_SQL}),"
        " COUNT(rating), TOTAL(rating)"
        f" FROM requests WHERE day BETWEEN ? AND ?{mine}"
        " GROUP BY day, outcome, rejected, attempt_count, higher_tier, answered_by",
        span,
    ).fetchall()
    requests = successes = decided = cache_hits = index_answers = escalations = 0
    model_requests = escalable = ratings = rejections = verifier_rejections = earning = 0
    premium = savings = avoided = rating_sum = 0.0
    outcomes: dict[str, int] = {}
    per_day: dict[str, int] = {}
    provider_counts: dict[str, int] = {}
    for (day, outcome, rejected, attempts, higher, answered_by, n, prem, saved, earned, avoid,
         rated, rsum) in rows:
        requests += n
        key = str(outcome) if outcome is not None else "unfinished"
        outcomes[key] = outcomes.get(key, 0) + n
        per_day[day] = per_day.get(day, 0) + n
        label = str(answered_by) if answered_by is not None else NO_MODEL_LABELS.get(outcome, NO_MODEL_LABEL)
        provider_counts[label] = provider_counts.get(label, 0) + n
        if outcome in SUCCESS_OUTCOMES and not rejected:
            successes += n
        if outcome in DECIDED_OUTCOMES:
            decided += n
        rejections += n if rejected else 0
        verifier_rejections += n if outcome == "rejected" else 0
        earning += earned
        cache_hits += n if outcome == "cache_hit" else 0
        index_answers += n if outcome == "index" else 0
        model_requests += n if attempts > 0 else 0
        if attempts > 0 and higher != 0:  # None: recorded before this was known
            escalable += n
            escalations += n if attempts > 1 else 0
        premium += prem
        savings += saved
        avoided += avoid
        ratings += rated
        rating_sum += rsum
    spend = {
        str(d): (float(c), int(u))
        for d, c, u in conn.execute(
            f"SELECT day, cost_usd, unpriced FROM {spend_table} WHERE day BETWEEN ? AND ?{mine}",
            span
        )
    }
    # daily_spend counts every call without a cost as unpriced; those whose billing is unknown
    # are told apart from the attempts' cost status
    unknown_by_day: dict[str, int] = {}
    tools_by_day: dict[str, int] = {}
    for d, n, tools in conn.execute(
            "SELECT day, SUM(CASE WHEN cost_status = 'unknown' THEN 1 ELSE 0 END),"
            " SUM(tool_call_count) FROM attempts"
            f" WHERE day BETWEEN ? AND ?{mine} GROUP BY day", span):
        unknown_by_day[str(d)] = int(n or 0)
        tools_by_day[str(d)] = int(tools or 0)
    days = []
    day = since
    while day <= until:
        key = day.isoformat()
        cost, unpriced = spend.get(key, (0.0, 0))
        unknown_day = unknown_by_day.get(key, 0)
        days.append(DaySpend(day, per_day.get(key, 0), cost, max(0, unpriced - unknown_day),
                             unknown_day, tools_by_day.get(key, 0)))
        day += timedelta(days=1)
    latencies = sorted(
        float(v) for (v,) in conn.execute(
            f"SELECT latency_ms FROM requests WHERE day BETWEEN ? AND ?{mine}"
            " AND latency_ms IS NOT NULL", span,
        )
    )
    statuses = {
        str(status): int(n) for status, n in conn.execute(
            f"SELECT cost_status, COUNT(*) FROM attempts WHERE day BETWEEN ? AND ?{mine}"
            " GROUP BY 1", span,
        )
    }
    unknown = statuses.get("unknown", 0)
    by_provider = _groups(provider_counts, _attempt_costs(conn, lo, hi, "provider", user))
    if by == "provider":
        groups = by_provider
    else:
        dim_counts = {
            str(name): int(n)
            for name, n in conn.execute(
                f"SELECT {_request_label_sql(by)}, COUNT(*) FROM requests"
                f" WHERE day BETWEEN ? AND ?{mine} GROUP BY 1",
                span,
            )
        }
        groups = _groups(dim_counts, _attempt_costs(conn, lo, hi, by, user))
    return Report(
        since=since,
        until=until,
        by=by,
        requests=requests,
        successes=successes,
        decided=decided,
        cost_usd=float(sum(c for c, _ in spend.values())),
        unpriced=sum(u for _, u in spend.values()) - unknown,
        premium_cost_usd=premium,
        savings_usd=savings,
        cache_hits=cache_hits,
        index_answers=index_answers,
        escalations=escalations,
        model_requests=model_requests,
        latency_p50=percentile(latencies, 50),
        latency_p95=percentile(latencies, 95),
        latency_p99=percentile(latencies, 99),
        groups=groups,
        by_provider=by_provider,
        days=tuple(days),
        outcomes=outcomes,
        ratings=ratings,
        mean_rating=rating_sum / ratings if ratings else None,
        rejections=rejections,
        verifier_rejections=verifier_rejections,
        avoided_usd=avoided,
        earning_requests=earning,
        escalable_requests=escalable,
        cost_status=statuses,
        unknown_cost=unknown,
        tool_calls=sum(tools_by_day.values()),
    )
