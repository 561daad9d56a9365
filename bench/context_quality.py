"""How well the context engine picks what a real fix needed, against whole-file BM25.

For each row of a bench-data JSONL file (see ``../shared/bench-data/README.md``) the repository
is materialized at ``base_commit`` (from bare mirrors, cached in a scratch dir), indexed with
``ProjectIndex``, and ranked twice in the same run on the same tree:

* **method** — :func:`lsp_server.context.rank.ranking.rank` (mentions + BM25 over definitions and
  files + personalized PageRank + latent semantic similarity), and the context
  :func:`build_context` builds at a budget;
* **baseline** — whole-file BM25 (path + text, issue as the query), as in the SWE-bench paper.

Printed: Acc@1/3/5 (every gold file in the top k), gold-file recall within 13k/27k/50k tokens
(files taken in rank order, each costing its whole-file token estimate, until the budget is
spent), the share of the fix's changed lines that the built context contains, context size, and
per-request time. Gold = the source files the fix changed, minus files the fix created.

    python bench/context_quality.py --data ../shared/bench-data/rust-dev.jsonl --limit 10

The trees are checkouts whose history ends at ``base_commit`` (``--trees history``, the default;
see ``bench/_repos.py``), so the method runs twice on each row, in the same run: with the
project's history as evidence (``context.history``, "method + history") and without ("method").
``--history off`` / ``on`` runs one of the two only.

Rows mined from other repositories' history by ``bench/mine_commits.py`` (commit message as
the request, parent as the tree) check that a change carries over beyond the dev sets.

With ``--embedding-model NAME`` (a local Ollama embedding model, at ``--embedding-url`` or
``$OLLAMA_HOST``) the method also ranks with embedding similarity (``context.embeddings``): each
tree's passages are embedded first, as ``agentic-optimizer index --embed`` does, into a store
under the scratch dir that later runs reuse, and each request is embedded before it is ranked.
The baseline is unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repos import DEFAULT_REPOS_DIR, DEFAULT_SCRATCH, checkout, materialize

from lsp_server.config import Settings, parse_settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.bm25 import BM25
from lsp_server.context.rank.builder import build_context, project_history
from lsp_server.context.rank.ranking import ContextRequest, prepared, rank
from lsp_server.context.rank.terms import STOPWORDS

# The shared folder sits beside the repository.
BENCH_DATA = Path(__file__).resolve().parents[2] / "shared" / "bench-data"
DEFAULT_DATA = [BENCH_DATA / "rust-dev.jsonl", BENCH_DATA / "python-dev.jsonl"]
KS = (1, 3, 5)
_WORD = re.compile(r"[A-Za-z0-9_]+")


def add_row_arguments(ap: argparse.ArgumentParser) -> None:
    """Which rows to read and where their trees come from (shared with bench/fusion_oracle.py)."""
    ap.add_argument("--data", type=Path, nargs="+", default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=0, help="first N rows of each file")
    ap.add_argument("--repo", default="", help="only rows whose repo contains this")
    ap.add_argument("--repos-dir", type=Path, default=DEFAULT_REPOS_DIR)
    ap.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    ap.add_argument("--trees", choices=("history", "archive"), default="history",
                    help="history: a checkout whose history ends at the base commit (bench/_repos.py "
                         "checkout); archive: the tree alone, as git archive gives it")


def tree_of(row: dict[str, Any], args: argparse.Namespace) -> Path:
    """The row's tree at its base commit, with its history unless ``--trees archive``."""
    make = checkout if args.trees == "history" else materialize
    return make(row["repo"], row["base_commit"], repos_dir=args.repos_dir, scratch=args.scratch)


def read_rows(data: Path, repo: str = "", limit: int = 0) -> list[dict[str, Any]]:
    """The rows of a bench-data JSONL file, those of ``repo`` only when given, the first ``limit``."""
    rows = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    if repo:
        rows = [r for r in rows if repo in r["repo"]]
    return rows[:limit] if limit else rows


def baseline_tokens(text: str) -> list[str]:
    """A plain analyzer for the baseline: lower-cased words, English stop words removed."""
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in STOPWORDS and len(w) > 1]


def created_files(patch: str) -> set[str]:
    out: set[str] = set()
    lines = patch.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("--- /dev/null") and i + 1 < len(lines) and lines[i + 1].startswith("+++ b/"):
            out.add(lines[i + 1][6:].strip())
    return out


