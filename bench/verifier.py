"""How well the verifier tells real edits from broken ones, on real files at their base commit.

For every hunk of the real fixes in ``bench-data`` (see ``bench/edits_corpus.py``) the base file
is read from the bare mirror (``git show <base_commit>:<path>``); the real edit should be accepted
(confidence >= threshold) and every broken variant caught (below it). Prints both rates, per
variant kind, and the ones that went the wrong way.

    python bench/verifier.py [--data ../shared/bench-data] [--repos ../.mirror] [--threshold 0.85]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repos import DEFAULT_REPOS_DIR, git_dir
from edits_corpus import CorpusEdit, good_answer, load_corpus, shared_data_dir, variants

from lsp_server.config import Settings
from lsp_server.edits import verify

REPO_ROOT = Path(__file__).resolve().parents[1]


def base_text(repos: Path, edit: CorpusEdit, cache: dict[tuple[str, str], str | None]) -> str | None:
    key = (edit.base_commit, edit.path)
    if key not in cache:
        proc = subprocess.run(
            ["git", "--git-dir", str(git_dir(repos, edit.repo)), "show", f"{edit.base_commit}:{edit.path}"],
            capture_output=True, check=False,
        )
        cache[key] = proc.stdout.decode("utf-8") if proc.returncode == 0 else None
    return cache[key]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=shared_data_dir(REPO_ROOT))
    ap.add_argument("--repos", type=Path, default=DEFAULT_REPOS_DIR)
    ap.add_argument("--threshold", type=float, default=0.85)
    ap.add_argument("--show", type=int, default=5, help="misjudged cases to print per kind")
    args = ap.parse_args(argv)

    corpus = load_corpus(args.data)
    settings = Settings()
    cache: dict[tuple[str, str], str | None] = {}
    good_ok = good_n = 0
    caught: Counter[str] = Counter()
    made: Counter[str] = Counter()
    misjudged: list[str] = []
    missing = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for index, edit in enumerate(corpus):
            text = base_text(args.repos, edit, cache)
            if text is None:
                missing += 1
                continue

            def read(path: str, edit: CorpusEdit = edit, text: str = text) -> str | None:
                return text if path == edit.path else None

            common = dict(edit_format="search_replace", read_text=read, root=root, settings=settings,
                          target_path=edit.path, threshold=args.threshold, run_check=False)
            verdict = verify(good_answer(edit, index), target_lines=edit.target_lines, **common)  # type: ignore[arg-type]
            good_n += 1
            if verdict.accepted:
                good_ok += 1
            else:
                misjudged.append(f"GOOD {edit.instance_id} {edit.path}:{edit.old_start} "
                                 f"{verdict.confidence:.2f} {verdict.reasons[:2]}")
            for variant in variants(edit, text):
                made[variant.kind] += 1
                v = verify(variant.raw, target_lines=variant.target_lines, **common)  # type: ignore[arg-type]
                if not v.accepted:
                    caught[variant.kind] += 1
                else:
                    misjudged.append(f"BROKEN[{variant.kind}] {edit.instance_id} {edit.path}:"
                                     f"{edit.old_start} {v.confidence:.2f} {v.reasons[:2]}")
    elapsed = time.perf_counter() - started
    broken_n, broken_caught = sum(made.values()), sum(caught.values())
    print(f"corpus: {len(corpus)} hunks from {args.data} ({missing} without a base file), {elapsed:.1f}s")
    print(f"good edits accepted:   {good_ok}/{good_n} = {100 * good_ok / max(good_n, 1):.1f}%  (target >= 99%)")
    print(f"broken edits caught:   {broken_caught}/{broken_n} = {100 * broken_caught / max(broken_n, 1):.1f}%  (target >= 95%)")
    for kind in sorted(made):
        print(f"  {kind:13s} {caught[kind]}/{made[kind]} = {100 * caught[kind] / made[kind]:.1f}%")
    shown: Counter[str] = Counter()
    for line in misjudged:
        key = line.split(" ", 1)[0]
        if shown[key] < args.show:
            print("  " + line)
            shown[key] += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
