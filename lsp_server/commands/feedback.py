"""``agentic-optimizer feedback``: rate or reject a past request."""

from __future__ import annotations

import argparse
from typing import Any

from lsp_server.errors import NotBuiltError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("feedback", help="rate or reject a past request (not built yet)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("the 'feedback' command is not built yet in this version")
