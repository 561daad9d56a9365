"""Fuzz the language server over stdio for longer than CI does, with new inputs each run.

Runs ``tests/lsp/test_lsp_fuzz.py`` (generated LSP traffic: unknown methods, wrong parameter
types, out-of-range positions, non-file URIs, huge and empty documents, lone surrogates,
commands with wrong arguments, cancelled requests, bodies that are not JSON-RPC) with
``--examples`` examples and a random seed, and prints how many messages were sent and whether
the server kept serving. CI runs the same test with a fixed set of 150 examples.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3000,
                        help="generated examples (each one to five messages); default 3000")
    args = parser.parse_args()
    env = {**os.environ, "FUZZ_EXAMPLES": str(args.examples), "FUZZ_RANDOM": "1"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
         "tests/lsp/test_lsp_fuzz.py"], cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith("LSP fuzzing:")]
    print(lines[0] if lines else "LSP fuzzing: no count printed (the run failed early)")
    print(f"{args.examples} examples in {elapsed:.0f} s; pytest exit {proc.returncode}")
    if proc.returncode != 0:
        print(proc.stdout[-4000:])
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
