"""The team ledger under load: 8 processes x 200 priced requests against one team budget.

Each process is one server: per request it reads its own day's spend and reserves the call's
estimated cost against the team cap (the budget check, ``Ledger.reserve``), then writes the
request, its attempt (the premium call at its real cost, up to ``--error`` off the estimate,
settling the reservation; or a $0 local attempt when the cap refused it) and its finish (the
record). The same workload runs against a PostgreSQL database on loopback and against one
SQLite file shared by the same 8 processes, in the same run.

Printed: rows sent against rows stored (must be equal), the team's spend against the cap (the
overspend may not exceed one request's estimation error by design only for calls in flight),
budget-check and record latency p50/p95 on both back ends (PostgreSQL as a ratio of SQLite),
and ``metrics --team --daily`` on 100,000 requests (copied in with ``ledger migrate``) against
``metrics --daily`` on the same rows in SQLite and against Python's start-up.

Without ``--url`` a throwaway PostgreSQL cluster is started (Debian's server binaries, as the
tests do; run as root it runs as the ``postgres`` user).

Usage: python bench/team_ledger.py [--processes 8] [--requests 200] [--rows 100000] [--url URL]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsp_server.config import parse_settings
from lsp_server.ledger.migrate import copy_ledger
from lsp_server.ledger.reservations import reserve
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Usage

HERE = Path(__file__).resolve().parent
ESTIMATE = 0.01  # USD per premium call, before it is made


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _open(target: str, user: str) -> Ledger:
    if target.startswith("postgresql://"):
        settings = parse_settings({"ledger": {"url": target, "team": "bench", "user": user}})
        return Ledger.open(settings=settings)
    return Ledger.open(Path(target), parse_settings({"ledger": {"user": user}}))


def worker(target: str, user: str, requests: int, cap: float, error: float) -> None:
    """One server's traffic; prints one JSON line."""
    rng = random.Random(user)
    checks: list[float] = []
    records: list[float] = []
    made = refused = rows = 0
    spent = worst = 0.0
    with _open(target, user) as ledger:
        for i in range(requests):
            rid = f"{user}-{i:04d}"
            key = f"{rid}/premium"
            t0 = time.perf_counter()
            ledger.spent_today()
            ok, _total = reserve(ledger, key, ESTIMATE, cap)
            t1 = time.perf_counter()
            ledger.start_request(kind="edit", workspace="/repo", classification="edit:premium",
                                 request_id=rid)
            if ok:
                cost = ESTIMATE * rng.uniform(1 - error, 1 + error)
                worst = max(worst, abs(cost - ESTIMATE))
                ledger.record_attempt(rid, provider="sonnet", model="claude-sonnet-4-5",
                                      tier="premium", usage=Usage(3000, 200), cost_usd=cost,
                                      latency_ms=900.0, confidence=0.9, error_class=None,
                                      row_key=key, reservation=key)
                made += 1
                spent += cost
            else:
                cost = 0.0
                ledger.record_attempt(rid, provider="local", model="qwen2.5-coder:7b",
                                      tier="local", usage=Usage(3000, 200), cost_usd=0.0,
                                      latency_ms=2000.0, confidence=0.9, error_class=None,
                                      row_key=key)
                refused += 1
            ledger.finish_request(rid, outcome="accepted", cost_usd=cost, premium_cost_usd=0.01,
                                  latency_ms=1000.0)
            records.append((time.perf_counter() - t1) * 1000)
            checks.append((t1 - t0) * 1000)
            rows += 2  # the request and its attempt
    print(json.dumps({"made": made, "refused": refused, "spent": spent, "worst": worst,
                      "rows": rows, "checks": checks, "records": records}))


def run_load(target: str, processes: int, requests: int, cap: float,
             error: float) -> dict[str, Any]:
    _open(target, "setup").close()  # create and migrate once, before the race
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", target, f"dev{i}",
                               str(requests), str(cap), str(error)],
                              stdout=subprocess.PIPE, text=True) for i in range(processes)]
    results = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a worker failed ({p.returncode})")
        results.append(json.loads(out))
    wall = time.perf_counter() - start
    with _open(target, "reader") as ledger, ledger.reading() as db:
        stored = sum(int(db.execute(f"SELECT COUNT(*) FROM {t} WHERE day = ?",
                                    (ledger.today().isoformat(),)).fetchone()[0])
                     for t in ("requests", "attempts"))
        team = float(db.execute("SELECT cost_usd FROM daily_spend WHERE day = ?",
                                (ledger.today().isoformat(),)).fetchone()[0])
    return {
        "wall_s": wall,
        "sent": sum(r["rows"] for r in results), "stored": stored,
        "made": sum(r["made"] for r in results), "refused": sum(r["refused"] for r in results),
        "spent": sum(r["spent"] for r in results), "team_total": team,
        "worst": max(r["worst"] for r in results),
        "checks": [c for r in results for c in r["checks"]],
        "records": [c for r in results for c in r["records"]],
    }


