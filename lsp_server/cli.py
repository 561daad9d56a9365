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

# One line each, so that building the parser for one command imports only that command's module.
COMMANDS: dict[str, str] = {
    "serve": "run the language server (stdio by default)",
    "ask": "answer or edit with the cheapest capable model",
    "context": "show the ranked context a request would send",
    "index": "build or refresh the symbol index of a project",
    "metrics": "spend, savings and latency from the ledger",
    "feedback": "rate or reject a past request",
    "ledger": "export the ledger (ledger export --csv)",
    "doctor": "show effective settings and which models are reachable",
    "eval": "measure the configured models on a task suite",
}


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"lsp_server.commands.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or one where only command ``only`` is built in detail."""
    parser = argparse.ArgumentParser(
        prog="agentic-optimizer",
        description="A cost-optimized AI coding assistant: language server and command line.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        if only is None or name == only:
            _load(name).register(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    first = next((w for w in words if not w.startswith("-")), None)
    wants_help = any(w in ("-h", "--help") for w in words[: words.index(first)] if first) if first else True
    parser = build_parser(first if first in COMMANDS and not wants_help else None)
    args = parser.parse_args(words)
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
