"""``agentic-optimizer index``: build or refresh the symbol index of a project."""

from __future__ import annotations

import argparse
from typing import Any

from lsp_server.errors import NotBuiltError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("index", help="build or refresh the symbol index of a project (not built yet)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("the 'index' command is not built yet in this version")