def cli_ms(args: list[str], env: dict[str, str], repeat: int = 5) -> float:
    """Median wall milliseconds of a command."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, capture_output=True,
                       env={**os.environ, **env})
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def report_on_rows(url: str, rows: int, scratch: Path) -> None:
    sys.path.insert(0, str(HERE))
    from ledger_speed import fill  # the same 100k-request ledger ledger_speed.py measures

    lite = scratch / "rows.sqlite3"
    fill(lite, rows, 1, random.Random(7))
    t0 = time.perf_counter()
    settings = parse_settings({"ledger": {"team": "rows", "user": "bench"}})
    with Ledger.open(lite, settings) as source, \
            Ledger.open(settings=settings, url=url) as target:
        done = copy_ledger(source, target)
    copy_s = time.perf_counter() - t0
    config = scratch / "team.toml"
    config.write_text('[ledger]\nurl_env = "AO_BENCH_LEDGER"\nteam = "rows"\n', encoding="utf-8")
    env = {"AO_BENCH_LEDGER": url}
    team_ms = cli_ms(["-m", "lsp_server", "metrics", "--team", "--daily", "--config",
                      str(config)], env)
    lite_ms = cli_ms(["-m", "lsp_server", "metrics", "--daily", "--ledger", str(lite)], {})
    python_ms = cli_ms(["-c", "import sqlite3, psycopg"], {})
    print(f"\nmetrics on {rows:,} requests ({done.attempts:,} attempts), median of 5 runs:")
    print(f"  ledger migrate (SQLite -> PostgreSQL): {copy_s:.1f} s "
          f"({done.requests / copy_s:,.0f} requests/s)")
    print(f"  metrics --team --daily (PostgreSQL): {team_ms:7.0f} ms")
    print(f"  metrics --daily (SQLite, same rows): {lite_ms:7.0f} ms   "
          f"PostgreSQL/SQLite = {team_ms / lite_ms:.2f}x")
    print(f"  python -c 'import sqlite3, psycopg': {python_ms:7.0f} ms (start-up floor)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200, help="per process")
    parser.add_argument("--cap", type=float, default=10.0,
                        help="team cap in USD (default 10: about 1000 of 1600 calls at $0.01)")
    parser.add_argument("--error", type=float, default=0.1,
                        help="largest relative estimation error of a call (default 0.1)")
    parser.add_argument("--rows", type=int, default=100_000,
                        help="requests for the metrics timing (0: skip)")
    parser.add_argument("--url", help="an existing PostgreSQL database (default: a throwaway one)")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        target, user, n, cap, error = args.worker
        worker(target, user, int(n), float(cap), float(error))
        return 0
    cluster = None
    url = args.url
    if url is None:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from postgres_cluster import Cluster, bindir

        found = bindir()
        if found is None:
            raise SystemExit("no PostgreSQL server binaries: apt-get install postgresql, or --url")
        cluster = Cluster(found)
        cluster.start()
        url = cluster.new_database("bench")
    try:
        with tempfile.TemporaryDirectory(prefix="ao-team-bench-") as tmp:
            scratch = Path(tmp)
            print(f"{args.processes} processes x {args.requests} requests, team cap "
                  f"${args.cap:.2f}, estimate ${ESTIMATE} +/- {args.error:.0%}; "
                  f"load average {os.getloadavg()[0]:.2f}")
            results = {"PostgreSQL": run_load(url, args.processes, args.requests, args.cap,
                                              args.error),
                       "SQLite": run_load(str(scratch / "team.sqlite3"), args.processes,
                                          args.requests, args.cap, args.error)}
            for name, r in results.items():
                over = r["spent"] - args.cap
                print(f"\n{name}: {r['wall_s']:.1f} s")
                print(f"  rows sent {r['sent']}, stored {r['stored']}"
                      f" ({'equal' if r['sent'] == r['stored'] else 'NOT EQUAL'})")
                print(f"  premium calls {r['made']}, downgraded at the cap {r['refused']}")
                print(f"  team spend ${r['spent']:.4f} (ledger ${r['team_total']:.4f}) against "
                      f"cap ${args.cap:.2f}: {'over' if over > 0 else 'under'} by "
                      f"${abs(over):.4f}; one request's largest estimation error "
                      f"${r['worst']:.4f}")
                print(f"  budget check p50 {pct(r['checks'], 50):.2f} ms, p95 "
                      f"{pct(r['checks'], 95):.2f} ms; record p50 {pct(r['records'], 50):.2f} ms,"
                      f" p95 {pct(r['records'], 95):.2f} ms")
            pg, lite = results["PostgreSQL"], results["SQLite"]
            print("\nPostgreSQL / SQLite: budget check p50 "
                  f"{pct(pg['checks'], 50) / pct(lite['checks'], 50):.2f}x, p95 "
                  f"{pct(pg['checks'], 95) / pct(lite['checks'], 95):.2f}x; record p50 "
                  f"{pct(pg['records'], 50) / pct(lite['records'], 50):.2f}x, p95 "
                  f"{pct(pg['records'], 95) / pct(lite['records'], 95):.2f}x")
            if args.rows:
                report_on_rows(url, args.rows, scratch)
    finally:
        if cluster is not None:
            cluster.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
