"""``agentic-optimizer feedback``: rate or reject a past request."""

from __future__ import annotations

import argparse
from typing import Any

from lsp_server.commands.common import add_config_arg, add_project_arg, project_root, settings_for
from lsp_server.commands.metrics import add_ledger_arg
from lsp_server.ledger.store import Ledger


def rating(value: str) -> int:
    if value not in {"1", "2", "3", "4", "5"}:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a rating from 1 to 5")
    return int(value)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "feedback", help="rate or reject a past request",
        description="Attach a rating (1-5) or a rejection to a request in the ledger. REQUEST_ID "
        "may be a unique prefix of at least six characters.",
    )
    p.add_argument("request_id", metavar="REQUEST_ID")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--rating", type=rating, metavar="1..5", help="how good the answer was")
    what.add_argument("--reject", action="store_true", help="the answer or edit was rejected (e.g. undone)")
    add_ledger_arg(p)
    add_project_arg(p)
    add_config_arg(p)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args, project_root(args))
    with Ledger.open(args.ledger, settings) as ledger:
        rid = ledger.feedback(args.request_id, rating=args.rating, rejected=args.reject)
    what = "rejected" if args.reject else f"rated {args.rating}/5"
    print(f"Request {rid} {what}.")
    return 0