def changed_lines(patch: str) -> dict[str, set[int]]:
    """Old-side line numbers the fix touches: removed lines, and the anchor of each insertion."""
    out: dict[str, set[int]] = defaultdict(set)
    path: str | None = None
    old = 0
    prev_added = False
    for line in patch.splitlines():
        if line.startswith("--- "):
            src = line[4:].strip()
            path = src[2:] if src.startswith("a/") else None
            continue
        if line.startswith("+++ "):
            continue
        m = re.match(r"@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@", line)
        if m:
            old = int(m.group(1))
            prev_added = False
            continue
        if path is None or not line:
            continue
        tag = line[0]
        if tag == "-":
            out[path].add(old)
            old += 1
            prev_added = False
        elif tag == "+":
            if not prev_added:
                out[path].add(max(1, old - 1))
            prev_added = True
        elif tag == " ":
            old += 1
            prev_added = False
    return dict(out)


def recall_within(ranked: list[str], gold: set[str], cost: dict[str, int], budget: int) -> float:
    taken: set[str] = set()
    used = 0
    for path in ranked:
        c = cost.get(path, 0)
        if used + c > budget:
            break
        used += c
        taken.add(path)
    return len(gold & taken) / len(gold)


@dataclass
class Scores:
    acc: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    recall: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, ranked: list[str], gold: set[str], cost: dict[str, int], budgets: list[int]) -> None:
        for k in KS:
            self.acc[k].append(1.0 if gold <= set(ranked[:k]) else 0.0)
        for b in budgets:
            self.recall[b].append(recall_within(ranked, gold, cost, b))


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


class _Embeddings:
    """The embedding side for ``--embedding-model``: one event loop and one model client."""

    def __init__(self, model: str, url: str | None, store_dir: Path) -> None:
        from lsp_server.config import parse_settings
        from lsp_server.embedding_service import EmbeddingService

        settings = parse_settings({"context": {"embeddings": True, "embedding_model": model,
                                               "embedding_base_url": url,
                                               "embedding_timeout_ms": 60_000}})
        self.loop = asyncio.new_event_loop()
        self.service = EmbeddingService(settings, store_dir)

    def embed_tree(self, prep: Any) -> None:
        stored, total = self.loop.run_until_complete(self.service.embed_project(prep))
        if stored:
            print(f"  embedded {stored} passages ({total} in the tree)", flush=True)

    def spec(self, text: str) -> Any:
        spec = self.loop.run_until_complete(self.service.spec_for(text))
        if spec is None:
            raise SystemExit(f"embedding model {self.service.model.model} did not answer")
        return spec

    def close(self) -> None:
        self.loop.run_until_complete(self.service.aclose())
        self.loop.close()


def variants(choice: str) -> list[tuple[str, Settings]]:
    """The method's runs on each row: without and with the history evidence."""
    out = []
    if choice in ("off", "both"):
        out.append(("method", parse_settings({"context": {"history": False}})))
    if choice in ("on", "both"):
        out.append(("method + history", parse_settings({"context": {"history": True}})))
    return out


@dataclass
class Variant:
    """One method variant's tallies over a data file."""

    label: str
    settings: Settings
    scores: Scores = field(default_factory=Scores)
    line_hits: int = 0
    line_total: int = 0
    line_share: list[float] = field(default_factory=list)
    ctx_bytes: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    elapsed: list[float] = field(default_factory=list)


def run(args: argparse.Namespace) -> int:
    budgets = [int(b) for b in args.budgets.split(",")]
    settings = Settings()
    emb = (_Embeddings(args.embedding_model, args.embedding_url, args.scratch / "state" / "embeddings")
           if args.embedding_model else None)
    try:
        return _run(args, budgets, settings, emb)
    finally:
        if emb is not None:
            emb.close()


