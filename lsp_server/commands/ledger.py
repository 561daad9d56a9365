"""``agentic-optimizer ledger``: export the ledger (ledger export --csv)."""

from __future__ import annotations

import argparse
from typing import Any

from lsp_server.errors import NotBuiltError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("ledger", help="export the ledger (ledger export --csv) (not built yet)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("the 'ledger' command is not built yet in this version")
