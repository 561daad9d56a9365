"""``python -m standins --vendor NAME [--port N] [--script FILE] [--api-key KEY] [--model M ...]``

Prints the base URL on the first stdout line, then serves until killed (SIGTERM / Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from standins.script import load_script
from standins.server import StandinServer
from standins.wire import WIRES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m standins", description=__doc__)
    parser.add_argument("--vendor", required=True, choices=sorted(WIRES))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", type=Path, help="JSON list of replies, or {replies, fallback}")
    parser.add_argument("--api-key", help="answer 401 unless requests carry this key")
    parser.add_argument("--model", action="append", dest="models",
                        help="installed/known model (repeatable); others get 404 where the vendor does")
    parser.add_argument("--fallback-text", help="answer when the script is used up")
    args = parser.parse_args(argv)
    replies, fallback = load_script(args.script.read_text()) if args.script else ([], None)
    server = StandinServer(
        args.vendor, replies, fallback=fallback or args.fallback_text, api_key=args.api_key,
        models=args.models, port=args.port,
    )
    server.start()
    print(server.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
