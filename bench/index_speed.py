"""Index speed against Universal Ctags, measured in the same run on the same trees.

    python bench/index_speed.py ../scratch/ripgrep ../scratch/tokio [--runs 3]

For each tree it prints the median wall time of ``ctags -R`` and of our cold index (empty
state dir), warm restart (unchanged tree: open the store + stat walk) and the ratios between
them; the p50/p95 of a ``didChange`` on a 5,000-line buffer (one keystroke-sized edit, index
update only, and with the documents overlay), and of the first read of that buffer's symbols
after each typed statement (it re-parses and re-extracts a buffer whose symbols a broken or
unfinished parse left shifted);
and the peak RSS of a cold index (the parent
process plus its worker processes, each measured in a fresh process).

``--history-cost`` measures instead what reading the project's git history (the ranker's
history evidence, ``lsp_server/context/rank/history.py``) adds to a cold index: the same cold
index in fresh processes, without and with the history read after it, alternated, as ratios
of the medians (wall time inside the process and peak RSS). The tree must be a git checkout
(``bench/_repos.py`` ``checkout``).

Cold and warm runs happen in a fresh Python process each, timed inside it from
``ProjectIndex.open`` to the end of ``refresh`` (interpreter start-up and imports, about the
same for every run, are reported separately as "process wall").
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from lsp_server.context.index.project import ProjectIndex
imported = time.perf_counter() - t0
root, state = Path(sys.argv[1]), Path(sys.argv[2])
t = time.perf_counter()
index = ProjectIndex.open(root, state_dir=state)
stats = index.refresh()
history_s, commits = 0.0, 0
if sys.argv[3:] == ["history"]:
    from lsp_server.context.rank.history import History
    h = time.perf_counter()
    commits = History(root).refresh().commits
    history_s = time.perf_counter() - h
elapsed = time.perf_counter() - t
index.close()
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"elapsed": elapsed, "imports": imported, "parsed": stats.parsed,
                  "history_s": history_s, "commits": commits,
                  "reused": stats.reused, "files": stats.files, "definitions": stats.definitions,
                  "references": stats.references, "rss_kb": own, "child_rss_kb": kids}))
"""


