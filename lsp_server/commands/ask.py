"""``agentic-optimizer ask``: answer or edit with the cheapest capable model.

The answer (or the unified diff of an edit) goes to stdout; what it cost, which tier answered
and any notes go to stderr, so the output can be piped. ``--json`` prints one object instead.
Exit status: 0 when answered, 1 when no answer was accepted, 2 on an error (bad arguments, no
model available, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsp_server import wire
from lsp_server.commands.common import add_config_arg, add_project_arg, project_root, settings_for
from lsp_server.errors import ConfigError
from lsp_server.routing.kinds import TASK_KINDS

if TYPE_CHECKING:
    from lsp_server.assistant import Plan
    from lsp_server.routing.attempts import AttemptInfo


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "ask", help="answer or edit with the cheapest capable model",
        description="Answer a question or make an edit with the cheapest model that passes "
                    "verification. Index questions (\"where is X defined\", \"who calls Y\") "
                    "are answered with no model.",
    )
    p.add_argument("instruction", help="what to do or ask, in words")
    add_project_arg(p)
    p.add_argument("--file", type=Path, metavar="F",
                   help="the file the request is about (relative to the project, or absolute)")
    p.add_argument("--range", dest="line_range", metavar="L1:L2",
                   help="lines of --file, 1-based and inclusive (L1:L2, or L for one line)")
    p.add_argument("--kind", choices=TASK_KINDS, default="ask",
                   help="task kind (default: ask, which reads the instruction to decide)")
    p.add_argument("--diagnostic", action="append", default=[], metavar="MESSAGE",
                   help="a diagnostic's message that the edit must fix (repeatable; with "
                        "--kind fix, --file and --range): the edit is accepted only when it is gone")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--diff", action="store_true", help="print only the unified diff of an edit")
    out.add_argument("--apply", action="store_true", help="write the edit to the files")
    p.add_argument("--dry-run", action="store_true",
                   help="show the chosen tier and why, the context and the cost per tier; no call")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="also show every model call and the tool calls it made (on stderr)")
    add_config_arg(p)


def parse_line_range(text: str) -> tuple[int, int]:
    """``12:30`` → (12, 30); ``7`` → (7, 7). Lines are 1-based and inclusive."""
    parts = text.replace("-", ":").split(":")
    try:
        numbers = [int(p) for p in parts if p.strip()]
    except ValueError:
        raise ConfigError(f"--range {text!r}: expected L1:L2 with line numbers, e.g. 10:24") from None
    if len(numbers) == 1:
        numbers = numbers * 2
    if len(numbers) != 2 or numbers[0] < 1 or numbers[1] < numbers[0]:
        raise ConfigError(f"--range {text!r}: expected L1:L2 with 1 <= L1 <= L2, e.g. 10:24")
    return numbers[0], numbers[1]


def _target_file(root: Path, file: Path | None) -> Path | None:
    if file is None:
        return None
    path = (file if file.is_absolute() else root / file).resolve()
    if not path.is_file():
        raise ConfigError(f"--file {file}: no such file in {root}")
    try:
        path.relative_to(root)
    except ValueError:
        raise ConfigError(f"--file {file}: outside the project {root}") from None
    return path


def _money(value: float | None) -> str:
    if value is None:
        return "unpriced"
    return "$0" if value == 0 else f"${value:.4f}"


def _summary_line(result: Any) -> str:
    who = f"{result.tier} · {result.model}" if result.model else ("index" if result.outcome == "index"
                                                                   else "no model")
    parts = [f"{result.outcome}: {who}", f"cost {_money(result.cost_usd)}"]
    if result.premium_cost_usd is not None:
        parts.append(f"premium alone {_money(result.premium_cost_usd)}")
    calls = [a for a in result.attempts if not a.cached]
    parts.append(f"{len(calls)} call{'s' if len(calls) != 1 else ''}")
    parts.append(f"{result.elapsed_ms:.0f} ms")
    if result.request_id:
        parts.append(f"id {result.request_id}")
    return " · ".join(parts)


async def _run(args: argparse.Namespace) -> int:
    from lsp_server.assistant import Assistant, AssistRequest
    from lsp_server.edits import FixDiagnostic, write_changes

    root = project_root(args)
    settings = settings_for(args, root)
    path = _target_file(root, args.file)
    line_range = parse_line_range(args.line_range) if args.line_range else None
    if line_range is not None and path is None:
        raise ConfigError("--range needs --file")
    if line_range is not None and path is not None:
        total = len(path.read_text(encoding="utf-8", errors="replace").split("\n"))
        if line_range[0] > total:
            raise ConfigError(f"--range {args.line_range}: {args.file} has {total} lines")
    if args.diagnostic and path is None:
        raise ConfigError("--diagnostic needs --file (and --range: the lines it is on)")
    request = AssistRequest(
        kind=args.kind, instruction=args.instruction, path=path, line_range=line_range,
        cursor=(line_range[0], 0) if line_range else None,
        diagnostics=tuple(FixDiagnostic(m) for m in args.diagnostic if m.strip()),
    )
    assistant = Assistant(root, settings)
    try:
        if args.dry_run:
            plan = await assistant.plan(request)
            if args.json:
                print(json.dumps(plan.as_json(), indent=2, default=str))
            else:
                print(format_plan(plan))
            return 0
        result = await assistant.run(request)
    finally:
        await assistant.aclose()
    applied = False
    if args.apply and result.changes:
        written = write_changes(root, result.changes)
        applied = True
        print(f"applied: {', '.join(written)}", file=sys.stderr)
    if args.json:
        print(json.dumps(wire.result_json(result, applied), indent=2))
    else:
        if result.diff and not args.apply:
            sys.stdout.write(result.diff if result.diff.endswith("\n") else result.diff + "\n")
        elif result.answer and not args.diff:
            print(result.answer.rstrip())
        if args.verbose:
            for line in attempt_lines(result.attempts):
                print(line, file=sys.stderr)
        print(_summary_line(result), file=sys.stderr)
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
    if result.outcome in ("accepted", "cache_hit", "index"):
        return 0
    if result.outcome == "failed" and not args.json:
        print("no model answered: check that the configured models are reachable "
              "(`agentic-optimizer doctor`), start Ollama, or set an API key", file=sys.stderr)
    return 1


def attempt_lines(attempts: Sequence[AttemptInfo]) -> list[str]:
    """Each call of a request on a line, with the tool calls of a tool turn under it."""
    lines: list[str] = []
    for i, a in enumerate(attempts, 1):
        what = ("cache hit" if a.cached else f"error: {a.error}" if a.error
                else f"judge of {a.judge_of}: {a.reasons[-1]}" if a.judge_of
                else "accepted" if a.accepted else f"stopped: {a.stopped}" if a.stopped
                else "tool turn" if a.tool_calls else "rejected")
        lines.append(f"call {i}: {a.tier} · {a.provider} · {what} · {a.usage.input} in / "
                     f"{a.usage.output} out · {_money(a.cost_usd)}")
        lines += [f"  tool {c.label()}" for c in a.tool_calls]
    return lines


def format_plan(plan: Plan) -> str:
    """The dry-run plan as text for a terminal."""
    if plan.search is not None:
        return (f"search: {plan.search} — answered from the index, no model, $0\n"
                + "\n".join(f"  - {r}" for r in plan.reasons))
    lines = [f"mode: {plan.mode}   start tier: {plan.tier}   model: {plan.model or '-'}", "why:"]
    lines += [f"  - {r}" for r in plan.reasons]
    ctx = plan.context
    files = ctx.files if ctx is not None else []
    lines.append(f"context: {ctx.tokens if ctx else 0} tokens of {ctx.budget if ctx else 0} from "
                 f"{len(files)} file(s)" + (f": {', '.join(files[:12])}" if files else ""))
    if ctx is not None and ctx.excluded:
        lines.append(f"  excluded from cloud prompts: {', '.join(ctx.excluded)}")
    if ctx is not None and ctx.redactions:
        lines.append(f"  secrets redacted for cloud models: {ctx.redactions}")
    lines.append("estimated cost per tier:")
    for t in plan.tiers:
        shown = "unpriced" if t.cost_usd is None else f"${t.cost_usd:.5f}"
        flags = "" if t.allowed else "  (not allowed: privacy)"
        if t.cooling_down:
            flags += "  (cooling down)"
        lines.append(f"  {t.tier:<8} {t.model:<20} {t.input_tokens:>6} in / "
                     f"{t.output_tokens:>5} out  {shown}{flags}")
    if plan.premium_cost_usd is not None:
        lines.append(f"premium model alone: ${plan.premium_cost_usd:.5f}")
    lines += [f"note: {note}" for note in plan.notes]
    return "\n".join(lines)



def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
