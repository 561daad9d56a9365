"""Resident memory of the server and of its context process on a real repository.

For each source tree given (``--tree LABEL=DIR``, default this checkout) and each way of
building contexts (the default context process, and ``serve --context-in-process``), starts
`agentic-optimizer serve` on DIR from that tree (as `lsp_latency.py` does), reindexes, waits until
the context process has built its ranking tables (its RSS steady for two seconds), and reads
VmRSS from /proc for the server and the context process after start-up, then again after
``--requests`` `agentic.explain` requests (a stand-in model answers at once). The variants run
alternately, ``--runs`` times each; medians are printed.

``--breakdown`` instead opens the index in this process, step by step as the context process
does, and prints VmRSS after each step, then the largest allocation sites of the ranking tables.

Usage: python bench/context_memory.py DIR [--runs 3] [--requests 3] [--tree before=../old-checkout]
       python bench/context_memory.py DIR --breakdown
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

from lsp_latency import KEY_VAR, index_and_open, start_server, stop_server
from lsprotocol import types as lsp
from soak import context_pid, mb, rss_kb, server_pid, steady_rss

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from standins import Reply, StandinServer

HERE = Path(__file__).resolve().parents[1]


async def one_run(root: Path, tree: Path, in_process: bool, requests: int) -> list[int | None]:
    home = tempfile.mkdtemp(prefix="agentic-mem-")
    with StandinServer("openai", fallback=Reply("It matches lines."), api_key="sk-bench") as stand:
        config = Path(home) / "mem.toml"
        config.write_text(
            "[[models]]\nname = \"m\"\nprovider = \"openai\"\nmodel = \"gpt-4.1-mini\"\ntier = \"budget\"\n"
            f"base_url = \"{stand.url}\"\napi_key_env = \"{KEY_VAR}\"\nmax_retries = 0\n"
            "[hover]\nexplain = false\n[cache]\nenabled = false\n")
        extra = ("--context-in-process",) if in_process else ()
        client = await start_server(root, home, config, {KEY_VAR: "sk-bench"}, *extra, cwd=tree)
        server = server_pid()
        target, text = await index_and_open(client, root)
        child = None if in_process else context_pid(server)
        child_start = await asyncio.to_thread(steady_rss, child)
        server_start = await asyncio.to_thread(steady_rss, server)
        step = max(1, text.count("\n") // (requests + 1))
        for i in range(requests):
            line = step * (i + 1)
            await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
                command="agentic.explain", arguments=[target.as_uri(), {
                    "start": {"line": line, "character": 0}, "end": {"line": line + 3, "character": 0}}]))
        child_after = await asyncio.to_thread(steady_rss, child)
        server_after = await asyncio.to_thread(steady_rss, server)
        await stop_server(client)
    return [server_start, child_start, server_after, child_after]


def breakdown(root: Path) -> None:
    """VmRSS after each step of what the context process builds, in this process."""
    import gc
    import os
    import tracemalloc

    def step(name: str) -> None:
        gc.collect()
        print(f"{name:<46}{mb(rss_kb(os.getpid())[0]):>10}")  # type: ignore[index]

    os.environ["AGENTIC_OPTIMIZER_HOME"] = tempfile.mkdtemp(prefix="agentic-mem-")
    step("interpreter (with the benchmark's imports)")
    from lsp_server.config import Settings, SettingsSource
    from lsp_server.context.documents import Documents
    from lsp_server.context.index.project import ProjectIndex
    from lsp_server.context.rank.ranking import tables_for
    from lsp_server.context.rank.tables import build_tables

    step("imports")
    index = ProjectIndex.open(root, settings=SettingsSource(Settings()), documents=Documents(), workers=1)
    index.refresh()
    step("index built and opened")
    for path in index.files():
        index.file(path)
    step("every file's symbols")
    index.definitions_named("")
    index.references_named("")
    step("name tables")
    index.edges_by_file()
    index.file_edges()
    step("derived edges")
    with tables_for(index):
        pass
    step("ranking tables")
    tracemalloc.start()
    fresh = build_tables(index)  # a second copy, traced, for where its memory goes
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    del fresh
    print("\nlargest allocation sites of the ranking tables (a second copy, traced):")
    for stat in snapshot.statistics("lineno")[:8]:
        frame = stat.traceback[0]
        where = frame.filename.rpartition("/lsp_server/")[2] or frame.filename
        print(f"  {stat.size / 2**20:7.1f} MB {stat.count:>9}  {where.rpartition('site-packages/')[2]}:{frame.lineno}")
    index.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=3)
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=DIR",
                    help="a source tree to run the server from (repeatable; default: this checkout)")
    ap.add_argument("--breakdown", action="store_true",
                    help="the context process's steps in this process, with RSS after each")
    args = ap.parse_args()
    if args.breakdown:
        breakdown(args.root.resolve())
        return
    trees = [(label, Path(d).resolve()) for label, _, d in (t.partition("=") for t in args.tree)] \
        or [("this tree", HERE)]
    variants = [(label, tree, in_process) for label, tree in trees for in_process in (False, True)]
    got: dict[int, list[list[int | None]]] = {i: [] for i in range(len(variants))}
    for run in range(args.runs):
        for i, (label, tree, in_process) in enumerate(variants):
            got[i].append(await one_run(args.root.resolve(), tree, in_process, args.requests))
            print(f"run {run + 1}: {label}, {'in-process' if in_process else 'context process'}: "
                  + ", ".join(mb(v, "") for v in got[i][-1]) + " MB", flush=True)
    print(f"\nmedians of {args.runs} alternating runs, MB (VmRSS; after {args.requests} requests)")
    print(f"{'tree':<14}{'contexts built':<18}{'server':>8}{'child':>8}{'sum':>8}"
          f"{'server':>9}{'child':>8}{'sum':>8}")
    print(f"{'':<32}{'after start-up':^24}{'after requests':^25}")
    for i, (label, _, in_process) in enumerate(variants):
        cols = []
        for k in range(4):
            vals = [r[k] for r in got[i] if r[k] is not None]
            cols.append(statistics.median(vals) if vals else None)
        start_sum = (cols[0] or 0) + (cols[1] or 0)
        after_sum = (cols[2] or 0) + (cols[3] or 0)
        cells = [mb(v, "") for v in (cols[0], cols[1], start_sum, cols[2], cols[3], after_sum)]
        print(f"{label:<14}{'in-process' if in_process else 'context process':<18}"
              + "".join(f"{c:>{w}}" for c, w in zip(cells, (8, 8, 8, 9, 8, 8), strict=True)))


if __name__ == "__main__":
    asyncio.run(main())
