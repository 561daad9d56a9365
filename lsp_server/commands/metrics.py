"""``agentic-optimizer metrics``: spend, savings and latency from the ledger.

A rich table on a terminal, the plain-text shape below when piped, or JSON with ``--json``::

    Daily Metrics (2025-10-15):
      Total Requests: 45
      Success Rate: 94.4%
      Costs:
        Local:  $0.00 (32 requests, 71%)
        ...
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from lsp_server.commands.common import add_config_arg, add_project_arg, project_root, settings_for
from lsp_server.errors import LedgerError
from lsp_server.ledger.reports import DIMENSIONS
from lsp_server.ledger.store import Ledger


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of days ≥ 1")
    return int(value)


def add_ledger_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger", type=Path, metavar="PATH",
        help="SQLite ledger file to read (default: the shared ledger of ledger.url, else "
        "ledger.sqlite3 in the state directory)",
    )


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "metrics", help="spend, savings and latency from the ledger",
        description="Requests, success rate, cost per provider with counts and shares, savings "
        "against all-premium, cache hits, escalation rate and latency percentiles. Without a "
        "period option: today. Prints a table on a terminal and plain text when piped.",
    )
    period = p.add_mutually_exclusive_group()
    period.add_argument("--daily", action="store_true", help="today (the default)")
    period.add_argument("--since", type=iso_date, metavar="DATE", help="from DATE (YYYY-MM-DD) to today")
    period.add_argument("--days", type=positive_int, metavar="N",
                        help="the last N days, with a per-day spend chart")
    p.add_argument("--until", type=iso_date, metavar="DATE", help="end of the period (default: today)")
    p.add_argument("--by", choices=DIMENSIONS, default="provider", help="group costs by (default: provider)")
    p.add_argument("--team", action="store_true",
                   help="the whole team's figures from the shared ledger (ledger.url); "
                   "without it a shared ledger reports your own requests")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"),
                   help="compare two A/B variants (default period: all time)")
    add_ledger_arg(p)
    add_project_arg(p)
    add_config_arg(p)


def period(args: argparse.Namespace, today: date) -> tuple[date | None, date | None]:
    """The first and last day asked for; (None, None) means all time (only for --compare)."""
    until: date = args.until or today
    if args.since is not None:
        return args.since, until
    if args.days is not None:
        return until - timedelta(days=args.days - 1), until
    if args.compare and not args.daily and args.until is None:
        return None, None
    return until, until


def run(args: argparse.Namespace) -> int:
    from lsp_server.ledger import render

    settings = settings_for(args, project_root(args))
    with Ledger.open(args.ledger, settings) as ledger:
        if args.team and not ledger.shared:
            raise LedgerError("metrics --team reads a team's shared ledger: set ledger.url "
                              "(or ledger.url_env); this ledger is the file at "
                              f"{ledger.where}")
        first, last = period(args, ledger.today())
        terminal = sys.stdout.isatty() and not args.json
        if args.compare:
            cmp = ledger.compare(args.compare[0], args.compare[1], first, last)
            if args.json:
                print(json.dumps(render.comparison_json(cmp), indent=2))
            elif terminal:
                from rich.console import Console

                render.render_comparison_rich(cmp, Console())
            else:
                sys.stdout.write(render.render_comparison_plain(cmp))
            return 0
        report = ledger.summary(first, last, by=args.by, team=args.team)
    chart = args.days is not None
    if args.json:
        print(json.dumps(render.report_json(report, include_days=chart), indent=2))
    elif terminal:
        from rich.console import Console

        render.render_rich(report, Console(), chart=chart)
    else:
        sys.stdout.write(render.render_plain(report, chart=chart))
    return 0
