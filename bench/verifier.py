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
   ``tests/edits/fixtures/calc``, ``examples/rust-crate``, semver (Debian's ``librust-semver-dev``
   source, copied with a ``[source]`` replacement pointing at ``/usr/share/cargo/registry`` so
   its optional serde dependency resolves offline), and pallets/click and pallets/flask (their
   bare mirrors' HEAD, extracted into the scratch folder with a ``.venv`` holding pytest and the
   project). A mutant the compile check rejects is not valid and is left out; the project's whole
   test suite run on each mutant says whether its own tests detect it (cached in the scratch
   folder). A catch is attributed to the selection stage whose test broke: direct, transitive
   (N calls up) or widening (the whole suite). Beside them, **neutral** good edits (a comment line
   first in a function body) of the same projects must be kept at every level.

Check levels: ``syntax`` (form checks only), ``compile`` (+ compiler diagnostics before and
after, in the shadow copy), ``tests`` (+ related tests, within the local tier's budget). A case
is *caught* at a level when a check of that level found a problem (or the answer was refused);
*kept* otherwise. Times are per verification (p50 / p95), warm shadow copies.

Population 1 and 2 at ``compile`` are measured on the Python hunks only (each base commit is
extracted into the scratch folder); the Rust repositories' dependencies are not available
offline here, so ``cargo check`` cannot build them. ``tests`` for populations 1 and 2 is
measured only for the whole fixes of instances whose scratch copy has a ``.venv`` with the
project's test dependencies: ``--make-venvs pallets/flask`` makes them for that repository's
instances (the project and the dependencies uploaded before its base commit, with a pytest that
runs on this Python; see :func:`make_venv`).

    python bench/verifier.py [--data ../shared/bench-data] [--repos ../.mirror]
        [--scratch ../scratch] [--mutants-per-operator 4] [--neutral-per-project 6]
        [--projects calc,rust-crate,semver,click,flask] [--tier local] [--skip-corpus]
        [--skip-mutants] [--skip-whole-fixes] [--make-venvs REPO[,REPO]]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repos import DEFAULT_REPOS_DIR, DEFAULT_SCRATCH, git_dir, materialize
from edits_corpus import CorpusEdit, good_answer, load_corpus, shared_data_dir, variants
from mutants import Mutant, mutants, neutral, sample

from lsp_server.config import Settings, parse_settings
from lsp_server.edits import Verdict, format_edits, verify
from lsp_server.edits.behaviour import LEVELS, CheckLevel
from lsp_server.edits.sandbox import run_limited

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
    tests_tally = Tally()
    shown = 0
    venv_repos = set(filter(None, args.make_venvs.split(",")))
    for instance, edits in sorted(by_instance.items()):
        first = edits[0]
        root = materialize(first.repo, first.base_commit, repos_dir=args.repos, scratch=args.scratch)
        if first.repo in venv_repos:
            # pytest 7.2 is the first to run on Python 3.11; flask's tests import a name 9 removed
            make_venv(root, ["pytest>=7.2,<9"], commit_time(args, first.repo, first.base_commit))
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
        if (root / ".venv" / "bin" / "python").is_file():
            # The project's tests run here (a .venv made for it in the scratch copy): the fix at
            # the tests level too, so a flaky test the selection runs shows as a rejected fix.
            v, secs = timed(lambda raw=raw, read=read, root=root: verify(
                raw, edit_format="search_replace", read_text=read, root=root, settings=settings,
                target_path=None, target_lines=None, threshold=THRESHOLD, level="tests", tier=args.tier))
            tests_tally.add(v, secs)
            ran = next((r for r in v.reasons + v.problems if "related tests" in r), "")
            print(f"  whole fix at tests level: {instance} kept={'no' if caught(v) else 'yes'} "
                  f"{(v.problems[:1] or [ran])[0][:300]}")
    print("population good, whole fixes (all hunks of an instance in one answer):")
    print(tally.line("python/compile"))
    print(tests_tally.line("python/tests (with a .venv)"))


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
        venv = self.root / ".venv" / "bin"
        if venv.is_dir():
            env["PATH"] = f"{venv}{os.pathsep}{env['PATH']}"
        return env


def make_venv(root: Path, pins: Sequence[str], uploaded_before: str | None = None) -> Path:
    """A ``.venv`` in ``root`` holding ``pins`` and the project (editable), from PyPI, made once.

    ``uploaded_before`` (an ISO time): the project's dependencies are the ones uploaded before
    it, so an old commit runs with the libraries of its day (pip's ``--uploaded-prior-to``,
    build dependencies included, against PyPI itself: local indexes and wheel folders carry no
    upload times). ``pins`` (the test runner) are installed after that without the limit: a
    pytest of 2021 does not run on this Python."""
    python = root / ".venv" / "bin" / "python"
    if python.is_file():
        return python
    subprocess.run([sys.executable, "-m", "venv", str(root / ".venv")], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    if uploaded_before:
        isolated = ["--isolated", *(["--cert", os.environ["PIP_CERT"]] if os.environ.get("PIP_CERT") else [])]
        subprocess.run([*pip, *isolated, "--upgrade", "pip"], check=True)  # a venv's may lack the option
        subprocess.run([*pip, *isolated, "--uploaded-prior-to", uploaded_before, "-e", str(root)],
                       check=True)
        subprocess.run([*pip, *pins], check=True)
    else:
        subprocess.run([*pip, *pins, "-e", str(root)], check=True)
    return python


def commit_time(args: argparse.Namespace, repo: str, commit: str) -> str:
    """When ``commit`` was made (ISO 8601), from the bare mirror."""
    return subprocess.run(["git", "--git-dir", str(git_dir(args.repos, repo)), "show", "-s",
                           "--format=%cI", commit], capture_output=True, text=True,
                          check=True).stdout.strip()


def python_project(args: argparse.Namespace, repo: str, sources: list[str], pins: list[str]) -> Project | None:
    """A Python project from its bare mirror's HEAD, with a ``.venv`` holding pytest and the
    project (dependencies from PyPI, installed once into the scratch copy)."""
    head = subprocess.run(["git", "--git-dir", str(git_dir(args.repos, repo)), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    if not head:
        print(f"{repo}: no mirror; left out")
        return None
    root = materialize(repo, head, repos_dir=args.repos, scratch=args.scratch)
    python = make_venv(root, pins)
    return Project(repo.split("/")[1], root, sources,
                   [str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests"])


DEBIAN_REGISTRY = Path("/usr/share/cargo/registry")
DEBIAN_SOURCE = ('[source.crates-io]\nreplace-with = "debian"\n\n'
                 f'[source.debian]\ndirectory = "{DEBIAN_REGISTRY}"\n')


def debian_crate(args: argparse.Namespace, package: str, crate: str, sources: list[str]) -> Project | None:
    """A crate from Debian's ``librust-<crate>-dev`` (its source under /usr/share/cargo/registry),
    copied into the scratch folder with a ``[source]`` replacement pointing at that registry, so
    its dependencies (optional ones included: Cargo.lock holds them) resolve offline."""
    found = sorted(DEBIAN_REGISTRY.glob(f"{crate}-[0-9]*")) if DEBIAN_REGISTRY.is_dir() else []
    if not found:
        print(f"{crate}: Debian's {package} is not installed; left out")
        return None
    root = args.scratch / "crates" / found[-1].name
    if not root.is_dir():
        shutil.copytree(found[-1], root)
        (root / ".cargo-checksum.json").unlink(missing_ok=True)
        (root / ".cargo").mkdir(exist_ok=True)
        (root / ".cargo" / "config.toml").write_text(DEBIAN_SOURCE, encoding="utf-8")
    return Project(crate, root, sources, ["cargo", "test", "--offline", "-q"])


def projects(args: argparse.Namespace) -> list[Project]:
    found: list[Project | None] = [
        Project("calc", REPO_ROOT / "tests" / "edits" / "fixtures" / "calc", ["src/lib.rs"],
                ["cargo", "test", "--offline", "-q"]),
        Project("rust-crate", REPO_ROOT / "examples" / "rust-crate",
                ["src/lib.rs", "src/units.rs", "src/shapes/circle.rs", "src/shapes/rectangle.rs"],
                ["cargo", "test", "--offline", "-q"]),
        debian_crate(args, "librust-semver-dev", "semver",
                     ["src/eval.rs", "src/parse.rs", "src/identifier.rs", "src/impls.rs"]),
        python_project(args, "pallets/click", ["src/click/utils.py", "src/click/formatting.py",
                                               "src/click/parser.py", "src/click/types.py"], ["pytest"]),
        python_project(args, "pallets/flask", ["src/flask/config.py", "src/flask/helpers.py",
                                               "src/flask/json/tag.py", "src/flask/sansio/scaffold.py"],
                       ["pytest<9"]),  # flask's tests import a name pytest 9 removed
    ]
    chosen = set(args.projects.split(",")) if args.projects else None
    return [p for p in found if p is not None and (chosen is None or p.name in chosen)]


def detected_by_suite(project: Project, mutant: Mutant, truth: Path, env: dict[str, str],
                      cache: dict[str, bool]) -> bool:
    target = truth / mutant.path
    original = target.read_text(encoding="utf-8")
    key = hashlib.sha256("\0".join((project.name, mutant.path, original, mutant.replace)).encode()).hexdigest()
    if key in cache:
        return cache[key]
    target.write_text(original.replace(mutant.search, mutant.replace, 1), encoding="utf-8")
    try:
        # A mutant that hangs is detected; its whole process group goes (a test binary outlives
        # a killed cargo otherwise).
        res = run_limited(project.suite, truth, TRUTH_TIMEOUT, env)
        cache[key] = res.timed_out or res.code != 0
    finally:
        target.write_text(original, encoding="utf-8")
    return cache[key]


TRUTH_TIMEOUT = 180.0
_CAUGHT_BY = re.compile(r"\(caught by: ([^)]+)\)")


def catch_stage(v: Verdict) -> str:
    """Which selection stage's test caught a verdict: direct, transitive or widening."""
    for problem in v.problems:
        m = _CAUGHT_BY.search(problem)
        if m:
            first = m.group(1).split(",")[0].strip()
            return "direct" if first == "direct" else "widening" if first == "whole suite" else "transitive"
    return "other"


def mutant_population(args: argparse.Namespace, settings: Settings) -> None:
    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    neutral_tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    per_op: dict[str, Counter[str]] = defaultdict(Counter)
    per_project: dict[str, Counter[str]] = defaultdict(Counter)
    stages: Counter[str] = Counter()
    invalid = 0
    accepted_wrong: Counter[str] = Counter()
    missed: list[str] = []
    rejected_good: list[str] = []
    flaky: list[str] = []
    cache_file = args.scratch / "verifier-bench" / "truth-cache.json"
    cache: dict[str, bool] = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    for project in projects(args):
        truth = args.scratch / "verifier-bench" / "truth" / project.name
        if truth.exists():
            shutil.rmtree(truth)
        shutil.copytree(project.root, truth, ignore=shutil.ignore_patterns("target", ".venv", "__pycache__"))
        env = project.env(args.scratch)
        found: list[Mutant] = []
        calm: list[Mutant] = []
        for rel in project.sources:
            text = (project.root / rel).read_text(encoding="utf-8")
            found.extend(mutants(text, rel))
            calm.extend(neutral(text, rel))
        chosen = sample(found, args.mutants_per_operator)
        rng = random.Random(27)
        rng.shuffle(calm)
        calm = calm[:args.neutral_per_project]
        print(f"{project.name}: {len(found)} mutants, {len(chosen)} sampled; {len(calm)} neutral edits", flush=True)

        def read(path: str, root: Path = project.root) -> str | None:
            full = root / path
            return full.read_text(encoding="utf-8") if full.is_file() else None

        def judge(m: Mutant, project: Project = project,
                  read: Callable[[str], str | None] = read) -> dict[str, tuple[Verdict, float]]:
            lines = (m.line, m.line + m.search.count("\n") - 1)
            return {level: timed(lambda level=level: verify(
                m.answer(), edit_format="search_replace", read_text=read, root=project.root,
                settings=settings, target_path=m.path, target_lines=lines, threshold=THRESHOLD,
                level=level, tier=args.tier)) for level in LEVELS}

        for m in calm:
            verdicts = judge(m)
            for level in LEVELS:
                v, secs = verdicts[level]
                neutral_tallies[(project.name, level)].add(v, secs)
                neutral_tallies[("all", level)].add(v, secs)
                if level == "tests" and caught(v):
                    rejected_good.append(f"{project.name} {m.path}:{m.line} {m.function}: {(v.problems or v.reasons)[:1]}")
                flaky.extend(f"{project.name}: {r[r.index('flaky'):][:200]}" for r in v.reasons if "flaky (" in r)
        for m in chosen:
            verdicts = judge(m)
            compile_v = verdicts["compile"][0]
            if any("new error" in p or "syntax error" in p for p in compile_v.problems):
                invalid += 1
                continue
            for level in LEVELS:
                v, secs = verdicts[level]
                tallies[(project.name, level)].add(v, secs)
                tallies[("all", level)].add(v, secs)
                if v.accepted:
                    accepted_wrong[level] += 1
            tests_v = verdicts["tests"][0]
            if args.verbose:
                print(f"    {m.operator} {m.path}:{m.line} tests={'caught' if caught(tests_v) else 'kept'} "
                      f"({verdicts['tests'][1]:.1f}s)", flush=True)
            flaky.extend(f"{project.name}: {r[r.index('flaky'):][:200]}" for r in tests_v.reasons if "flaky (" in r)
            per_op[m.operator]["n"] += 1
            per_op[m.operator]["caught"] += caught(tests_v)
            per_project[project.name]["n"] += 1
            if detected_by_suite(project, m, truth, env, cache):
                per_op[m.operator]["suite"] += 1
                per_project[project.name]["suite"] += 1
                if caught(tests_v):
                    per_project[project.name]["caught"] += 1
                    stages[catch_stage(tests_v)] += 1
                else:
                    ran = next((r for r in tests_v.reasons if r.startswith(("related tests", "no related"))), "")
                    missed.append(f"{project.name} {m.operator} {m.path}:{m.line} {m.function}: {ran[:240]}")
            elif caught(tests_v):
                per_op[m.operator]["caught_undetected"] += 1
                per_project[project.name]["caught_undetected"] += 1
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cache), encoding="utf-8")
    valid_n = tallies[("all", "syntax")].n
    print(f"population wrong-but-valid: {valid_n} valid mutants ({invalid} more rejected by the compile check as invalid)")
    for key in sorted(tallies, key=lambda k: (k[0] == "all", k[0], LEVELS.index(k[1]))):  # type: ignore[arg-type]
        print(tallies[key].line(f"{key[0]}/{key[1]}"))
    for level in LEVELS:
        print(f"  wrong answers accepted at {level:8s}: {accepted_wrong[level]}/{valid_n}")
    suite_detected = sum(c["suite"] for c in per_project.values())
    caught_detected = sum(c["caught"] for c in per_project.values())
    print(f"  detected by the project's own tests: {suite_detected}/{valid_n}; of those caught by the "
          f"verifier's related tests: {caught_detected}/{suite_detected} = "
          f"{100 * caught_detected / max(suite_detected, 1):.1f}%  (target >= 90%)")
    print("    by selection stage: " + ", ".join(f"{s} {stages[s]}" for s in ("direct", "transitive", "widening", "other")))
    for name, c in per_project.items():
        print(f"    {name:12s} valid {c['n']:3d}  suite detects {c['suite']:3d}  verifier catches {c['caught']:3d} of those"
              f"  (+{c['caught_undetected']} the suite does not detect)")
    for op, c in sorted(per_op.items()):
        print(f"    {op:17s} valid {c['n']:3d}  suite detects {c['suite']:3d}  verifier catches {c['caught']:3d}")
    for line in missed[: args.show]:
        print(f"  MISSED {line}")
    print("population good, neutral edits (a comment line first in a function body):")
    for key in sorted(neutral_tallies, key=lambda k: (k[0] == "all", k[0], LEVELS.index(k[1]))):  # type: ignore[arg-type]
        print(neutral_tallies[key].line(f"{key[0]}/{key[1]}"))
    for line in rejected_good[: args.show]:
        print(f"  GOOD REJECTED {line}")
    for line in flaky[: args.show]:
        print(f"  FLAKY {line}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=shared_data_dir(REPO_ROOT))
    ap.add_argument("--repos", type=Path, default=DEFAULT_REPOS_DIR)
    ap.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    ap.add_argument("--mutants-per-operator", type=int, default=4)
    ap.add_argument("--neutral-per-project", type=int, default=6,
                    help="neutral (comment-only) good edits per project, checked at every level")
    ap.add_argument("--verbose", action="store_true", help="a line per mutant as it is judged")
    ap.add_argument("--tier", default="local", help="the tier whose test budget population 3 uses")
    ap.add_argument("--projects", default="", help="comma-separated subset of population 3's projects")
    ap.add_argument("--show", type=int, default=8, help="misjudged good edits to print")
    ap.add_argument("--skip-corpus", action="store_true")
    ap.add_argument("--skip-mutants", action="store_true")
    ap.add_argument("--skip-whole-fixes", action="store_true")
    ap.add_argument("--make-venvs", default="", metavar="REPO[,REPO]",
                    help="whole fixes: give these repositories' scratch copies a .venv (pytest and "
                         "the project, with packages uploaded before the base commit) so their "
                         "tests run")
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
