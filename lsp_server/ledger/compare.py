"""``metrics --compare A B``: two A/B variants side by side, and whether the gap is real yet.

Each figure comes with its count, and each difference with the test that judged it (see
:mod:`lsp_server.ledger.stats`) and its p-value. A difference is called meaningful only at
p < 0.05 with enough data for the test; otherwise the report says "not yet meaningful".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import fmean, median
from typing import Any

from lsp_server.errors import LedgerError
from lsp_server.ledger.backend import Sql
from lsp_server.ledger.reports import DECIDED_OUTCOMES, SUCCESS_OUTCOMES, percentile
from lsp_server.ledger.stats import (
    ALPHA,
    MIN_EXPECTED,
    MIN_SAMPLES,
    U_TEST,
    Z_TEST,
    mann_whitney_p,
    two_proportion_p,
)


@dataclass(frozen=True)
class VariantStats:
    name: str
    requests: int
    successes: int
    decided: int
    costs: tuple[float, ...]
    unpriced: int
    latencies: tuple[float, ...]
    ratings: tuple[int, ...]
    rejections: int  # by the user
    escalations: int
    model_requests: int  # that had a higher tier to escalate to
    verifier_rejections: int = 0

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.decided if self.decided else None

    @property
    def total_cost(self) -> float:
        return sum(self.costs)

    @property
    def mean_cost(self) -> float | None:
        return fmean(self.costs) if self.costs else None

    @property
    def mean_rating(self) -> float | None:
        return fmean(self.ratings) if self.ratings else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalations / self.model_requests if self.model_requests else None

    def latency(self, pct: float) -> float | None:
        return percentile(self.latencies, pct)


@dataclass(frozen=True)
class TestResult:
    """One metric's verdict."""

    metric: str
    test: str
    p_value: float | None
    meaningful: bool
    note: str


@dataclass(frozen=True)
class Comparison:
    a: VariantStats
    b: VariantStats
    since: date | None
    until: date | None
    tests: tuple[TestResult, ...]


def _variant_stats(conn: Sql, name: str, since: date | None, until: date | None) -> VariantStats:
    where = "variant = ?"
    params: list[Any] = [name]
    if since is not None:
        where += " AND day >= ?"
        params.append(since.isoformat())
    if until is not None:
        where += " AND day <= ?"
        params.append(until.isoformat())
    rows = conn.execute(
        "SELECT outcome, rejected, cost_usd, latency_ms, rating, attempt_count, higher_tier"
        f" FROM requests WHERE {where}",
        params,
    ).fetchall()
    finished = [r for r in rows if r[0] is not None]
    return VariantStats(
        name=name,
        requests=len(rows),
        successes=sum(1 for r in rows if r[0] in SUCCESS_OUTCOMES and not r[1]),
        decided=sum(1 for r in rows if r[0] in DECIDED_OUTCOMES),
        costs=tuple(float(r[2]) for r in finished if r[2] is not None),
        unpriced=sum(1 for r in finished if r[2] is None),
        latencies=tuple(sorted(float(r[3]) for r in finished if r[3] is not None)),
        ratings=tuple(int(r[4]) for r in rows if r[4] is not None),
        rejections=sum(1 for r in rows if r[1]),
        escalations=sum(1 for r in rows if r[5] > 1 and r[6] != 0),
        model_requests=sum(1 for r in rows if r[5] > 0 and r[6] != 0),
        verifier_rejections=sum(1 for r in rows if r[0] == "rejected"),
    )


def _verdict(metric: str, test: str, p: float | None, too_few: str, better: str) -> TestResult:
    if p is None:
        return TestResult(metric, test, None, False, f"not yet meaningful: {too_few} for the {test}")
    if p >= ALPHA:
        return TestResult(metric, test, p, False,
                          f"not yet meaningful ({test}, p = {p:.3f} ≥ {ALPHA})")
    return TestResult(metric, test, p, True, f"{better} ({test}, p = {p:.3g} < {ALPHA})")


def _which(a: VariantStats, b: VariantStats, va: float | None, vb: float | None, high: str, low: str) -> str:
    if va is None or vb is None or va == vb:
        return "the distributions differ"
    return f"{a.name} {high if va > vb else low} than {b.name}"


def significance(a: VariantStats, b: VariantStats) -> tuple[TestResult, ...]:
    """The verdicts on success rate, cost, latency and rating."""
    return (
        _verdict(
            "Success rate", Z_TEST, two_proportion_p(a.successes, a.decided, b.successes, b.decided),
            f"too few decided requests (each variant needs ≥ {MIN_EXPECTED} expected successes and failures)",
            _which(a, b, a.success_rate, b.success_rate, "succeeds more often", "succeeds less often"),
        ),
        _verdict(
            "Cost per request", U_TEST, mann_whitney_p(a.costs, b.costs),
            f"too few priced requests (need ≥ {MIN_SAMPLES} per variant)",
            _which(a, b, a.mean_cost, b.mean_cost, "costs more", "costs less"),
        ),
        _verdict(
            "Latency", U_TEST, mann_whitney_p(a.latencies, b.latencies),
            f"too few finished requests (need ≥ {MIN_SAMPLES} per variant)",
            _which(a, b, median(a.latencies) if a.latencies else None,
                   median(b.latencies) if b.latencies else None, "is slower", "is faster"),
        ),
        _verdict(
            "Rating", U_TEST, mann_whitney_p([float(r) for r in a.ratings], [float(r) for r in b.ratings]),
            f"too few ratings (need ≥ {MIN_SAMPLES} per variant)",
            _which(a, b, a.mean_rating, b.mean_rating, "is rated higher", "is rated lower"),
        ),
    )


def known_variants(conn: Sql) -> list[str]:
    return [str(v) for (v,) in conn.execute(
        "SELECT DISTINCT variant FROM requests WHERE variant IS NOT NULL ORDER BY variant"
    )]


def build_comparison(conn: Sql, a: str, b: str, since: date | None, until: date | None) -> Comparison:
    if a == b:
        raise LedgerError(f"compare two different variants (got {a!r} twice)")
    stats = []
    for name in (a, b):
        s = _variant_stats(conn, name, since, until)
        if s.requests == 0:
            known = ", ".join(known_variants(conn)) or "none yet"
            raise LedgerError(f"variant {name!r} has no requests in this period (variants in the ledger: {known})")
        stats.append(s)
    return Comparison(stats[0], stats[1], since, until, significance(stats[0], stats[1]))
