"""``agentic-optimizer context``: show the ranked context a request would send."""

from __future__ import annotations

import argparse
from typing import Any

from lsp_server.errors import NotBuiltError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("context", help="show the ranked context a request would send (not built yet)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("the 'context' command is not built yet in this version")
