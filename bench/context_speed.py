"""How long a context takes to build on a large real repository (tokio by default).

The tree is materialized from a bare mirror, indexed with ``ProjectIndex`` (warm after the
first run), then every request of a bench-data file is answered with ``build_context`` at the
default budget. Printed: the one-off preparation of the ranking tables, per-request p50/p95
(the target is p95 ≤ 300 ms on tokio), and the same figures for scoring the request with
whole-file BM25 alone in the same run, as the ratio baseline. Then the editor's side: the
largest file is opened as a buffer and edited (a keystroke in a body; a new function), and
bringing the ranking tables up to date after each edit is timed against building them anew.

    python bench/context_speed.py --repo tokio-rs/tokio --requests ../shared/bench-data/rust-dev.jsonl

With ``--baseline-tree DIR`` (a checkout of another commit, e.g. ``git worktree add ../base
main``) it first times the one-off ``agentic-optimizer context`` command, as a shell user runs
it, on a warm index: the command from this tree and from DIR alternately, each with a state
directory of its own warmed by one unmeasured run, medians and their ratio, and the load
average around the runs. ``--oneoff-only`` stops after that. ``--bytecode`` lets those
commands keep their compiled modules (``__pycache__``) even where PYTHONDONTWRITEBYTECODE
is set, as in an installed package.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repos import DEFAULT_REPOS_DIR, DEFAULT_SCRATCH, git_dir, materialize

from lsp_server.config import Settings
from lsp_server.context.documents import Documents, TextChange
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.builder import build_context
from lsp_server.context.rank.ranking import ContextRequest, prepared, tables_for
from lsp_server.context.rank.tables import build_tables
from lsp_server.context.rank.terms import tokenize
from lsp_server.text import Position, Span


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", default="tokio-rs/tokio")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--requests", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "bench-data" / "rust-dev.jsonl")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--edits", type=int, default=20, help="editor change rounds timed after the requests")
    ap.add_argument("--budget", type=int, default=Settings().context.budget_tokens)
    ap.add_argument("--repos-dir", type=Path, default=DEFAULT_REPOS_DIR)
    ap.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    ap.add_argument("--baseline-tree", type=Path,
                    help="time the one-off context command from this source tree against this one")
    ap.add_argument("--oneoff-runs", type=int, default=7, help="alternated runs of each command")
    ap.add_argument("--oneoff-only", action="store_true", help="only the one-off command comparison")
    ap.add_argument("--bytecode", action="store_true",
                    help="let the one-off commands write and use bytecode caches (__pycache__) even "
                         "when PYTHONDONTWRITEBYTECODE is set, as an installed package has them")
    args = ap.parse_args()

    commit = subprocess.run(
        ["git", "--git-dir", str(git_dir(args.repos_dir, args.repo)), "rev-parse", args.commit],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    root = materialize(args.repo, commit, repos_dir=args.repos_dir, scratch=args.scratch)
    if args.baseline_tree is not None:
        request = next(json.loads(line)["request"] for line in args.requests.read_text().splitlines()
                       if line.strip())
        oneoff(root, request, args)
        if args.oneoff_only:
            return 0
    settings = Settings()
    docs = Documents()
    index = ProjectIndex.open(root, settings=settings, documents=docs,
                              state_dir=args.scratch / "state" / root.name)
    docs.subscribe(index.update_document)
    t0 = time.perf_counter()
    stats = index.refresh()
    t_refresh = time.perf_counter() - t0
    t0 = time.perf_counter()
    prep = prepared(index)
    t_prepare = time.perf_counter() - t0

    texts = [json.loads(line)["request"] for line in args.requests.read_text().splitlines() if line.strip()]
    if args.limit:
        texts = texts[: args.limit]
    ours: list[float] = []
    base: list[float] = []
    sizes: list[int] = []
    for text in texts:
        t0 = time.perf_counter()
        res = build_context(index, ContextRequest(text=text), budget_tokens=args.budget,
                            settings=settings, for_cloud=True)
        ours.append((time.perf_counter() - t0) * 1000)
        sizes.append(len(res.text.encode("utf-8")))
        t0 = time.perf_counter()
        scores = prep.file_bm25.scores(tokenize(text))
        sorted(scores, key=lambda p: -scores[p])
        base.append((time.perf_counter() - t0) * 1000)

    print(f"{args.repo}@{commit[:8]}: {len(prep.files)} files, refresh {t_refresh:.2f} s "
          f"({stats}), ranking tables prepared once in {t_prepare:.2f} s")
    print(f"{len(texts)} requests at {args.budget} tokens (cloud: privacy filter on)")
    print(f"  build_context       p50 {statistics.median(ours):7.1f} ms   p95 {pct(ours, 95):7.1f} ms")
    print(f"  whole-file BM25     p50 {statistics.median(base):7.1f} ms   p95 {pct(base, 95):7.1f} ms")
    print(f"  ratio p95: {pct(ours, 95) / max(pct(base, 95), 1e-9):.1f}x whole-file BM25 scoring alone")
    print(f"  context size mean {statistics.mean(sizes) / 1024:.1f} KB, max {max(sizes) / 1024:.1f} KB")
    edits(index, docs, root, prep.file_tokens, args.edits)
    return 0


_PREPARED = re.compile(r"tokens, (\d+) ms(?: \((\d+) ms of it preparing)?")


def oneoff(root: Path, request: str, args: argparse.Namespace) -> None:
    """``agentic-optimizer context`` as separate processes: this tree's against the baseline's."""
    here = Path(__file__).resolve().parents[1]
    trees = {"baseline": args.baseline_tree.resolve(), "this tree": here}
    request_file = args.scratch / "state" / "oneoff-request.txt"
    request_file.parent.mkdir(parents=True, exist_ok=True)
    request_file.write_text(request)
    walls: dict[str, list[float]] = {label: [] for label in trees}
    prepares: dict[str, list[float]] = {label: [] for label in trees}

    def run(label: str) -> tuple[float, float]:
        env = {**os.environ, "PYTHONPATH": str(trees[label]),
               "AGENTIC_OPTIMIZER_HOME": str(args.scratch / "state" / f"oneoff-{label.replace(' ', '-')}")}
        if args.bytecode:
            # An installed package has its modules compiled; a sandbox that sets this
            # variable would make every run compile the project's modules again.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        cmd = [sys.executable, "-c", "import sys; from lsp_server.cli import main; sys.exit(main())",
               "context", "--project", str(root), "--budget", str(args.budget),
               "--request-file", str(request_file)]
        t0 = time.perf_counter()
        # cwd: ``python -c`` puts the working directory first on the import path
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, cwd=trees[label])
        wall = time.perf_counter() - t0
        m = _PREPARED.search(proc.stdout)
        return wall, float(m.group(2) or 0) if m else float("nan")

    for label in trees:  # warm: the index built, and whatever the command keeps
        run(label)
    load_before = os.getloadavg()
    for _ in range(args.oneoff_runs):
        for label in trees:
            wall, prep_ms = run(label)
            walls[label].append(wall)
            prepares[label].append(prep_ms)
    load = os.getloadavg()
    print(f"one-off `agentic-optimizer context` on {root.name}, warm index, {args.oneoff_runs} "
          f"alternated runs each (wall time of the whole process); load average "
          f"{load_before[0]:.1f} before, {load[0]:.1f} after"
          + ("; bytecode caches used" if args.bytecode else ""))
    for label in trees:
        print(f"  {label:<10} median {statistics.median(walls[label]):5.2f} s  "
              f"(min {min(walls[label]):.2f}, max {max(walls[label]):.2f}); "
              f"preparing the tables median {statistics.median(prepares[label]):.0f} ms")
    ratio = statistics.median(walls["this tree"]) / statistics.median(walls["baseline"])
    print(f"  ratio this tree / baseline: {ratio:.2f}x")


def edits(index: ProjectIndex, docs: Documents, root: Path, sizes: dict[str, int], rounds: int) -> None:
    """Tables kept current after editor changes, against building them from scratch."""
    rel = max(sizes, key=lambda p: sizes[p])
    path = root / rel
    text = path.read_text()
    docs.open(path, text, 1)
    lines = text.split("\n")
    middle = len(lines) // 2
    keystroke: list[float] = []
    new_fn: list[float] = []
    for i in range(rounds):
        version = 2 * i + 2
        docs.change(path, [TextChange(" ", Span(Position(middle, 0), Position(middle, 0)))], version)
        t0 = time.perf_counter()
        with tables_for(index):
            pass
        keystroke.append((time.perf_counter() - t0) * 1000)
        fn = f"\nfn bench_added_{i}() -> usize {{ {i} }}\n" if rel.endswith(".rs") else f"\ndef bench_added_{i}():\n    return {i}\n"
        last = (docs.text(path) or "").count("\n")
        docs.change(path, [TextChange(fn, Span(Position(last, 0), Position(last, 0)))], version + 1)
        t0 = time.perf_counter()
        with tables_for(index):
            pass
        new_fn.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    build_tables(index)
    scratch = (time.perf_counter() - t0) * 1000
    print(f"editing {rel} ({len(lines)} lines) as an open buffer, {rounds} rounds; tables from scratch {scratch:.0f} ms")
    for label, values in (("keystroke in a body", keystroke), ("new function", new_fn)):
        print(f"  tables after a {label:<20} p50 {statistics.median(values):7.1f} ms   p95 {pct(values, 95):7.1f} ms"
              f"   = {pct(values, 95) / scratch:.3f}x from scratch")


if __name__ == "__main__":
    raise SystemExit(main())
