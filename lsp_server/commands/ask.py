"""``agentic-optimizer ask``: answer or edit with the cheapest capable model."""

from __future__ import annotations

import argparse
from typing import Any

from lsp_server.errors import NotBuiltError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("ask", help="answer or edit with the cheapest capable model (not built yet)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("the 'ask' command is not built yet in this version")
