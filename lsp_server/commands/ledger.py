"""``agentic-optimizer ledger``: export the ledger (``ledger export --csv``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lsp_server.commands.common import add_config_arg, add_project_arg, project_root, settings_for
from lsp_server.commands.metrics import add_ledger_arg, iso_date
from lsp_server.errors import LedgerError
from lsp_server.ledger.store import Ledger


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "ledger", help="export the ledger (ledger export --csv)",
        description="Work with the ledger of requests and model attempts.",
    )
    actions = p.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export", help="write the ledger as CSV",
        description="One row per request (or per model attempt with --attempts); no prompt text.",
    )
    export.add_argument("--csv", action="store_true", required=True, help="CSV format (for spreadsheets)")
    export.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    export.add_argument("--attempts", action="store_true", help="one row per model attempt")
    export.add_argument("--since", type=iso_date, metavar="DATE", help="first day (YYYY-MM-DD)")
    export.add_argument("--until", type=iso_date, metavar="DATE", help="last day (YYYY-MM-DD)")
    add_ledger_arg(export)
    add_project_arg(export)
    add_config_arg(export)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args, project_root(args))
    with Ledger.open(args.ledger, settings) as ledger:
        if args.output in (None, "-"):
            ledger.export_csv(sys.stdout, args.since, args.until, attempts=args.attempts)
            return 0
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as fh:
                count = ledger.export_csv(fh, args.since, args.until, attempts=args.attempts)
        except OSError as exc:
            raise LedgerError(f"cannot write {args.output}: {exc.strerror}") from None
    noun = "attempts" if args.attempts else "requests"
    print(f"Wrote {count} {noun} to {args.output}", file=sys.stderr)
    return 0
