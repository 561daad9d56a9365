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

``--oneoff`` instead runs the one-off ``agentic-optimizer context`` command from each tree, as
a shell user would: first with an empty state directory (index and ranking tables built in
that process), then ``--runs`` times warm, alternating the trees, and prints each process's
peak resident memory (``ru_maxrss``), also per 100k lines of the tree's Python and Rust source.

Usage: python bench/context_memory.py DIR [--runs 3] [--requests 3] [--tree before=../old-checkout]
       python bench/context_memory.py DIR --breakdown
       python bench/context_memory.py DIR --oneoff --tree base=../base --tree new=. [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from lsp_latency import KEY_VAR, index_and_open, start_server, stop_server
from lsprotocol import types as lsp
from soak import context_pid, mb, rss_kb, server_pid, steady_rss

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from standins import Reply, StandinServer

HERE = Path(__file__).resolve().parents[1]


async def one_run(root: Path, tree: Path, in_process: bool, requests: int,
                  home: str | None = None) -> list[int | None]:
    home = home or tempfile.mkdtemp(prefix="agentic-mem-")
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


# The command as the installed script runs it, then its own peak RSS (kB on Linux) on stderr.
_ONEOFF = ("import resource, sys\nfrom lsp_server.cli import main\ncode = main()\n"
           "print('peak-kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
           "sys.exit(code)\n")
ONEOFF_REQUEST = "wrong result when the input is empty: the function returns early without an error"


def source_lines(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        if path.suffix in (".py", ".rs") and path.is_file() and not any(
                part.startswith(".") for part in path.relative_to(root).parts):
            with path.open("rb") as fh:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return total


def oneoff_peak(root: Path, tree: Path, home: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(tree), "AGENTIC_OPTIMIZER_HOME": str(home)}
    # cwd: ``python -c`` puts the working directory first on the import path
    proc = subprocess.run([sys.executable, "-c", _ONEOFF, "context", "--project", str(root), ONEOFF_REQUEST],
                          capture_output=True, text=True, env=env, cwd=tree, check=True)
    return int(proc.stderr.rsplit("peak-kb", 1)[1].split()[0])


def oneoff(root: Path, trees: list[tuple[str, Path]], runs: int) -> None:
    lines = source_lines(root)
    homes = {label: Path(tempfile.mkdtemp(prefix="agentic-oneoff-")) for label, _ in trees}
    cold = {label: oneoff_peak(root, tree, homes[label]) for label, tree in trees}
    warm: dict[str, list[int]] = {label: [] for label, _ in trees}
    for _ in range(runs):
        for label, tree in trees:
            warm[label].append(oneoff_peak(root, tree, homes[label]))
    print(f"one-off `agentic-optimizer context` on {root.name} ({lines:,} lines of .py/.rs): peak RSS, MB")
    print(f"{'tree':<14}{'cold':>8}{'per 100k':>10}{'warm (median)':>15}{'per 100k':>10}")
    for label, _ in trees:
        c = cold[label] / 1024
        w = statistics.median(warm[label]) / 1024
        print(f"{label:<14}{c:>8.0f}{c * 1e5 / lines:>10.1f}{w:>15.0f}{w * 1e5 / lines:>10.1f}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=3)
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=DIR",
                    help="a source tree to run the server from (repeatable; default: this checkout)")
    ap.add_argument("--breakdown", action="store_true",
                    help="the context process's steps in this process, with RSS after each")
    ap.add_argument("--warm-home", action="store_true",
                    help="one state directory per variant, warmed by an unmeasured run: a restart "
                         "finds the index and the ranking tables on disk")
    ap.add_argument("--oneoff", action="store_true",
                    help="peak memory of the one-off context command, cold and warm, per tree")
    args = ap.parse_args()
    if args.breakdown:
        breakdown(args.root.resolve())
        return
    trees = [(label, Path(d).resolve()) for label, _, d in (t.partition("=") for t in args.tree)] \
        or [("this tree", HERE)]
    if args.oneoff:
        oneoff(args.root.resolve(), trees, args.runs)
        return
    variants = [(label, tree, in_process) for label, tree in trees for in_process in (False, True)]
    got: dict[int, list[list[int | None]]] = {i: [] for i in range(len(variants))}
    homes: list[str | None] = [None] * len(variants)
    if args.warm_home:
        homes = [tempfile.mkdtemp(prefix="agentic-mem-") for _ in variants]
        for i, (_, tree, in_process) in enumerate(variants):
            await one_run(args.root.resolve(), tree, in_process, args.requests, homes[i])
    for run in range(args.runs):
        for i, (label, tree, in_process) in enumerate(variants):
            got[i].append(await one_run(args.root.resolve(), tree, in_process, args.requests, homes[i]))
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
