"""Running an edit's related tests (:mod:`lsp_server.edits.related_tests` selects them) in the
shadow copy, before and after the edit, within a time budget.

Each group runs before and after the edit, in order, while the budget lasts; what does not fit
is skipped and named. Results before the edit are cached by the copy's content, so a second
answer to the same request (or an edit to another file of an unchanged project) does not run
them again. A test that passed before and fails after is run once more; one that passes then is
reported as flaky and does not reject the edit.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lsp_server.edits.related_tests import CARGO_TEST, DIRECT, Suite, TestGroup
from lsp_server.edits.sandbox import RunResult, run_limited

_LIBTEST = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)", re.MULTILINE)
MAX_DESELECT = 5000  # more than this many already-run tests: the whole suite runs them again
RERUN = 5  # the first this many failing tests run once more, to tell a failure from a flake


class SuiteMemory(Protocol):
    """Where a suite's measured duration is kept between requests (the shadow copy)."""

    def suite_seconds(self, suite: str, digest: str) -> tuple[float, bool] | None: ...

    def remember_suite(self, suite: str, digest: str, seconds: float, finished: bool) -> None: ...


@dataclass
class TestOutcome:
    """What running the related tests before and after the edit found."""

    ran: list[str] = field(default_factory=list)  # group labels that ran both times
    broken: list[str] = field(default_factory=list)  # tests that passed before and fail after
    broken_stage: dict[str, str] = field(default_factory=dict)  # broken test → its stage
    flaky: list[str] = field(default_factory=list)  # failed after, passed when run again
    hung: list[str] = field(default_factory=list)  # groups that finished before, not after
    skipped: list[str] = field(default_factory=list)  # groups left out for the budget
    unrunnable: list[str] = field(default_factory=list)  # groups with no passing test before
    not_needed: list[str] = field(default_factory=list)  # groups left out once a test broke
    tests_run: int = 0
    stage_tests: dict[str, int] = field(default_factory=dict)  # stage → tests compared
    seconds: float = 0.0

    def stages_caught(self) -> list[str]:
        """The stages whose tests broke, nearest first, each once."""
        out: list[str] = []
        for name in self.broken:
            stage = self.broken_stage.get(name, DIRECT)
            if stage not in out:
                out.append(stage)
        return out

    def summary(self, budget: float, isolation: str) -> str:
        """One line for the reasons: what ran, selected by what, and what the budget skipped."""
        by_stage = ", ".join(f"{stage} {n}" for stage, n in self.stage_tests.items()) or "none ran"
        text = (f"related tests: {', '.join(self.ran) or 'none ran'}; {self.tests_run} passing before "
                f"the edit compared (by selection: {by_stage}), {self.seconds:.1f}s, {isolation}")
        if self.skipped:
            text += f"; skipped for the {budget:g}s budget: {', '.join(self.skipped)}"
        if self.unrunnable:
            text += f"; cannot compare: {', '.join(self.unrunnable)}"
        if self.not_needed:
            text += f"; not run once a test had failed: {', '.join(self.not_needed)}"
        if self.flaky:
            text += f"; flaky (failed after the edit, passed when run again): {', '.join(self.flaky[:5])}"
        return text


_CACHE_LOCK = threading.Lock()
_BEFORE: OrderedDict[tuple[str, TestGroup], tuple[dict[str, str], RunResult]] = OrderedDict()
_CACHE_SIZE = 64


def _node_id(case: ET.Element) -> str:
    """A junit (xunit1) testcase as its pytest node id: file, classes, name."""
    classname, name, file = case.get("classname", ""), case.get("name", ""), case.get("file")
    if not file:
        return f"{classname}::{name}"
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
    classes = classname[len(module) + 1:].split(".") if classname.startswith(module + ".") else []
    return "::".join((file, *[c for c in classes if c], name))


def _results(group: TestGroup, res: RunResult, junit: Path | None) -> dict[str, str]:
    """Test name → "passed" | "failed" | "skipped"."""
    out: dict[str, str] = {}
    if group.kind == "cargo":
        for name, status in _LIBTEST.findall(res.stdout):
            out[name] = {"ok": "passed", "FAILED": "failed"}.get(status, "skipped")
        return out
    if junit is None or not junit.is_file():
        return out
    try:
        tree = ET.parse(junit)
    except (ET.ParseError, OSError):
        return out
    for case in tree.iter("testcase"):
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
            elif child.tag == "skipped":
                status = "skipped"
        out[_node_id(case)] = status
    return out


