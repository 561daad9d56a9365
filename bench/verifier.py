"""How well the verifier tells good edits from wrong ones, per check level, on real code.

Three populations:

1. **good**: every hunk of the real fixes in ``bench-data`` (see ``bench/edits_corpus.py``) as
   a search/replace answer against the real file at ``base_commit``; it should be kept. At the
   compile level a hunk alone may use a name another hunk of the same fix imports, so the
   population is also measured as whole fixes (every hunk of an instance in one answer).
2. **broken**: the seven structural break kinds of each hunk (truncated, elided, ...); each
   should be caught.
3. **wrong but valid**: semantic mutants (``bench/mutants.py``: flipped comparison, off by one,
   swapped arguments, another variable, a deleted statement, another arithmetic operator, an
   early return) of functions in projects whose tests run offline here: the crate in
   ``tests/edits/fixtures/calc``, ``examples/rust-crate`` and pallets/click (its bare mirror's
   HEAD, extracted into the scratch folder with a ``.venv`` holding pytest and click). A mutant
   the compile check rejects is not valid and is left out; the project's whole test suite run on
   each mutant says whether its own tests detect it.

Check levels: ``syntax`` (form checks only), ``compile`` (+ compiler diagnostics before and
after, in the shadow copy), ``tests`` (+ related tests, within the local tier's budget). A case
is *caught* at a level when a check of that level found a problem (or the answer was refused);
*kept* otherwise. Times are per verification (p50 / p95), warm shadow copies.

Population 1 and 2 at ``compile`` are measured on the Python hunks only (each base commit is
extracted into the scratch folder); the Rust repositories' dependencies are not available
offline here, so ``cargo check`` cannot build them. ``tests`` for populations 1 and 2 is not
measured (their projects' test dependencies are not installed).

    python bench/verifier.py [--data ../shared/bench-data] [--repos ../.mirror]
        [--scratch ../scratch] [--mutants-per-operator 4] [--skip-corpus] [--skip-mutants]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repos import DEFAULT_REPOS_DIR, DEFAULT_SCRATCH, git_dir, materialize
from edits_corpus import CorpusEdit, good_answer, load_corpus, shared_data_dir, variants
from mutants import Mutant, mutants, sample

from lsp_server.config import Settings, parse_settings
from lsp_server.edits import Verdict, format_edits, verify
from lsp_server.edits.behaviour import LEVELS, CheckLevel

REPO_ROOT = Path(__file__).resolve().parents[1]
THRESHOLD = 0.85


def base_text(repos: Path, edit: CorpusEdit, cache: dict[tuple[str, str], str | None]) -> str | None:
    key = (edit.base_commit, edit.path)
    if key not in cache:
        proc = subprocess.run(
            ["git", "--git-dir", str(git_dir(repos, edit.repo)), "show", f"{edit.base_commit}:{edit.path}"],
            capture_output=True, check=False,
        )
        cache[key] = proc.stdout.decode("utf-8") if proc.returncode == 0 else None
    return cache[key]


def caught(v: Verdict) -> bool:
    return not v.changes or bool(v.problems)


@dataclass
class Tally:
    """Caught/kept counts and verification times of one population at one level."""

    n: int = 0
    caught: int = 0
    accepted: int = 0
    times: list[float] | None = None

    def add(self, v: Verdict, seconds: float) -> None:
        self.n += 1
        self.caught += caught(v)
        self.accepted += v.accepted
        if self.times is None:
            self.times = []
        self.times.append(seconds)

    def line(self, label: str) -> str:
        if not self.n:
            return f"  {label:28s} not measured"
        times = sorted(self.times or [0.0])
        p50 = statistics.median(times)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        return (f"  {label:28s} n={self.n:4d}  caught {100 * self.caught / self.n:5.1f}%  "
                f"kept {100 * (self.n - self.caught) / self.n:5.1f}%  accepted {100 * self.accepted / self.n:5.1f}%  "
                f"p50 {p50 * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms")


def timed(run: Callable[[], Verdict]) -> tuple[Verdict, float]:
    start = time.perf_counter()
    v = run()
    return v, time.perf_counter() - start


# --- populations 1 and 2 ---------------------------------------------------------------------


def corpus_populations(args: argparse.Namespace, settings: Settings) -> None:
    corpus = load_corpus(args.data)
    cache: dict[tuple[str, str], str | None] = {}
    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    kinds: dict[tuple[str, str], Tally] = defaultdict(Tally)
    misjudged: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp)
        for index, edit in enumerate(corpus):
            text = base_text(args.repos, edit, cache)
            if text is None:
                continue
            python = edit.path.endswith(".py")
            levels: list[CheckLevel] = ["syntax", "compile"] if python else ["syntax"]
            for level in levels:
                root = empty if level == "syntax" else materialize(
                    edit.repo, edit.base_commit, repos_dir=args.repos, scratch=args.scratch)

                def read(path: str, edit: CorpusEdit = edit, text: str = text, root: Path = root) -> str | None:
                    if path == edit.path:
                        return text
                    full = root / path
                    return full.read_text(encoding="utf-8", errors="replace") if full.is_file() else None

                def check(raw: str, lines: tuple[int, int], level: CheckLevel = level,
                          read: Callable[[str], str | None] = read, root: Path = root,
                          edit: CorpusEdit = edit) -> Verdict:
                    return verify(raw, edit_format="search_replace", read_text=read, root=root,
                                  settings=settings, target_path=edit.path, target_lines=lines,
                                  threshold=THRESHOLD, level=level, tier="local")

                lang = "python" if python else "rust"
                v, secs = timed(lambda edit=edit, index=index: check(good_answer(edit, index), edit.target_lines))
                tallies[("good", f"{lang}/{level}")].add(v, secs)
                if caught(v) and len(misjudged) < args.show:
                    misjudged.append(f"GOOD kept=no {level} {edit.instance_id} {edit.path}:{edit.old_start} {v.problems[:1] or v.reasons[:1]}")
                for variant in variants(edit, text):
                    v, secs = timed(lambda variant=variant: check(variant.raw, variant.target_lines))
                    tallies[("broken", f"{lang}/{level}")].add(v, secs)
                    kinds[(variant.kind, level)].add(v, secs)
    print(f"corpus: {len(corpus)} hunks from {args.data}")
    for pop in ("good", "broken"):
        print(f"population {pop}:")
        for key in sorted(k for k in tallies if k[0] == pop):
            print(tallies[key].line(key[1]))
    print("broken, per kind (syntax level):")
    for (kind, level), t in sorted(kinds.items()):
        if level == "syntax":
            print(t.line(kind))
    for line in misjudged:
        print("  " + line)


def whole_fixes(args: argparse.Namespace, settings: Settings) -> None:
    """Good edits at the compile level as the real fix is: every hunk of an instance in one
    answer (a hunk alone can use a name another hunk imports). Python instances only."""
    by_instance: dict[str, list[CorpusEdit]] = defaultdict(list)
    for edit in load_corpus(args.data):
        if edit.path.endswith(".py"):
            by_instance[edit.instance_id].append(edit)
    tally = Tally()
    shown = 0
    for instance, edits in sorted(by_instance.items()):
        first = edits[0]
        root = materialize(first.repo, first.base_commit, repos_dir=args.repos, scratch=args.scratch)
        raw = format_edits([e.block() for e in edits])

        def read(path: str, root: Path = root) -> str | None:
            full = root / path
            return full.read_text(encoding="utf-8", errors="replace") if full.is_file() else None

        v, secs = timed(lambda raw=raw, read=read, root=root: verify(
            raw, edit_format="search_replace", read_text=read, root=root, settings=settings,
            target_path=None, target_lines=None, threshold=THRESHOLD, level="compile", tier="local"))
        tally.add(v, secs)
        if caught(v) and shown < args.show:
            shown += 1
            print(f"  GOOD (whole fix) kept=no compile {instance} {v.problems[:1] or v.reasons[:1]}")
    print("population good, whole fixes (all hunks of an instance in one answer):")
    print(tally.line("python/compile"))


# --- population 3 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    name: str
    root: Path
    sources: list[str]
    suite: list[str]  # the project's whole test suite, run in a copy

    def env(self, scratch: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["CARGO_TARGET_DIR"] = str(scratch / "truth-target" / self.name)
        env["PYTHONPATH"] = "src"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env


def projects(args: argparse.Namespace) -> list[Project]:
    found = [
        Project("calc", REPO_ROOT / "tests" / "edits" / "fixtures" / "calc", ["src/lib.rs"],
                ["cargo", "test", "--offline", "-q"]),
        Project("rust-crate", REPO_ROOT / "examples" / "rust-crate",
                ["src/lib.rs", "src/units.rs", "src/shapes/circle.rs", "src/shapes/rectangle.rs"],
                ["cargo", "test", "--offline", "-q"]),
    ]
    head = subprocess.run(["git", "--git-dir", str(git_dir(args.repos, "pallets/click")), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    if head:
        click = materialize("pallets/click", head, repos_dir=args.repos, scratch=args.scratch)
        python = click / ".venv" / "bin" / "python"
        if not python.is_file():
            subprocess.run([sys.executable, "-m", "venv", str(click / ".venv")], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "pytest", "-e", str(click)], check=True)
        found.append(Project("click", click, ["src/click/utils.py", "src/click/formatting.py",
                                              "src/click/parser.py", "src/click/types.py"],
                             [str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests"]))
    else:
        print("pallets/click: no mirror; population 3 uses the Rust crates only")
    return found


def detected_by_suite(project: Project, mutant: Mutant, truth: Path, env: dict[str, str]) -> bool:
    target = truth / mutant.path
    original = target.read_text(encoding="utf-8")
    target.write_text(original.replace(mutant.search, mutant.replace, 1), encoding="utf-8")
    try:
        proc = subprocess.run(project.suite, cwd=truth, env=env, capture_output=True, timeout=600, check=False)
        return proc.returncode != 0
    except subprocess.TimeoutExpired:
        return True
    finally:
        target.write_text(original, encoding="utf-8")


def mutant_population(args: argparse.Namespace, settings: Settings) -> None:
    tallies: dict[str, Tally] = defaultdict(Tally)
    per_op: dict[str, Counter[str]] = defaultdict(Counter)
    invalid = 0
    suite_detected = verifier_caught_of_detected = 0
    accepted_wrong: Counter[str] = Counter()
    valid_n = 0
    missed: list[str] = []
    for project in projects(args):
        truth = args.scratch / "verifier-bench" / "truth" / project.name
        if truth.exists():
            shutil.rmtree(truth)
        shutil.copytree(project.root, truth, ignore=shutil.ignore_patterns("target", ".venv", "__pycache__"))
        env = project.env(args.scratch)
        if project.name == "click":
            env["PATH"] = f"{project.root / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
        found: list[Mutant] = []
        for rel in project.sources:
            found.extend(mutants((project.root / rel).read_text(encoding="utf-8"), rel))
        chosen = sample(found, args.mutants_per_operator)
        print(f"{project.name}: {len(found)} mutants, {len(chosen)} sampled")

        for m in chosen:
            def read(path: str, root: Path = project.root) -> str | None:
                full = root / path
                return full.read_text(encoding="utf-8") if full.is_file() else None

            lines = (m.line, m.line + m.search.count("\n") - 1)
            verdicts: dict[str, tuple[Verdict, float]] = {}
            for level in LEVELS:
                verdicts[level] = timed(lambda level=level, m=m, lines=lines, project=project: verify(
                    m.answer(), edit_format="search_replace", read_text=read, root=project.root,
                    settings=settings, target_path=m.path, target_lines=lines, threshold=THRESHOLD,
                    level=level, tier="local"))
            compile_v = verdicts["compile"][0]
            if any("new error" in p or "syntax error" in p for p in compile_v.problems):
                invalid += 1
                continue
            valid_n += 1
            for level in LEVELS:
                v, secs = verdicts[level]
                tallies[level].add(v, secs)
                if v.accepted:
                    accepted_wrong[level] += 1
            tests_v = verdicts["tests"][0]
            per_op[m.operator]["n"] += 1
            per_op[m.operator]["caught"] += caught(tests_v)
            if detected_by_suite(project, m, truth, env):
                suite_detected += 1
                per_op[m.operator]["suite"] += 1
                verifier_caught_of_detected += caught(tests_v)
                if not caught(tests_v):
                    ran = next((r for r in tests_v.reasons if r.startswith(("related tests", "no related"))), "")
                    missed.append(f"{project.name} {m.operator} {m.path}:{m.line} {m.function}: {ran[:160]}")
            elif caught(tests_v):
                per_op[m.operator]["caught_undetected"] += 1
    print(f"population wrong-but-valid: {valid_n} valid mutants ({invalid} more rejected by the compile check as invalid)")
    for level in LEVELS:
        print(tallies[level].line(level))
    for level in LEVELS:
        print(f"  wrong answers accepted at {level:8s}: {accepted_wrong[level]}/{valid_n}")
    print(f"  detected by the project's own tests: {suite_detected}/{valid_n}; of those caught by the "
          f"verifier's related tests: {verifier_caught_of_detected}/{suite_detected} = "
          f"{100 * verifier_caught_of_detected / max(suite_detected, 1):.1f}%  (target >= 90%)")
    for op, c in sorted(per_op.items()):
        print(f"    {op:17s} valid {c['n']:3d}  suite detects {c['suite']:3d}  verifier catches {c['caught']:3d}")
    for line in missed[: args.show]:
        print(f"  MISSED {line}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=shared_data_dir(REPO_ROOT))
    ap.add_argument("--repos", type=Path, default=DEFAULT_REPOS_DIR)
    ap.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    ap.add_argument("--mutants-per-operator", type=int, default=4)
    ap.add_argument("--show", type=int, default=8, help="misjudged good edits to print")
    ap.add_argument("--skip-corpus", action="store_true")
    ap.add_argument("--skip-mutants", action="store_true")
    ap.add_argument("--skip-whole-fixes", action="store_true")
    args = ap.parse_args(argv)
    state = args.scratch / "verifier-bench" / "state"
    settings = parse_settings({"state_dir": str(state)})
    started = time.perf_counter()
    if not args.skip_corpus:
        corpus_populations(args, settings)
    if not args.skip_whole_fixes:
        whole_fixes(args, settings)
    if not args.skip_mutants:
        mutant_population(args, settings)
    print(f"total {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
