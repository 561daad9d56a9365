"""What an edit does: compiler diagnostics and related tests before and after it, in the shadow
copy, and, for a fix, whether the diagnostic it was asked to fix is gone.

:func:`check_behaviour` returns the factors for the verifier (one per problem found), the
reasons (what ran, what it found, what could not run and why) and the *evidence*: which checks
ran to the end. The verifier turns the evidence into a ceiling on the confidence (see
``verifier.py``).
"""

from __future__ import annotations

import shlex
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

from lsp_server.config import Settings
from lsp_server.edits.diagnostics import (
    Diagnostic,
    DiagnosticRun,
    FixDiagnostic,
    PythonProject,
    cargo_check,
    crate_dir,
    importers,
    line_map,
    matching,
    near,
    new_errors,
    python_errors,
    tools_for,
)
from lsp_server.edits.protocol import FileChange
from lsp_server.edits.related_runs import TestRunner, runner_env
from lsp_server.edits.related_tests import cargo_available, project_python, select_tests
from lsp_server.edits.sandbox import isolation, run_limited
from lsp_server.edits.shadow import Shadow, shadow_for
from lsp_server.edits.typecheck import TypeChecker, find_type_checker, type_check

CheckLevel = Literal["syntax", "compile", "tests"]
LEVELS: tuple[CheckLevel, ...] = ("syntax", "compile", "tests")
# ran: ran to the end; none: no such check exists for these files; unavailable: the tool is
# missing; not_run: it exists but did not run to the end (level, time limit, budget).
Evidence = Literal["ran", "none", "unavailable", "not_run", "off"]

NEW_ERROR_FACTOR = 0.2
BROKEN_TEST_FACTOR = 0.2
HUNG_TEST_FACTOR = 0.3
FIX_NOT_GONE_FACTOR = 0.3
FIX_UNCHECKED_FACTOR = 0.9
CHECK_FAILED_FACTOR = 0.3
CHECK_TIMEOUT_FACTOR = 0.6
CHECK_ERROR_FACTOR = 0.9


