"""``agentic-optimizer serve``: the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lsp_server.commands.common import add_config_arg
from lsp_server.errors import ConfigError
from lsp_server.logs import setup_logging


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the language server (stdio by default)",
        description="Run the language server. Editors start it with no arguments and talk over stdio.",
    )
    p.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP address instead of stdio")
    p.add_argument("--log-file", metavar="PATH", help="write logs here instead of stderr")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("--context-in-process", action="store_true",
                   help="build request contexts in the server process instead of a child process "
                        "(uses less memory; the editor may wait while a context is built)")
    add_config_arg(p)


def parse_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--tcp {value!r}: expected HOST:PORT, e.g. 127.0.0.1:2087")
    return host, int(port)


def run(args: argparse.Namespace) -> int:
    from lsp_server.server import create_server

    address = parse_address(args.tcp) if args.tcp else None
    # Contexts are built in a child process; verification and index updates still run in worker
    # threads, and a short GIL switch interval lets the event loop answer the editor meanwhile.
    sys.setswitchinterval(0.0005)
    setup_logging(args.log_level, args.log_file)
    server = create_server(config_path=args.config, context_process=not args.context_in_process)
    if address is not None:
        server.start_tcp(*address)
    else:
        server.start_io()
    return 0
