"""The command line: ``agentic-optimizer COMMAND``.

Each command lives in ``lsp_server/commands/<name>.py`` with ``register(subparsers)`` and
``run(args) -> int``; this module only wires them up and turns engine errors into one message.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from lsp_server import __version__
from lsp_server.errors import AgenticError

COMMANDS = ("serve", "ask", "context", "index", "metrics", "feedback", "ledger", "doctor")


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"lsp_server.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentic-optimizer",
        description="A cost-optimized AI coding assistant: language server and command line.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        _load(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    module = _load(args.command)
    try:
        result: int = module.run(args)
        return result
    except AgenticError as exc:
        print(f"agentic-optimizer {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