def ctags_time(root: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tags"
        t = time.perf_counter()
        subprocess.run(["ctags", "-R", "-f", str(out), "."], cwd=root, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - t


def child_run(root: Path, state: Path, *extra: str) -> dict[str, float]:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(root), str(state), *extra],
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def five_thousand_lines(root: Path) -> str:
    """A valid 5,000-line Rust buffer made of the tree's own code: whole top-level items of its
    largest files, cut at an item boundary at 5,000 lines."""
    from lsp_server.context.index.languages import LANGUAGES

    parser = LANGUAGES["rust"].parser()
    files = sorted(root.rglob("*.rs"), key=lambda p: -p.stat().st_size)
    out: list[str] = []
    count = 0
    for f in files:
        data = f.read_bytes()
        tree = parser.parse(data)
        for child in tree.root_node.children:
            if child.has_error:
                continue
            chunk = data[child.start_byte : child.end_byte].decode("utf-8", "replace") + "\n"
            n = chunk.count("\n")
            if count + n > 5000:
                continue
            out.append(chunk)
            count += n
            if count >= 4990:
                break
        if count >= 4990:
            break
    out.append("\n" * (5000 - count))
    return "".join(out)


TYPED = "let probe = compute(alpha, beta.len());\n"


def incremental(root: Path, state: Path, sessions: int = 20) -> dict[str, float]:
    from lsp_server.context.documents import Documents, TextChange
    from lsp_server.context.index.project import ProjectIndex
    from lsp_server.text import Position, Span

    docs = Documents()
    index = ProjectIndex.open(root, documents=docs, state_dir=state)
    docs.subscribe(index.update_document)
    index.refresh()
    path = root / "bench_didchange_5000.rs"  # a buffer only: never written to disk
    text = five_thousand_lines(root)
    docs.open(path, text, 1)
    rng = random.Random(7)
    update: list[float] = []
    overall: list[float] = []
    reads: list[float] = []
    original = index.update_document

    def timed(change: object) -> None:
        t = time.perf_counter()
        original(change)  # type: ignore[arg-type]
        update.append(time.perf_counter() - t)

    docs._listeners = [timed]  # measure only our listener; same call the overlay makes
    # Typing, as an editor sends it: one didChange per keystroke, a statement typed character
    # by character at the start of a line inside a function body, in 20 places.
    version = 1
    for _ in range(sessions):
        lines = (docs.text(path) or "").split("\n")
        candidates = [i for i, ln in enumerate(lines) if ln.lstrip().startswith("let ")]
        line = rng.choice(candidates)
        col = len(lines[line]) - len(lines[line].lstrip())
        for ch in TYPED:
            version += 1
            pos = Position(line, col)
            t = time.perf_counter()
            docs.change(path, [TextChange(ch, Span(pos, pos))], version)
            overall.append(time.perf_counter() - t)
            if ch == "\n":
                line, col = line + 1, 0
            else:
                col += 1
        t = time.perf_counter()
        index.file("bench_didchange_5000.rs")
        reads.append(time.perf_counter() - t)
    fs = index.file("bench_didchange_5000.rs")
    index.close()
    q = statistics.quantiles
    return {
        "update_p50_ms": statistics.median(update) * 1000,
        "update_p95_ms": q(update, n=20)[18] * 1000,
        "with_overlay_p95_ms": q(overall, n=20)[18] * 1000,
        "read_p50_ms": statistics.median(reads) * 1000,
        "read_max_ms": max(reads) * 1000,
        "buffer_lines": text.count("\n"),
        "edits": len(update),
        "buffer_definitions": len(fs.definitions) if fs else 0,
    }


def bench(root: Path, runs: int) -> None:
    root = root.resolve()
    ctags = [ctags_time(root) for _ in range(runs)]
    colds, warms = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            state = Path(tmp) / f"cold{i}"
            ctags.append(ctags_time(root))
            colds.append(child_run(root, state))
            warms.append(child_run(root, state))
            shutil.rmtree(state, ignore_errors=True)
        inc = incremental(root, Path(tmp) / "inc")
    c = statistics.median(ctags)
    cold = statistics.median(r["elapsed"] for r in colds)
    warm = statistics.median(r["elapsed"] for r in warms)
    last = colds[-1]
    peak_mb = max(max(r["rss_kb"], r["child_rss_kb"]) for r in colds) / 1024
    print(f"\n== {root.name}: {int(last['files'])} files, {int(last['definitions'])} definitions, "
          f"{int(last['references'])} references")
    print(f"ctags -R            {c:8.3f} s   (median of {len(ctags)})")
    print(f"cold index          {cold:8.3f} s   = {cold / c:5.2f} x ctags   (target <= 4)")
    print(f"warm restart        {warm:8.3f} s   = {warm / c:5.2f} x ctags   (target <= 0.5; "
          f"parsed {int(warms[-1]['parsed'])}, reused {int(warms[-1]['reused'])})")
    print(f"process wall        cold {statistics.median(r['wall'] for r in colds):.3f} s, "
          f"warm {statistics.median(r['wall'] for r in warms):.3f} s "
          f"(imports {statistics.median(r['imports'] for r in warms):.3f} s)")
    print(f"didChange           p50 {inc['update_p50_ms']:.2f} ms, p95 {inc['update_p95_ms']:.2f} ms "
          f"(target <= 10; {inc['edits']} keystrokes in a {inc['buffer_lines']}-line buffer, {inc['buffer_definitions']} definitions; "
          f"with overlay p95 {inc['with_overlay_p95_ms']:.2f} ms)")
    print(f"read after typing   p50 {inc['read_p50_ms']:.2f} ms, max {inc['read_max_ms']:.2f} ms "
          f"(the buffer's symbols, first read after each typed statement)")
    print(f"peak RSS (cold)     {peak_mb:.0f} MB per process (parent or worker; target <= 300)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (bench)    {own:.0f} MB (this process, incremental run)")


def history_cost(root: Path, runs: int) -> None:
    """A cold index without and with the history read, alternated in fresh processes."""
    root = root.resolve()
    plain, with_history = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            for label, out in (("plain", plain), ("history", with_history)):
                state = Path(tmp) / f"{label}{i}"
                out.append(child_run(root, state, *(["history"] if label == "history" else [])))
                shutil.rmtree(state, ignore_errors=True)
    med = statistics.median
    t0, t1 = med(r["elapsed"] for r in plain), med(r["elapsed"] for r in with_history)
    m0 = med(r["rss_kb"] for r in plain) / 1024
    m1 = med(r["rss_kb"] for r in with_history) / 1024
    read = med(r["history_s"] for r in with_history)
    print(f"\n== {root.name}: {int(plain[-1]['files'])} files; history: {int(with_history[-1]['commits'])} commits kept")
    print(f"cold index               {t0:8.3f} s   peak RSS {m0:6.0f} MB   (median of {runs})")
    print(f"cold index + history     {t1:8.3f} s   peak RSS {m1:6.0f} MB   (history read {read * 1000:.0f} ms)")
    print(f"ratio                    {t1 / t0:8.3f} x              {m1 / m0:6.3f} x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="+", type=Path, help="checked-out trees (not bare git dirs)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--history-cost", action="store_true",
                        help="only what the git history read adds to a cold index (see above)")
    args = parser.parse_args()
    if args.history_cost:
        for repo in args.repos:
            history_cost(repo, args.runs)
        return 0
    if shutil.which("ctags") is None:
        print("ctags not found: apt-get install universal-ctags", file=sys.stderr)
        return 2
    version = subprocess.run(["ctags", "--version"], capture_output=True, text=True).stdout
    if "Universal Ctags" not in version:
        print("ctags is not Universal Ctags", file=sys.stderr)
        return 2
    print(version.splitlines()[0])
    for repo in args.repos:
        bench(repo, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
