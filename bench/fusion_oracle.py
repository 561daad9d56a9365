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

The grid takes each of the five list weights at 0, 1 and 2 times its shipped value: 3^5 - 1 =
242 weightings (all lists off is left out). Rows take a fraction of a second each once the
index state under the scratch dir is warm.

    python bench/fusion_oracle.py --data ../shared/bench-data/rust-dev.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from context_quality import KS, add_row_arguments, created_files, read_rows, tree_of

from lsp_server.config import Settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.ranking import (
    FUSION,
    ContextRequest,
    FusionWeights,
    Signals,
    fused_scores,
    prepared,
    signals,
)

LISTS = ("mentions", "definitions", "file_text", "walk", "latent")
FACTORS = (0.0, 1.0, 2.0)
RANK_CONSTANTS = (1.0, 4.0, 15.0, 30.0, 60.0, 120.0)


def grid() -> list[FusionWeights]:
    """Every weighting with each list at 0, 1 or 2 times its shipped weight."""
    out = []
    for factors in itertools.product(FACTORS, repeat=len(LISTS)):
        if any(factors):
            out.append(replace(FUSION, **{n: f * getattr(FUSION, n) for n, f in zip(LISTS, factors, strict=True)}))
    return out


def alone(name: str) -> FusionWeights:
    return replace(FUSION, **{n: (1.0 if n == name else 0.0) for n in LISTS}, semantic=0.0)


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
        return f"{label:28}" + "".join(f"{self.acc[k] / max(1, self.rows):9.3f}" for k in KS)


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    weightings = grid()
    singles = {name: alone(name) for name in LISTS}
    for data in args.data:
        rows = read_rows(data, args.repo, args.limit)
        shipped, oracle, ceiling = Tally(), Tally(), Tally()
        single = {name: Tally() for name in LISTS}
        by_constant = {k: Tally() for k in RANK_CONSTANTS}
        per_weighting: list[list[tuple[bool, ...]]] = [[] for _ in weightings]
        for row in rows:
            root = tree_of(row, args)
            with ProjectIndex.open(root, settings=settings, state_dir=args.scratch / "state" / root.name) as index:
                index.refresh()
                prep = prepared(index)
                files = sorted(prep.files)
                gold = {g for g in row["gold_files"] if g not in created_files(row["fix_patch"])} & set(files)
                if not gold:
                    continue
                sig = signals(prep, ContextRequest(text=row["request"]))
            shipped.add(hits(ranked(sig, files, FUSION), gold))
            for name, weights in singles.items():
                single[name].add(hits(ranked(sig, files, weights), gold))
            for k, tally in by_constant.items():
                tally.add(hits(ranked(sig, files, replace(FUSION, rank_constant=k)), gold))
            row_hits = [hits(ranked(sig, files, w), gold) for w in weightings]
            for i, h in enumerate(row_hits):
                per_weighting[i].append(h)
            oracle.add(tuple(any(h[j] for h in row_hits) for j in range(len(KS))))
            ceiling.add(tuple(len(gold) <= k for k in KS))
            if args.verbose:
                best = min((i for i, h in enumerate(row_hits) if h[-1]), default=None,
                           key=lambda i: sum(abs(getattr(weightings[i], n) - getattr(FUSION, n)) for n in LISTS))
                print(f"{row['instance_id']}: gold={len(gold)} shipped={hits(ranked(sig, files, FUSION), gold)} "
                      f"weightings hitting @5: {sum(h[-1] for h in row_hits)}/{len(weightings)}"
                      + (f", nearest: {_weights(weightings[best])}" if best is not None else ""), flush=True)
        print(f"\n== {data.name}: {shipped.rows} rows ==")
        print(f"{'':28}" + "".join(f"{'Acc@' + str(k):>9}" for k in KS))
        print(shipped.line("shipped weights"))
        for name in LISTS:
            print(single[name].line(f"{name} alone"))
        if per_weighting[0]:
            best_i = best_weighting(per_weighting)
            best = Tally()
            for h in per_weighting[best_i]:
                best.add(h)
            print(best.line("best single weighting") + f"   ({_weights(weightings[best_i])}; tuned on these rows)")
        print(oracle.line(f"per-row oracle ({len(weightings)})"))
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