class TestRunner:
    """Runs test groups in one shadow copy, before and after an edit, within a time budget."""

    def __init__(self, ws: Path, env: dict[str, str], python: str, memory: SuiteMemory | None = None) -> None:
        self.ws = ws
        self.env = env
        self.python = python
        self.memory = memory

    def run_group(self, group: TestGroup, limit: float, skip: Sequence[str] = ()) -> tuple[dict[str, str], RunResult]:
        """Run one group's tests (without those in ``skip``) within ``limit`` seconds, offline:
        each test's result by name, and how the run ended."""
        if group.kind == "cargo":
            argv = list(group.argv)
            if skip:
                argv += ([] if "--" in argv else ["--"]) + ["--exact", *[a for s in skip for a in ("--skip", s)]]
            res = run_limited(argv, self.ws / group.cwd, limit, self.env, offline=True)
            return _results(group, res, None), res
        with tempfile.TemporaryDirectory(prefix="agentic-junit-") as tmp:
            junit = Path(tmp) / "junit.xml"
            # The project's own addopts stay (they say what its suite is, e.g. "-m 'not
            # stress'"), but not a stop at the first failure. xunit1 records each test's file,
            # which makes its node id (to deselect or rerun it); a module that fails to import
            # must not stop the rest of the suite.
            argv = [self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--maxfail=1000000",
                    "-o", "junit_family=xunit1", "--continue-on-collection-errors",
                    f"--junitxml={junit}", *group.argv, *[a for s in skip for a in ("--deselect", s)]]
            res = run_limited(argv, self.ws / group.cwd, limit, self.env, offline=True)
            return _results(group, res, junit), res

    def results_before(self, key: str, group: TestGroup, limit: float) -> tuple[dict[str, str], RunResult, bool]:
        """Results before the edit (cached by content), and whether they were run just now."""
        with _CACHE_LOCK:
            cached = _BEFORE.get((key, group))
        if cached is not None:
            return cached[0], cached[1], False
        before, res = self.run_group(group, limit)
        if not res.timed_out:
            with _CACHE_LOCK:
                _BEFORE[(key, group)] = (before, res)
                while len(_BEFORE) > _CACHE_SIZE:
                    _BEFORE.popitem(last=False)
        return before, res, True

    def before_and_after(self, groups: Sequence[TestGroup], write_before: Callable[[], str],
                         write_after: Callable[[], None], budget: float,
                         suites: Sequence[Suite] = ()) -> TestOutcome:
        """Run each group on the old texts (``write_before`` returns the copy's content key) and
        on the new ones, while ``budget`` seconds last; then each whole suite that fits."""
        state = _Run(self, TestOutcome(), budget, write_before, write_after)
        # The whole suite's run before the edit comes first: it is the same for every edit to
        # an unchanged project (cached), and it answers "before" for every pytest group.
        ready = {suite.key: state.suite_before(suite) for suite in suites}
        known: dict[str, str] = {}
        for suite in suites:
            got = ready[suite.key]
            if got is not None and suite.group.kind == "pytest":
                known.update(got[0])
        for index, group in enumerate(groups):
            if state.outcome.broken:
                # One test that breaks rejects the edit: the farther ones would only cost time.
                state.outcome.not_needed.extend(g.label for g in groups[index:])
                break
            if state.remaining < 1.0:
                state.outcome.skipped.extend(g.label for g in groups[index:])
                break
            state.group(group, known if group.kind == "pytest" else {})
        for suite in suites:
            got = ready[suite.key]
            if state.outcome.broken:
                state.outcome.not_needed.append(suite.group.label)
            elif got is not None:
                state.suite_after(suite, *got)
        return state.outcome


