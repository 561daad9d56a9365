"""What reciprocal rank fusion of the ranker's own lists can reach, row by row.

Each row of a bench-data JSONL file is materialized, indexed and its request's signals
computed once (:func:`lsp_server.context.rank.ranking.signals`: mentions, BM25 over definitions and
whole files, the personalized walk, latent similarity). Then the files are ranked by
:func:`~lsp_server.context.rank.ranking.fused_scores` under many weightings, without touching the
index again, and printed as Acc@1/3/5 (every gold file in the top k, gold as in
``bench/context_quality.py``):

* **shipped** — the weights the ranker uses (:data:`~lsp_server.context.rank.ranking.FUSION`);
* **<list> alone** — one list at full weight, the others off (raise sites and the peripheral
  factor stay), to show what each list knows on its own;
* **best single weighting** — the grid weighting with the highest mean Acc@5 (then Acc@1) on
  these rows. It is tuned on the rows it is scored on: an optimistic figure, not a method;
* **per-row oracle** — a row counts as a hit when any weighting of the grid puts all its gold
  files in the top k. No single weighting of the grid does better on these rows (one off the
  grid could, in principle, but the grid takes every list from off to double weight): when the
  oracle misses a target, the lists lack the evidence, and new evidence is needed, not weights.

* **rank constant k** — the shipped weights with k in 1 / (k + rank) swept from 1 to 120
  (shipped: 60). A small k lets each list's first places count for more against agreement
  between lists.

The grid takes each list weight at 0, 1 and 2 times its shipped value (recency, shipped off, at
0, 0.5 and 1; all lists off left out):
the five lists of the index alone (3^5 - 1 = 242 weightings), and, on trees with history
(``--trees history``, the default), the same with the three history lists
(:mod:`lsp_server.context.rank.history`: commit messages, co-change, recency; 3^8 - 1 = 6,560
weightings). The oracle share of the history lists is what the second oracle reaches beyond the
first. Weightings of the grid are fused as one matrix product per row (the same sums as
:func:`~lsp_server.context.rank.ranking.fused_scores`, ties by path). Rows take a fraction of
a second each once the index state under the scratch dir is warm.

    python bench/fusion_oracle.py --data ../shared/bench-data/rust-dev.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from context_quality import KS, add_row_arguments, created_files, read_rows, tree_of

from lsp_server.config import parse_settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.builder import project_history
from lsp_server.context.rank.ranking import (
    FUSION,
    ContextRequest,
    FusionWeights,
    Signals,
    fused_scores,
    is_peripheral_path,
    prepared,
    signals,
)

INDEX_LISTS = ("mentions", "definitions", "file_text", "walk", "latent")
HISTORY_LISTS = ("history_text", "cochange", "recency")
LISTS = INDEX_LISTS + HISTORY_LISTS
FACTORS = (0.0, 1.0, 2.0)
RANK_CONSTANTS = (1.0, 4.0, 15.0, 30.0, 60.0, 120.0)


# A list the ranker ships switched off (recency) is gridded from this weight instead.
OFF_LIST_BASE = 0.5


def grid(names: tuple[str, ...] = INDEX_LISTS) -> list[FusionWeights]:
    """Every weighting with each of ``names`` at 0, 1 or 2 times its shipped weight (or
    OFF_LIST_BASE for a list shipped off; the other lists off)."""
    off = {n: 0.0 for n in LISTS if n not in names}
    base = {n: getattr(FUSION, n) or OFF_LIST_BASE for n in names}
    out = []
    for factors in itertools.product(FACTORS, repeat=len(names)):
        if any(factors):
            out.append(replace(FUSION, **off, **{n: f * base[n] for n, f in zip(names, factors, strict=True)}))
    return out


def alone(name: str) -> FusionWeights:
    return replace(FUSION, **{n: (1.0 if n == name else 0.0) for n in LISTS}, semantic=0.0)


def without_history(weights: FusionWeights) -> FusionWeights:
    return replace(weights, **dict.fromkeys(HISTORY_LISTS, 0.0))


def _list_scores(sig: Signals, name: str) -> dict[str, float]:
    if name == "mentions":
        return dict(sig.mention_file)
    if name == "definitions":
        return sig.file_deflex
    if name == "file_text":
        return sig.file_lex
    scores: dict[str, float] = getattr(sig, name)
    return scores


def grid_hits(sig: Signals, files: list[str], gold: set[str], weightings: list[FusionWeights]) -> list[tuple[bool, ...]]:
    """Acc@k hits of every weighting, fused as one matrix product (as fused_scores does)."""
    pos = {p: i for i, p in enumerate(files)}
    k = FUSION.rank_constant
    rrf = np.zeros((len(LISTS), len(files)))
    for li, name in enumerate(LISTS):
        scores = _list_scores(sig, name)
        order = [p for p, v in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])) if v > 0]
        for r, p in enumerate(order):
            if p in pos:
                rrf[li, pos[p]] = 1.0 / (k + r + 1)
    weights = np.array([[getattr(w, n) for n in LISTS] for w in weightings])
    fused = weights @ rrf
    for p, w in sig.raise_site.items():
        if p in pos:
            fused[:, pos[p]] += FUSION.raise_site * w / (k + 1.0)
    factor = np.array([FUSION.peripheral if is_peripheral_path(p) and p not in sig.explicit else 1.0 for p in files])
    fused = fused * factor
    gold_idx = np.array([pos[g] for g in gold])
    out = []
    for row in fused:
        order = np.argsort(-row, kind="stable")
        rank_of = np.empty(len(files), dtype=np.int64)
        rank_of[order] = np.arange(len(files))
        worst = int(rank_of[gold_idx].max())
        out.append(tuple(worst < kk for kk in KS))
    return out


def ranked(sig: Signals, files: list[str], weights: FusionWeights) -> list[str]:
    """Every file, best first, as :func:`~lsp_server.context.rank.ranking.fuse` orders them."""
    fused = fused_scores(sig, weights)
    return sorted(files, key=lambda p: (-fused.get(p, 0.0), p))


def best_weighting(per_weighting: list[list[tuple[bool, ...]]]) -> int:
    """The weighting with the most Acc@5 hits, then Acc@1, then Acc@3."""
    def score(i: int) -> tuple[int, ...]:
        return tuple(sum(h[j] for h in per_weighting[i]) for j in (len(KS) - 1, 0, 1))
    return max(range(len(per_weighting)), key=score)


def hits(order: list[str], gold: set[str]) -> tuple[bool, ...]:
    return tuple(gold <= set(order[:k]) for k in KS)


@dataclass
class Tally:
    rows: int = 0
    acc: dict[int, int] = field(default_factory=lambda: dict.fromkeys(KS, 0))

    def add(self, hit: tuple[bool, ...]) -> None:
        self.rows += 1
        for k, h in zip(KS, hit, strict=True):
            self.acc[k] += h

    def line(self, label: str) -> str:
        return f"{label:34}" + "".join(f"{self.acc[k] / max(1, self.rows):9.3f}" for k in KS)


def run(args: argparse.Namespace) -> int:
    settings = parse_settings({"context": {"history": True}})
    index_grid = grid(INDEX_LISTS)
    full_grid = grid(LISTS)
    singles = {name: alone(name) for name in LISTS}
    for data in args.data:
        rows = read_rows(data, args.repo, args.limit)
        shipped, shipped_off, ceiling = Tally(), Tally(), Tally()
        oracle = {"index": Tally(), "full": Tally()}
        single = {name: Tally() for name in LISTS}
        by_constant = {k: Tally() for k in RANK_CONSTANTS}
        per_weighting: dict[str, list[list[tuple[bool, ...]]]] = {
            "index": [[] for _ in index_grid], "full": [[] for _ in full_grid]}
        history_only = Tally()  # rows the full oracle hits and the index lists' oracle misses
        for row in rows:
            root = tree_of(row, args)
            with ProjectIndex.open(root, settings=settings, state_dir=args.scratch / "state" / root.name) as index:
                index.refresh()
                prep = prepared(index)
                files = sorted(prep.files)
                gold = {g for g in row["gold_files"] if g not in created_files(row["fix_patch"])} & set(files)
                if not gold:
                    continue
                sig = signals(prep, ContextRequest(text=row["request"]), project_history(index, settings))
            shipped.add(hits(ranked(sig, files, FUSION), gold))
            shipped_off.add(hits(ranked(sig, files, without_history(FUSION)), gold))
            for name, weights in singles.items():
                single[name].add(hits(ranked(sig, files, weights), gold))
            for k, tally in by_constant.items():
                tally.add(hits(ranked(sig, files, replace(FUSION, rank_constant=k)), gold))
            any_hit = {}
            for key, weightings in (("index", index_grid), ("full", full_grid)):
                row_hits = grid_hits(sig, files, gold, weightings)
                for i, h in enumerate(row_hits):
                    per_weighting[key][i].append(h)
                any_hit[key] = tuple(any(h[j] for h in row_hits) for j in range(len(KS)))
                oracle[key].add(any_hit[key])
            history_only.add(tuple(f and not i for f, i in zip(any_hit["full"], any_hit["index"], strict=True)))
            ceiling.add(tuple(len(gold) <= k for k in KS))
            if args.verbose:
                print(f"{row['instance_id']}: gold={len(gold)} shipped={hits(ranked(sig, files, FUSION), gold)} "
                      f"without history={hits(ranked(sig, files, without_history(FUSION)), gold)} "
                      f"oracle index lists={any_hit['index']} with history={any_hit['full']}", flush=True)
        print(f"\n== {data.name}: {shipped.rows} rows (trees: {args.trees}) ==")
        print(f"{'':34}" + "".join(f"{'Acc@' + str(k):>9}" for k in KS))
        print(shipped.line("shipped weights"))
        print(shipped_off.line("shipped, history lists off"))
        for name in LISTS:
            print(single[name].line(f"{name} alone"))
        for key, weightings, label in (("index", index_grid, "index lists"), ("full", full_grid, "with history")):
            if per_weighting[key][0]:
                best_i = best_weighting(per_weighting[key])
                best = Tally()
                for h in per_weighting[key][best_i]:
                    best.add(h)
                print(best.line(f"best single weighting, {label}")
                      + f"   ({_weights(weightings[best_i])}; tuned on these rows)")
            print(oracle[key].line(f"per-row oracle, {label} ({len(weightings)})"))
        print(history_only.line("oracle share of the history lists"))
        for k, tally in by_constant.items():
            print(tally.line(f"rank constant k = {k:g}") + ("   (shipped)" if k == FUSION.rank_constant else ""))
        print(ceiling.line("ceiling (gold files <= k)"))
    return 0


def _weights(w: FusionWeights) -> str:
    return ", ".join(f"{n} {getattr(w, n):g}" for n in LISTS)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_row_arguments(ap)
    ap.add_argument("--verbose", "-v", action="store_true")
    return run(ap.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
