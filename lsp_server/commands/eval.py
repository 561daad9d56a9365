"""``agentic-optimizer eval``: run a task suite against the configured models.

Prints, per tier and overall, tasks solved (by each task's hidden check, not the router's
confidence), wrong answers accepted, cost, the all-premium cost, latency p50/p95 and time to
first token; ``--json`` prints the figures and every task's result as one object. The suite is
the built-in one on ``examples/`` unless ``--suite DIR`` names a folder of task files (format in
README). Exit status: 0 when no wrong answer was accepted, 1 otherwise, 2 on an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from lsp_server.commands.common import add_config_arg, add_project_arg, project_root, settings_for


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "eval", help="measure the configured models on a task suite",
        description="Run a task suite against the configured models and print, per tier and "
                    "overall, tasks solved (by each task's hidden check), wrong answers "
                    "accepted, cost, all-premium cost, latency p50/p95 and time to first token.",
    )
    p.add_argument("--suite", type=Path, metavar="DIR",
                   help="a folder of task files (*.toml); default: the built-in suite on examples/")
    p.add_argument("--only", action="append", metavar="ID",
                   help="run only this task (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_project_arg(p)
    add_config_arg(p)


async def _run(args: argparse.Namespace) -> int:
    from lsp_server.errors import ConfigError, NoModelAvailableError
    from lsp_server.evaluation.report import format_table, summarize
    from lsp_server.evaluation.runner import run_suite
    from lsp_server.evaluation.suite import BUILTIN_SUITE, load_suite

    root = project_root(args)
    settings = settings_for(args, root)
    if not settings.models:
        raise NoModelAvailableError("eval measures the configured models: list them under "
                                    "[[models]] in agentic-optimizer.toml (or --config PATH)")
    tasks = load_suite((args.suite or BUILTIN_SUITE).resolve())
    if args.only:
        wanted = set(args.only)
        unknown = wanted - {t.id for t in tasks}
        if unknown:
            raise ConfigError(f"--only: no task {', '.join(sorted(unknown))} in the suite")
        tasks = [t for t in tasks if t.id in wanted]

    def tell(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    results = await run_suite(tasks, settings, tell)
    summary = summarize(results, settings.routing.tier_order)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for r in results:
            mark = "solved" if r.solved else ("WRONG, accepted" if r.wrong_accepted else "unsolved")
            print(f"{r.id:<28} {r.tier or '-':<8} {mark:<16} {r.detail}")
        print()
        print(format_table(summary))
    return 1 if summary["overall"]["wrong_accepted"] else 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