class _Run:
    """One before-and-after run of a selection: the budget left and what was compared."""

    def __init__(self, runner: TestRunner, outcome: TestOutcome, budget: float,
                 write_before: Callable[[], str], write_after: Callable[[], None]) -> None:
        self.runner = runner
        self.outcome = outcome
        self.remaining = budget
        self.write_before = write_before
        self.write_after = write_after
        self.compared: dict[str, set[str]] = {"cargo": set(), "pytest": set()}

    def _spend(self, res: RunResult) -> None:
        self.remaining -= res.seconds
        self.outcome.seconds += res.seconds

    def group(self, group: TestGroup, known: dict[str, str]) -> None:
        subset = _subset(group, known)
        if subset is not None:
            self._after(group, subset, 0.0)
            return
        before, res, fresh = self.runner.results_before(self.write_before(), group, self.remaining)
        if fresh:
            self._spend(res)
        if res.timed_out:
            self.outcome.skipped.append(f"{group.label} (did not finish before the edit)")
            return
        self._after(group, before, res.seconds)

    def _after(self, group: TestGroup, before: dict[str, str], before_seconds: float,
               skip: Sequence[str] = ()) -> None:
        done = self.compared[group.kind]
        passed = [n for n, s in before.items() if s == "passed" and n not in done]
        if not passed:
            if not any(s == "passed" for s in before.values()):
                self.outcome.unrunnable.append(f"{group.label} (no test passed before the edit)")
            return
        if self.remaining < 1.0:
            self.outcome.skipped.append(group.label)
            return
        self.write_after()
        limit = self.remaining
        after, res = self.runner.run_group(group, limit, skip)
        self._spend(res)
        if res.timed_out:
            if before_seconds * 3 + 5 < limit:
                self.outcome.hung.append(f"{group.label} (finished in {before_seconds:.1f}s before the edit, "
                                         f"not in {limit:.0f}s after)")
            else:
                self.outcome.skipped.append(f"{group.label} (did not finish after the edit within the budget)")
            return
        self.outcome.ran.append(group.label)
        compared = passed  # what was deselected was compared before; a test gone missing failed
        self.outcome.tests_run += len(compared)
        self.outcome.stage_tests[group.stage] = self.outcome.stage_tests.get(group.stage, 0) + len(compared)
        done.update(compared)
        failing = [n for n in compared if after.get(n, "failed") == "failed"]
        for name in self._confirm(group, failing):
            self.outcome.broken.append(name)
            self.outcome.broken_stage[name] = group.stage

    def _confirm(self, group: TestGroup, failing: list[str]) -> list[str]:
        """The failing tests that fail again when run once more (the first few of them)."""
        if not failing or self.remaining < 1.0:
            return failing
        names = tuple(failing[:RERUN])
        if group.kind == "cargo":
            argv = (*CARGO_TEST, *_targets_of(group), "--", "--exact", *names)
        else:
            argv = names
        again, res = self.runner.run_group(TestGroup(group.label, argv, names, group.cwd, group.kind, group.stage),
                                      self.remaining)
        self._spend(res)
        if res.timed_out:
            return failing
        flaky = [n for n in names if again.get(n) == "passed"]
        self.outcome.flaky.extend(flaky)
        return [n for n in failing if n not in flaky]

    def suite_before(self, suite: Suite) -> tuple[dict[str, str], RunResult] | None:
        """The whole suite's results before the edit: cached, or run now when its remembered
        duration (twice: before and after) fits what is left, or, when not known yet, measured
        with half of what is left. None when it does not fit (said in the reasons)."""
        group = suite.group
        memory = self.runner.memory
        known = memory.suite_seconds(suite.key, suite.digest) if memory is not None else None
        key = self.write_before()
        with _CACHE_LOCK:
            cached = _BEFORE.get((key, group))
        if cached is not None:
            return cached
        if known is not None and 2 * known[0] + 1 > self.remaining:
            why = f"takes {known[0]:.0f}s" if known[1] else f"did not finish in {known[0]:.0f}s"
            self.outcome.skipped.append(f"{group.label} ({why}, twice that does not fit)")
            return None
        if self.remaining / 2 < 1.0:
            self.outcome.skipped.append(group.label)
            return None
        limit = self.remaining / 2
        before, res, _ = self.runner.results_before(key, group, limit)
        self._spend(res)
        if memory is not None:
            memory.remember_suite(suite.key, suite.digest, res.seconds if not res.timed_out else limit,
                                  not res.timed_out)
        if res.timed_out:
            self.outcome.skipped.append(f"{group.label} (did not finish in {limit:.0f}s before the edit)")
            return None
        return before, res

    def suite_after(self, suite: Suite, before: dict[str, str], res: RunResult) -> None:
        """The rest of the whole suite after the edit, when it fits what is left."""
        group = suite.group
        if res.seconds + 1 > self.remaining:
            self.outcome.skipped.append(f"{group.label} (takes {res.seconds:.0f}s)")
            return
        done = sorted(self.compared[group.kind])
        self._after(group, before, res.seconds, done if len(done) <= MAX_DESELECT else ())


def _subset(group: TestGroup, known: dict[str, str]) -> dict[str, str] | None:
    """A pytest group's results before the edit, out of the whole suite's (None when the suite
    did not run one of its tests: the group then runs before the edit itself)."""
    if not known:
        return None
    out: dict[str, str] = {}
    for test in group.tests:
        mine = {n: s for n, s in known.items()
                if n == test or n.startswith((f"{test}[", f"{test}::"))}
        if not mine:
            return None
        out.update(mine)
    return out


def _targets_of(group: TestGroup) -> list[str]:
    """The target options of a cargo group's argv (``--lib``, ``--test x``, ...)."""
    argv = list(group.argv)
    end = argv.index("--") if "--" in argv else len(argv)
    return argv[len(CARGO_TEST):end]


def runner_env(target_dir: Path, ws: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Always our own: a CARGO_TARGET_DIR from the environment may be the project's own target/.
    env["CARGO_TARGET_DIR"] = str(target_dir)
    env["CARGO_TERM_COLOR"] = "never"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    paths = [str(ws / "src"), str(ws)] if (ws / "src").is_dir() else [str(ws)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env