def _run(args: argparse.Namespace, budgets: list[int], settings: Settings, emb: _Embeddings | None) -> int:
    for data in args.data:
        rows = read_rows(data, args.repo, args.limit)
        methods = [Variant(label, s) for label, s in variants(args.history)]
        base = Scores()
        ceiling: dict[int, list[float]] = defaultdict(list)
        index_s: list[float] = []
        history_s: list[float] = []
        skipped = 0
        for row in rows:
            root = tree_of(row, args)
            t0 = time.perf_counter()
            index = ProjectIndex.open(root, settings=settings, state_dir=args.scratch / "state" / root.name)
            index.refresh()
            prep = prepared(index)
            index_s.append(time.perf_counter() - t0)
            files = set(prep.files)
            gold = {g for g in row["gold_files"] if g not in created_files(row["fix_patch"])} & files
            if not gold:
                skipped += 1
                continue
            for k in KS:
                ceiling[k].append(1.0 if len(gold) <= k else 0.0)
            cost = prep.file_tokens
            semantic = None
            if emb is not None:
                emb.embed_tree(prep)
                semantic = emb.spec(row["request"])
            request = ContextRequest(text=row["request"], semantic=semantic)
            changed = changed_lines(row["fix_patch"])
            notes = []
            for v in methods:
                t1 = time.perf_counter()
                history = project_history(index, v.settings)
                if history is not None:
                    history_s.append(time.perf_counter() - t1)
                t1 = time.perf_counter()
                ranked_files, _ = rank(index, request, history)
                v.elapsed.append((time.perf_counter() - t1) * 1000)
                ranked = [f.path for f in ranked_files]
                v.scores.add(ranked, gold, cost, budgets)
                row_hits = row_total = 0
                for budget in (args.context_budget, v.settings.context.budget_tokens):
                    ctx = build_context(index, request, budget_tokens=budget, settings=v.settings, for_cloud=False)
                    v.ctx_bytes[budget].append(len(ctx.text.encode("utf-8")))
                    if budget != args.context_budget:
                        continue
                    in_ctx = {f.path: f.ranges for f in ctx.files if f.in_context}
                    for path in gold:
                        for ln in changed.get(path, ()):
                            row_total += 1
                            if any(a <= ln <= b for a, b in in_ctx.get(path, ())):
                                row_hits += 1
                v.line_hits += row_hits
                v.line_total += row_total
                if row_total:
                    v.line_share.append(row_hits / row_total)
                notes.append(f"{v.label}: top5={ranked[:5]} hit@5={gold <= set(ranked[:5])} "
                             f"lines={row_hits}/{row_total}")

            bm = _baseline_index(index, prep.files)
            bscores = bm.scores(baseline_tokens(row["request"]))
            branked = sorted(files, key=lambda p: (-bscores.get(p, 0.0), p))
            base.add(branked, gold, cost, budgets)
            if args.verbose:
                print(f"{row['instance_id']}: gold={sorted(gold)} " + " ".join(notes)
                      + f" base_hit@5={gold <= set(branked[:5])}", flush=True)
        n = len(base.acc[1])
        print(f"\n== {data.name}: {n} rows scored ({skipped} without gold in the tree; trees: {args.trees}) ==")
        print(f"{'':22}" + "".join(f"{'Acc@' + str(k):>9}" for k in KS)
              + "".join(f"{'R@' + str(b // 1000) + 'k':>9}" for b in budgets))
        for label, sc in (("whole-file BM25", base), *((v.label, v.scores) for v in methods)):
            print(f"{label:22}" + "".join(f"{mean(sc.acc[k]):9.3f}" for k in KS)
                  + "".join(f"{mean(sc.recall[b]):9.3f}" for b in budgets))
        print(f"{'ceiling':22}" + "".join(f"{mean(ceiling[k]):9.3f}" for k in KS))
        for v in methods:
            for k in KS:
                b, m = mean(base.acc[k]), mean(v.scores.acc[k])
                print(f"  {v.label} Acc@{k}: / BM25 = {m / b if b else float('inf'):.2f}x")
        for v in methods:
            print(f"{v.label}: changed lines inside a {args.context_budget}-token context: "
                  f"{v.line_hits}/{v.line_total} = "
                  f"{v.line_hits / v.line_total if v.line_total else float('nan'):.3f}"
                  f" (mean per row {mean(v.line_share):.3f})")
            for budget, sizes in sorted(v.ctx_bytes.items()):
                print(f"  context size at {budget} tokens: mean {statistics.mean(sizes) / 1024:.1f} KB, "
                      f"max {max(sizes) / 1024:.1f} KB")
            if v.elapsed:
                el = sorted(v.elapsed)
                print(f"  rank time per request: p50 {statistics.median(el):.0f} ms, "
                      f"p95 {el[min(len(el) - 1, int(0.95 * len(el)))]:.0f} ms")
        print(f"index open+refresh+prepare mean {statistics.mean(index_s):.2f} s"
              + (f"; history refresh mean {statistics.mean(history_s) * 1000:.0f} ms "
                 f"(first read of a tree, then the no-change check)" if history_s else ""))
    return 0


_BASELINES: dict[tuple[str, int], Any] = {}


def _baseline_index(index: ProjectIndex, files: list[str]) -> BM25[str]:
    key = (str(getattr(index, "root", id(index))), len(files))
    if key not in _BASELINES:
        _BASELINES.clear()
        docs = {p: baseline_tokens(p.replace("/", " ") + " " + (index.text(p) or "")) for p in files}
        _BASELINES[key] = BM25(docs)
    bm: BM25[str] = _BASELINES[key]
    return bm


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_row_arguments(ap)
    ap.add_argument("--budgets", default="13000,27000,50000")
    ap.add_argument("--context-budget", type=int, default=13000)
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--history", choices=("both", "off", "on"), default="both",
                    help="rank without the history evidence, with it, or both (default)")
    ap.add_argument("--embedding-model", default="",
                    help="also rank with this local Ollama embedding model (e.g. nomic-embed-text)")
    ap.add_argument("--embedding-url", default=None,
                    help="the Ollama server for --embedding-model (default: $OLLAMA_HOST or localhost)")
    return run(ap.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