@dataclass
class BehaviourReport:
    """Factors (each with the reason it is below 1), notes, and the evidence gathered."""

    factors: list[tuple[float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compile: Evidence = "none"
    tests: Evidence = "none"

    def problem(self, factor: float, reason: str) -> None:
        self.factors.append((factor, reason))


@dataclass(frozen=True)
class FixTarget:
    """The diagnostic(s) a fix request is about, in ``path``; ``lines`` (the request's) stand
    in for a diagnostic's own when the editor gave none."""

    diagnostics: tuple[FixDiagnostic, ...]
    path: str | None
    lines: tuple[int, int] | None

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(d.message for d in self.diagnostics)


_CACHE_LOCK = threading.Lock()
_CHECKS: OrderedDict[tuple[str, str], DiagnosticRun] = OrderedDict()


def _cached_check(key: tuple[str, str], run: Callable[[], DiagnosticRun]) -> DiagnosticRun:
    with _CACHE_LOCK:
        hit = _CHECKS.get(key)
    if hit is not None:
        return hit
    result = run()
    if result.error is None:
        with _CACHE_LOCK:
            _CHECKS[key] = result
            while len(_CHECKS) > 64:
                _CHECKS.popitem(last=False)
    return result


def _texts(changes: Sequence[FileChange], new: bool) -> dict[str, str | None]:
    return {c.path: (c.new_text if new else (None if c.created else c.old_text)) for c in changes}


def _show(diags: Sequence[Diagnostic], limit: int = 3) -> str:
    shown = "; ".join(d.show() for d in diags[:limit])
    return shown + (f" (+{len(diags) - limit} more)" if len(diags) > limit else "")


class _Session:
    """One verification in one locked shadow copy."""

    def __init__(self, shadow: Shadow, changes: Sequence[FileChange], settings: Settings,
                 report: BehaviourReport, tier: str | None = None) -> None:
        self.shadow = shadow
        self.tier = tier
        self.changes = changes
        self.settings = settings
        self.report = report
        self.old = _texts(changes, False)
        self.new = _texts(changes, True)
        self.env = runner_env(shadow.home / "target", shadow.ws)
        self.written: dict[str, str | None] | None = None
        self.before_key = shadow.digest_with(self.old)

    def write(self, new: bool) -> None:
        texts = self.new if new else self.old
        if self.written is not texts:
            self.shadow.write(texts)
            self.written = texts

    def write_before(self) -> str:
        """The copy as it was before the edit, and its content key (for cached results)."""
        self.write(False)
        return self.before_key

    def read(self, new: bool) -> Callable[[str], str | None]:
        texts = self.new if new else self.old

        def read(rel: str) -> str | None:
            if rel in texts:
                return texts[rel]
            try:
                return (self.shadow.ws / rel).read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None

        return read

    # --- compiler diagnostics -------------------------------------------------------------

    def diagnostics(self) -> tuple[list[Diagnostic], list[Diagnostic], list[str]] | None:
        """(before, after, tools that ran), or None when no compile check exists here."""
        rust = [c for c in self.changes if c.path.endswith(".rs")]
        python = [c for c in self.changes if c.path.endswith((".py", ".pyi"))]
        other = [c.path for c in self.changes if c not in rust and c not in python]
        if other:
            self.report.notes.append(f"syntax only for {', '.join(other[:3])}: no compiler check for this language")
        before: list[Diagnostic] = []
        after: list[Diagnostic] = []
        tools: list[str] = []
        ran_any = False
        crates = sorted({d for c in rust if (d := crate_dir(self.shadow.ws, c.path)) is not None})
        if rust and not crates:
            self.report.notes.append("no Cargo.toml above the edited Rust file: no compiler check")
        if crates and not cargo_available():
            self.report.compile = "unavailable"
            self.report.notes.append("cargo is not installed: Rust edits are checked for syntax only")
            crates = []
        timeout = self.settings.edits.check_timeout_seconds
        for crate in crates:
            label = crate.relative_to(self.shadow.ws).as_posix() or "."
            self.write(False)
            b = _cached_check((self.before_key, label), partial(
                cargo_check, self.shadow.ws, crate, self.env, timeout))
            a = DiagnosticRun("cargo check", (), "not run")
            if b.error is None:
                self.write(True)
                a = cargo_check(self.shadow.ws, crate, self.env, timeout)
            error = b.error or a.error
            if error is not None:
                timed_out = "did not finish" in error
                self.report.compile = "not_run" if timed_out else (
                    self.report.compile if self.report.compile == "ran" else "unavailable")
                self.report.notes.append(f"compiler check not done: {error}")
                continue
            ran_any = True
            before.extend(b.diagnostics)
            after.extend(a.diagnostics)
            tools.append("cargo check")
            self.report.notes.append(
                f"cargo check ({label}): {len(a.diagnostics)} error(s) after the edit, "
                f"{len(b.diagnostics)} before ({b.seconds + a.seconds:.1f}s)")
        if python:
            project = PythonProject(set(self.shadow.files()) | {c.path for c in python}, self.read(False))
            paths = [c.path for c in python] + importers(project, [c.path for c in python])
            before.extend(python_errors(paths, project))
            project_after = PythonProject(set(self.shadow.files()) | {c.path for c in python}, self.read(True))
            after.extend(python_errors(paths, project_after))
            ran_any = True
            tools.append("python compile + pyflakes")
            self.report.notes.append(
                f"python compile + pyflakes on {len(paths)} file(s): "
                f"{len(after)} error(s) after the edit, {len(before)} before")
            checker = find_type_checker(self.shadow.root)
            if checker is not None and (typed := self.type_check(checker, paths)) is not None:
                before.extend(typed[0])
                after.extend(typed[1])
                tools.append(checker.name)
        if not ran_any:
            return None
        if self.report.compile != "not_run":
            self.report.compile = "ran"
        return before, after, tools

    def type_check(self, checker: TypeChecker,
                   paths: Sequence[str]) -> tuple[list[Diagnostic], list[Diagnostic]] | None:
        """The project's type checker on ``paths`` before and after the edit, within the tier's
        budget (both runs together); None when it could not run to the end (said in the notes;
        a time limit leaves the compile check not run)."""
        if checker.executable is None:
            self.report.notes.append(checker.missing())
            return None
        budget = self.settings.edits.test_budget(self.tier) or self.settings.edits.check_timeout_seconds
        budget = min(budget, self.settings.edits.check_timeout_seconds)
        existing = [p for p in paths if self.old.get(p, "") is not None]
        cache = self.shadow.home / f"{checker.name}-cache"
        python = project_python(self.shadow.root)

        def run(files: Sequence[str], seconds: float) -> DiagnosticRun:
            return type_check(checker, self.shadow.ws, list(files), env=self.env,
                              timeout=seconds, cache_dir=cache, python=python)

        self.write(False)
        b = _cached_check((self.before_key, f"{checker.name}:{','.join(existing)}"),
                          partial(run, existing, budget)) if existing else DiagnosticRun(
                              checker.name, ())
        a = DiagnosticRun(checker.name, (), "not run")
        if b.error is None:
            self.write(True)
            a = run(paths, max(1.0, budget - b.seconds))
        error = b.error or a.error
        if error is not None:
            if "did not finish" in error:
                self.report.compile = "not_run"
            self.report.notes.append(f"type check not done: {error}")
            return None
        self.report.notes.append(
            f"{checker.label} on {len(paths)} file(s): {len(a.diagnostics)} error(s) after the "
            f"edit, {len(b.diagnostics)} before ({b.seconds + a.seconds:.1f}s)")
        return list(b.diagnostics), list(a.diagnostics)

    def compare(self, result: tuple[list[Diagnostic], list[Diagnostic], list[str]] | None,
                fix: FixTarget | None) -> None:
        if result is None:
            if fix is not None and fix.messages:
                # Said, not scored: the syntax-only ceiling already says how little was checked.
                self.report.notes.append("whether the diagnostic to fix is gone was not checked: "
                                         "no compiler check ran for this file")
            return
        before, after, tools = result
        added = new_errors(before, after)
        if added:
            self.report.problem(NEW_ERROR_FACTOR, f"new error(s) after the edit: {_show(added)}")
        if fix is None or not fix.messages or fix.path is None:
            return
        change = next((c for c in self.changes if c.path == fix.path), None)
        mapped = line_map(change) if change is not None else (lambda n: n)
        grown = max(e.new_text.count("\n") for e in change.edits) if change and change.edits else 0
        for wanted in fix.diagnostics:
            lines = wanted.lines or fix.lines or (1, 1 << 30)
            moved = (mapped(min(lines)), mapped(max(lines)) + grown)
            targeted = matching(wanted, [d for d in before if near(d, fix.path, lines)])
            if not targeted:
                shown = wanted.show().strip().splitlines()[0][:100]
                known = tools_for(wanted.source)
                if wanted.source and known is None:
                    why = f"it comes from {wanted.source}, a tool the server cannot run here"
                elif known and known <= {"mypy", "pyright"} and not set(tools) & known:
                    why = (f"it comes from {wanted.source}, a type checker that did not run here "
                           "(the project configures none, or it is not installed)")
                else:
                    why = "it comes from a tool the server cannot run here"
                self.report.problem(FIX_UNCHECKED_FACTOR, (
                    f"the diagnostic to fix ({shown!r}) is not reported by "
                    f"{' and '.join(tools)}: {why}, so whether the edit removes it is not checked"))
                continue
            left = matching(wanted, [d for d in after if near(d, fix.path, moved)])
            if left:
                self.report.problem(FIX_NOT_GONE_FACTOR,
                                    f"the diagnostic to fix is still reported after the edit: {_show(left)}")
            else:
                self.report.notes.append(f"the diagnostic to fix is gone: {targeted[0].show()}")

    # --- the check command ------------------------------------------------------------------

    def check_command(self, fix: FixTarget | None) -> None:
        command = self.settings.edits.check_command
        if not command:
            return
        files = " ".join(shlex.quote(c.path) for c in self.changes)
        try:
            argv = shlex.split(command.replace("{files}", files))
        except ValueError as exc:
            self.report.problem(CHECK_ERROR_FACTOR,
                                f"check command could not run: edits.check_command cannot be split into words: {exc}")
            return
        if not argv:
            return
        timeout = self.settings.edits.check_timeout_seconds
        outputs: list[tuple[int | None, list[str]]] = []
        for new in (False, True):
            self.write(new)
            try:
                res = run_limited(argv, self.shadow.ws, timeout, self.env)
            except OSError as exc:
                self.report.problem(CHECK_ERROR_FACTOR, f"check command could not run: {argv[0]}: {exc.strerror}")
                return
            if res.timed_out:
                self.report.problem(CHECK_TIMEOUT_FACTOR, f"check command timed out ({command}) "
                                    f"{'before' if not new else 'after'} the edit")
                return
            lines = [ln.strip() for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
            outputs.append((res.code, lines))
        (code_b, out_b), (code_a, out_a) = outputs
        tail = f": {out_a[-1][:200]}" if out_a else ""
        if code_a == 0:
            self.report.notes.append(f"check command passed ({command})")
        elif code_b == 0:
            self.report.problem(CHECK_FAILED_FACTOR, f"check command failed ({command}){tail}")
        else:
            seen = set(out_b)
            fresh = [ln for ln in out_a if ln not in seen]
            if fresh and any(_looks_like_error(ln) for ln in fresh):
                shown = next(ln for ln in fresh if _looks_like_error(ln))
                self.report.problem(CHECK_FAILED_FACTOR,
                                    f"check command reports new output after the edit ({command}): {shown[:200]}")
            else:
                self.report.notes.append(f"check command fails with and without the edit ({command}); "
                                         "no new error after it")
        if fix is not None and code_a != 0:
            for message in fix.messages:
                first = message.strip().splitlines()[0] if message.strip() else ""
                if first and any(first in ln for ln in out_b) and any(first in ln for ln in out_a):
                    self.report.problem(FIX_NOT_GONE_FACTOR,
                                        f"the check command still reports the diagnostic to fix: {first[:120]}")

    # --- related tests ----------------------------------------------------------------------

    def tests(self) -> None:
        self.write(False)  # tests are selected from the project as it was (an edit may drop one)
        python = project_python(self.shadow.root)
        with self.shadow.index(self.settings) as index:
            selection = select_tests(self.shadow, index, self.changes, self.read(False),
                                     lambda rel: crate_dir(self.shadow.ws, rel), python)
        if not selection.groups and not selection.suites:
            if selection.unavailable:
                self.report.tests = "unavailable"
                self.report.notes.append(f"related tests not run: {selection.unavailable[0]}")
            else:
                self.report.notes.append("no related tests found")
            return
        budget = self.settings.edits.test_budget(self.tier)
        runner = TestRunner(self.shadow.ws, self.env, python, memory=self.shadow)
        outcome = runner.before_and_after(selection.groups, self.write_before, partial(self.write, True), budget,
                                          selection.suites)
        summary = outcome.summary(budget, isolation())
        if outcome.broken:
            self.report.problem(BROKEN_TEST_FACTOR, f"test(s) that passed before fail after the edit: "
                                f"{', '.join(outcome.broken[:5])} (caught by: {', '.join(outcome.stages_caught())}) "
                                f"({summary})")
        elif outcome.hung:
            self.report.problem(HUNG_TEST_FACTOR, f"tests stopped finishing after the edit: "
                                f"{', '.join(outcome.hung)} ({summary})")
        else:
            self.report.notes.append(summary)
        if outcome.ran or outcome.broken or outcome.hung:
            self.report.tests = "ran"
        elif not selection.groups:  # no test reaches the edit, and the whole suite did not fit
            self.report.tests = "none"
        else:  # nothing to compare against (e.g. a broken build) is not evidence left unused
            self.report.tests = "not_run" if outcome.skipped else "unavailable"


_ERROR_WORDS = ("error", "fail", "traceback", "exception", "panicked", "undefined", "not found")


def _looks_like_error(line: str) -> bool:
    low = line.lower()
    return any(word in low for word in _ERROR_WORDS)


def check_behaviour(changes: Sequence[FileChange], root: Path, settings: Settings, *,
                    level: CheckLevel = "tests", tier: str | None = None,
                    fix: FixTarget | None = None) -> BehaviourReport:
    """Compiler diagnostics (level ``compile``) and related tests (level ``tests``) before and
    after ``changes``, in the project's shadow copy. Never writes into ``root``."""
    report = BehaviourReport()
    rust_or_python = any(c.path.endswith((".rs", ".py", ".pyi")) for c in changes)
    if level == "syntax":
        if rust_or_python:
            report.compile = "not_run"
            report.tests = "not_run" if settings.edits.run_tests else "off"
        if fix is not None and fix.messages:
            report.problem(FIX_UNCHECKED_FACTOR, "the diagnostic to fix was not checked (syntax checks only)")
        return report
    try:
        with shadow_for(root, settings) as shadow:
            session = _Session(shadow, changes, settings, report, tier)
            session.compare(session.diagnostics(), fix)
            session.check_command(fix)
            if level == "tests" and rust_or_python:
                if report.factors and min(f for f, _ in report.factors) <= NEW_ERROR_FACTOR:
                    # It does not build: its tests cannot pass, and would only cost time.
                    report.tests = "not_run"
                elif settings.edits.run_tests:
                    session.tests()
                else:
                    report.tests = "off"
                    report.notes.append("related tests not run: edits.run_tests is off")
            elif rust_or_python:
                report.tests = "not_run"
    except OSError as exc:
        # Without a shadow copy no compiler or test can run: unavailable, not skipped.
        report.notes.append(f"the shadow copy could not be prepared: {exc}")
        if report.compile != "ran":
            report.compile = "unavailable" if rust_or_python else report.compile
    return report
