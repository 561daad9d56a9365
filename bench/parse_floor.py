"""The floor under a cold index: tree-sitter in C alone, against ``ctags -R`` in the same run.

    python bench/parse_floor.py ../scratch/ripgrep ../scratch/tokio [--runs 5]

The cold-index target is a ratio to ``ctags -R``. Most of a cold index is tree-sitter's own
work (parsing, and the query cursor's walk over each tree), which no change to the Python
side removes. This builds ``parse_floor.c`` against the same tree-sitter runtime and Rust
grammar versions the project installs (their source distributions, fetched from the package
index with ``pip download``, compiled with ``cc``) and times, on the Rust files the index would
read:

* **parse** — parsing every file, one process;
* **parse + query** — parsing and running the shipped ``queries/rust-tags.scm`` over every tree,
  reading every capture, one process;
* **parse + query, 2 processes** — the same, the files split in two halves of equal bytes, both
  halves at once (the wall time of the pair): what a two-core cold index could reach if storing,
  extracting and everything else cost nothing;
* **our cold index** — ``ProjectIndex.open`` + ``refresh`` on an empty state dir, timed as in
  ``index_speed.py``.

Each is printed as the median wall time and as a ratio to the median ``ctags -R`` of the same
run. The build is kept under ``--work`` (default ``../scratch/parse-floor``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from index_speed import child_run, ctags_time

from lsp_server.context.index.walk import walk

HERE = Path(__file__).resolve().parent
QUERY = HERE.parent / "lsp_server" / "context" / "index" / "queries" / "rust-tags.scm"
DEFAULT_WORK = HERE.parents[1] / "scratch" / "parse-floor"


def _sdist(package: str, work: Path) -> Path:
    """The unpacked source distribution of the installed version of ``package``."""
    version = importlib.metadata.version(package)
    dest = work / f"{package}-{version}"
    if dest.is_dir():
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                               "-d", tmp, f"{package}=={version}"], capture_output=True, text=True)
        archives = list(Path(tmp).glob("*.tar.gz"))
        if proc.returncode != 0 or not archives:
            raise SystemExit(f"cannot download the source of {package}=={version}: "
                             f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(archives[0]) as tar:
            tar.extractall(unpacked, filter="data")
        (top,) = list(unpacked.iterdir())
        shutil.move(str(top), dest)
    return dest


def build(work: Path) -> Path:
    """``parse_floor`` compiled against the installed tree-sitter and tree-sitter-rust versions."""
    work.mkdir(parents=True, exist_ok=True)
    core = _sdist("tree-sitter", work) / "tree_sitter" / "core" / "lib"
    grammar = _sdist("tree-sitter-rust", work) / "src"
    binary = work / f"parse_floor-{core.parents[2].name}-{grammar.parent.name}"
    if binary.exists():
        return binary
    # The grammar includes tree_sitter/parser.h and friends, which its sdist leaves out; the
    # runtime's copies are the same headers.
    include = work / "grammar-include" / "tree_sitter"
    include.mkdir(parents=True, exist_ok=True)
    for header in ("parser.h", "alloc.h", "array.h"):
        shutil.copy(core / "src" / header, include / header)
    cmd = ["cc", "-O2", "-o", str(binary), str(HERE / "parse_floor.c"), str(core / "src" / "lib.c"),
           str(grammar / "parser.c"), str(grammar / "scanner.c"), "-I", str(core / "include"),
           "-I", str(core / "src"), "-I", str(include.parent), "-w"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"cannot build parse_floor: {proc.stderr.strip()[-400:]}")
    return binary


def rust_files(root: Path) -> list[tuple[str, int]]:
    """The Rust files a cold index of ``root`` reads, with their sizes."""
    return [(str(root / e.path), e.size) for e in walk(root).files if e.language == "rust"]


def halves(files: list[tuple[str, int]]) -> tuple[list[str], list[str]]:
    """Two lists of about equal bytes (largest first, each to the lighter side)."""
    sides: tuple[list[str], list[str]] = ([], [])
    weight = [0, 0]
    for path, size in sorted(files, key=lambda f: -f[1]):
        i = 0 if weight[0] <= weight[1] else 1
        sides[i].append(path)
        weight[i] += size
    return sides


def timed(binary: Path, mode: int, lists: list[list[str]]) -> tuple[float, list[dict[str, float]]]:
    """Wall time of one run per list, all at once, and what each printed."""
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as files:
        inputs = []
        for i, paths in enumerate(lists):
            listing = Path(tmp) / f"{i}.txt"
            listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
            inputs.append(files.enter_context(listing.open("rb")))
        t = time.perf_counter()
        procs = [subprocess.Popen([str(binary), str(QUERY), str(mode)], stdin=f, stdout=subprocess.PIPE,
                                  text=True) for f in inputs]
        outs = [p.communicate()[0] for p in procs]
        wall = time.perf_counter() - t
    if any(p.returncode for p in procs):
        raise SystemExit("parse_floor failed")
    return wall, [json.loads(o) for o in outs]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trees", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    args = ap.parse_args(argv)
    if shutil.which("ctags") is None or shutil.which("cc") is None:
        raise SystemExit("needs ctags (Universal Ctags) and a C compiler (cc) on PATH")
    binary = build(args.work)
    for root in args.trees:
        files = rust_files(root)
        if not files:
            print(f"{root}: no Rust files")
            continue
        one = [[p for p, _ in files]]
        two = list(halves(files))
        walls: dict[str, list[float]] = {"ctags -R": [], "parse": [], "parse + query": [],
                                         "parse + query, 2 processes": [], "our cold index": []}
        cpu: dict[str, list[float]] = {"parse": [], "query": []}
        for _ in range(args.runs):
            walls["ctags -R"].append(ctags_time(root))
            walls["parse"].append(timed(binary, 0, one)[0])
            wall, outs = timed(binary, 1, one)
            walls["parse + query"].append(wall)
            cpu["parse"].append(outs[0]["parse"])
            cpu["query"].append(outs[0]["query"])
            walls["parse + query, 2 processes"].append(timed(binary, 1, two)[0])
            with tempfile.TemporaryDirectory() as state:
                walls["our cold index"].append(child_run(root, Path(state))["elapsed"])
        base = statistics.median(walls["ctags -R"])
        print(f"{root} ({len(files)} Rust files, {sum(s for _, s in files) / 1e6:.1f} MB), "
              f"median of {args.runs} runs")
        for name, xs in walls.items():
            med = statistics.median(xs)
            print(f"  {name:28s} {med:7.3f} s  {med / base:5.2f}x ctags -R")
        print(f"  CPU in one process: parse {statistics.median(cpu['parse']):.3f} s, "
              f"query cursor {statistics.median(cpu['query']):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
