"""LSP latency over stdio on a real repository.

Starts `agentic-optimizer serve` on DIR with one model served by a local stand-in whose answers
take a few seconds, opens the largest Rust file, and measures, each as p50/p95 and as a ratio to
a baseline round trip measured in the same run (a request the server rejects at once):

- codeAction listing (a diagnostic plus a selection), idle and while a model request is in flight
- the index part of hover (explanations off), idle and while a model request is in flight,
  both right after an edit (the index catches up with the buffer first) and with no edit since
  the last hover
- didChange handling while a model request is in flight (didChange + a following request,
  minus that request alone)

"In flight" starts when the request is sent, so the busy rounds cover the server's work for it
(building the context, the first request's ranking tables included) as well as the wait for the
model; the rounds are interleaved so each measure sees both phases. How many rounds ran before
the model was reached is printed.

Usage: python bench/lsp_latency.py DIR [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from standins import Reply, StandinServer

KEY_VAR = "AGENTIC_BENCH_KEY"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def largest_rust_file(root: Path) -> Path:
    files = [p for p in root.rglob("*.rs") if "target" not in p.parts]
    return max(files, key=lambda p: p.stat().st_size)


async def timed(coro: Any) -> float:
    t0 = time.perf_counter()
    await coro
    return (time.perf_counter() - t0) * 1000


async def start_server(root: Path, home: str, config: Path, env: dict[str, str],
                       *extra: str, cwd: Path | None = None) -> LanguageClient:
    """`agentic-optimizer serve` over stdio with its state under HOME, initialized on ROOT;
    run from CWD (whose `lsp_server` package is the one imported) when given. Its log goes to
    HOME/server.log (nothing reads the stderr pipe, which would fill up and block it)."""
    env = dict(os.environ, AGENTIC_OPTIMIZER_HOME=home, **env)
    client = LanguageClient("bench", "1")
    await client.start_io(sys.executable, "-m", "lsp_server", "serve", "--config", str(config),
                          "--log-level", "warning", "--log-file", str(Path(home) / "server.log"), *extra,
                          env=env, cwd=cwd)
    await client.initialize_async(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(), root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)]))
    client.initialized(lsp.InitializedParams())
    return client


async def index_and_open(client: LanguageClient, root: Path) -> tuple[Path, str]:
    """Build the index (timed), then open the largest Rust file; its path and text."""
    t0 = time.perf_counter()
    await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command="agentic.reindex"))
    print(f"repository: {root} (index ready in {time.perf_counter() - t0:.2f} s)")
    target = largest_rust_file(root)
    text = target.read_text(errors="replace")
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=target.as_uri(), language_id="rust", version=1, text=text)))
    return target, text


async def stop_server(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", type=Path)
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    root: Path = args.root.resolve()
    home = tempfile.mkdtemp(prefix="agentic-bench-")
    stand = StandinServer("openai", fallback=Reply("It matches lines.", delay=8.0), api_key="sk-bench")
    stand.start()
    config = Path(home) / "bench.toml"
    config.write_text(
        "[[models]]\nname = \"m\"\nprovider = \"openai\"\nmodel = \"gpt-4.1-mini\"\ntier = \"budget\"\n"
        f"base_url = \"{stand.url}\"\napi_key_env = \"{KEY_VAR}\"\nmax_retries = 0\n"
        "[hover]\nexplain = false\n[cache]\nenabled = false\n"
    )
    client = await start_server(root, home, config, {KEY_VAR: "sk-bench"})
    target, text = await index_and_open(client, root)
    uri = target.as_uri()
    lines = text.count("\n")
    print(f"file: {target.relative_to(root)} ({lines} lines)")

    mid = lines // 2
    rng = lsp.Range(start=lsp.Position(line=mid, character=0), end=lsp.Position(line=mid + 6, character=0))
    diag = lsp.Diagnostic(range=rng, message="unused variable: `x`")
    action_params = lsp.CodeActionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), range=rng,
                                         context=lsp.CodeActionContext(diagnostics=[diag]))
    idents = [(i, line.index("fn ") + 3) for i, line in enumerate(text.splitlines()) if "fn " in line]

    async def baseline() -> None:
        with contextlib.suppress(Exception):  # the server answers "method not found" at once
            await client.protocol.send_request_async("agentic/unknownMethod", {})

    async def list_actions() -> None:
        await client.text_document_code_action_async(action_params)

    above = [(line, col) for line, col in idents if line < mid]  # not moved by the busy edits

    async def hover(i: int, where: list[tuple[int, int]] = idents) -> None:
        line, col = where[i % len(where)]
        await client.text_document_hover_async(lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=line, character=col)))

    version = [1]

    async def change_then_list() -> None:
        version[0] += 1
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version[0]),
            content_changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=lsp.Position(line=mid, character=0), end=lsp.Position(line=mid, character=0)),
                text="// x\n" if version[0] % 2 == 0 else "")]))
        await list_actions()

    for _ in range(20):  # warm up
        await baseline()
        await list_actions()
    base = [await timed(baseline()) for _ in range(args.rounds)]
    idle_actions = [await timed(list_actions()) for _ in range(args.rounds)]
    hovers = [await timed(hover(i)) for i in range(args.rounds)]

    def model_reached() -> bool:
        return any(r.path.endswith("/chat/completions") for r in stand.requests)

    ask = asyncio.ensure_future(client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="agentic.explain", arguments=[uri, {"start": {"line": mid, "character": 0},
                                                    "end": {"line": mid + 3, "character": 0}}])))
    t_ask = time.perf_counter()
    busy_actions: list[float] = []
    busy_change: list[float] = []
    busy_hovers: list[float] = []
    edit_hovers: list[float] = []
    before_model = 0
    reached_ms: float | None = None
    for i in range(args.rounds // 2):
        if ask.done():  # every round is measured with the request in flight
            break
        if reached_ms is None and model_reached():
            reached_ms = (time.perf_counter() - t_ask) * 1000
        before_model += reached_ms is None
        busy_actions.append(await timed(list_actions()))
        busy_change.append(await timed(change_then_list()))
        edit_hovers.append(await timed(hover(2 * i, above)))
        busy_hovers.append(await timed(hover(2 * i + 1, above)))
    in_flight = not ask.done()
    await ask

    b50 = statistics.median(base)
    print(f"\nbaseline round trip (rejected request): p50 {b50:.2f} ms, p95 {pct(base, .95):.2f} ms")
    print(f"{'measure':<46}{'p50 ms':>9}{'p95 ms':>9}{'p95/base p50':>14}")
    change_cost = [c - statistics.median(busy_actions) for c in busy_change]
    for name, values in (
        ("codeAction listing (idle)", idle_actions),
        ("hover, index part", hovers),
        ("codeAction listing (model request in flight)", busy_actions),
        ("hover, index part (model request in flight)", busy_hovers),
        ("  the same right after an edit", edit_hovers),
        ("didChange handling (model request in flight)", change_cost),
    ):
        print(f"{name:<46}{statistics.median(values):>9.2f}{pct(values, .95):>9.2f}{pct(values, .95) / b50:>14.1f}")
    reached = f"{reached_ms:.0f} ms" if reached_ms is not None else "not during the rounds"
    print(f"\nmodel request still in flight during the busy rounds: {in_flight}")
    print(f"model reached after {reached}; {before_model} of {len(busy_actions)} busy rounds ran "
          "before it (while the server built the context)")
    await stop_server(client)
    stand.stop()


if __name__ == "__main__":
    asyncio.run(main())
