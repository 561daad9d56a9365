"""``agentic-optimizer ledger``: export the ledger (``ledger export --csv``), or copy a SQLite
ledger into a team's shared one (``ledger migrate --to URL``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lsp_server.commands.common import add_config_arg, add_project_arg, project_root, settings_for
from lsp_server.commands.metrics import add_ledger_arg, iso_date
from lsp_server.config import Settings
from lsp_server.errors import ConfigError, LedgerError
from lsp_server.ledger.store import Ledger


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "ledger", help="export the ledger (ledger export --csv) or copy it to a shared one",
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
    migrate = actions.add_parser(
        "migrate", help="copy a SQLite ledger into a team's shared PostgreSQL ledger",
        description="Copies every request and attempt of the SQLite ledger (--ledger, default "
        "the state directory's) into the shared ledger, under ledger.team. Requests already "
        "there are skipped, so running it twice writes nothing twice.",
    )
    migrate.add_argument("--to", metavar="URL",
                         help="postgresql:// URL (default: ledger.url or ledger.url_env)")
    add_ledger_arg(migrate)
    add_project_arg(migrate)
    add_config_arg(migrate)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args, project_root(args))
    if args.ledger_command == "migrate":
        return _migrate(args, settings)
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


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from lsp_server.ledger.identity import ledger_url, redact
    from lsp_server.ledger.migrate import copy_ledger

    try:
        url = args.to or ledger_url(settings)
    except ConfigError as exc:
        raise LedgerError(str(exc)) from None
    if not url:
        raise LedgerError("ledger migrate needs a target: --to postgresql://... (or ledger.url)")
    source_path = args.ledger or Ledger.default_path(settings)
    if not source_path.exists():
        raise LedgerError(f"no SQLite ledger at {source_path} to copy")
    with Ledger.open(source_path, settings) as source, \
            Ledger.open(settings=settings, url=url) as target:
        done = copy_ledger(source, target)
    print(f"Copied {done.requests} requests ({done.attempts} attempts) from {source_path} to "
          f"{redact(url)} (team {settings.ledger.team}); {done.skipped} were already there",
          file=sys.stderr)
    return 0
