"""How long a context takes to build on a large real repository (tokio by default).

The tree is materialized from a bare mirror, indexed with ``ProjectIndex`` (warm after the
first run), then every request of a bench-data file is answered with ``build_context`` at the
default budget. Printed: the one-off preparation of the ranking tables, per-request p50/p95
(the target is p95 ≤ 300 ms on tokio), and the same figures for scoring the request with
whole-file BM25 alone in the same run, as the ratio baseline.

    python bench/context_speed.py --repo tokio-rs/tokio --requests /work/shared/bench-data/rust-dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repos import DEFAULT_REPOS_DIR, DEFAULT_SCRATCH, git_dir, materialize

from lsp_server.config import Settings
from lsp_server.context.builder import build_context
from lsp_server.context.index import ProjectIndex
from lsp_server.context.ranking import ContextRequest, prepared
from lsp_server.context.terms import tokenize


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", default="tokio-rs/tokio")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--requests", type=Path, default=Path("/work/shared/bench-data/rust-dev.jsonl"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--budget", type=int, default=Settings().context.budget_tokens)
    ap.add_argument("--repos-dir", type=Path, default=DEFAULT_REPOS_DIR)
    ap.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    args = ap.parse_args()

    commit = subprocess.run(
        ["git", "--git-dir", str(git_dir(args.repos_dir, args.repo)), "rev-parse", args.commit],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    root = materialize(args.repo, commit, repos_dir=args.repos_dir, scratch=args.scratch)
    settings = Settings()
    index = ProjectIndex.open(root, settings=settings, state_dir=args.scratch / "state" / root.name)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
