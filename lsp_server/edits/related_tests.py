"""The tests that exercise an edit's definitions, and running them before and after the edit.

Which tests:

- Rust: the ``#[test]`` functions of the edited file (its ``#[cfg(test)]`` module), unit tests
  elsewhere in the crate and integration tests (``tests/*.rs``) whose body names an edited
  definition, and the doc tests of the crate's files whose doc comments name one. Run with
  ``cargo test --offline`` filtered by test name, one ``cargo test`` per group.
- Python: in the project's test files (``test_*.py``, ``*_test.py``) that import the edited
  module or name an edited definition, the test functions that name one (all of the file's
  tests when it imports the module but no test names a definition). Run with pytest by node id,
  one run per test file, with the project's virtualenv when it has one.

Each group runs before and after the edit in the shadow copy, in order, while the time budget
lasts; a group that does not fit is skipped and named. Results before the edit are cached by the
copy's content, so a second answer to the same request does not run them again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.context.index.languages import language_for
from lsp_server.edits.definitions import DefinitionSpan, definitions_in
from lsp_server.edits.protocol import FileChange
from lsp_server.edits.sandbox import RunResult, run_limited

_TEST_ATTR = re.compile(r"#\[\s*(?:[\w:]+::)?test\b")
_LIBTEST = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)", re.MULTILINE)


@dataclass(frozen=True)
class TestGroup:
    """One test command: what it is called in the reasons, its argv and the tests it selects."""

    label: str
    argv: tuple[str, ...]
    tests: tuple[str, ...]
    cwd: str  # relative to the shadow copy
    kind: str  # cargo | pytest


@dataclass
class TestOutcome:
    """What running the related tests before and after the edit found."""

    ran: list[str] = field(default_factory=list)  # group labels that ran both times
    broken: list[str] = field(default_factory=list)  # tests that passed before and fail after
    hung: list[str] = field(default_factory=list)  # groups that finished before, not after
    skipped: list[str] = field(default_factory=list)  # groups left out for the budget
    unrunnable: list[str] = field(default_factory=list)  # groups with no passing test before
    unavailable: str | None = None  # why no test could run at all
    tests_run: int = 0
    seconds: float = 0.0


# --- finding the edited definitions ------------------------------------------------------


def edited_symbols(change: FileChange) -> list[str]:
    """Names of the innermost definitions the change touches (in the old text or the new)."""
    spec = language_for(change.path)
    if spec is None:
        return []
    names: list[str] = []
    for text, spans in ((change.old_text, [(e.start, e.end) for e in change.edits]),
                        (change.new_text, _new_spans(change))):
        defs = definitions_in(text, spec)
        for start, end in spans:
            best: DefinitionSpan | None = None
            for d in defs:
                if d.lead_start <= max(start, 0) and min(end, len(text)) <= d.end and d.kind in {
                    "function", "struct", "enum", "class", "trait", "const", "static", "type", "macro"
                } and (best is None or d.end - d.lead_start < best.end - best.lead_start):
                    best = d
            if best is not None and best.name not in names:
                names.append(best.name)
    return names


def _new_spans(change: FileChange) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    shift = 0
    for e in sorted(change.edits, key=lambda t: t.start):
        start = e.start + shift
        spans.append((start, start + len(e.new_text)))
        shift += len(e.new_text) - (e.end - e.start)
    return spans


def with_callers(files: Iterable[str], read: Callable[[str], str | None], symbols: Sequence[str],
                 hops: int = 2, limit: int = 40) -> list[str]:
    """``symbols`` plus the functions that call them, ``hops`` levels up, in ``files`` (tests
    reach an edited helper through its callers). Capped at ``limit`` names."""
    found = list(symbols)
    frontier = list(symbols)
    paths = [f for f in files if not _is_test_file(f)]
    for _ in range(hops):
        if not frontier or len(found) >= limit:
            break
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, frontier)) + r")\b")
        frontier = []
        for rel in paths:
            text = read(rel)
            spec = language_for(rel)
            if not text or spec is None or not pattern.search(text):
                continue
            for d in definitions_in(text, spec):
                if d.kind == "function" and d.name not in found and pattern.search(text[d.body_start:d.end]):
                    found.append(d.name)
                    frontier.append(d.name)
                    if len(found) >= limit:
                        return found
    return found


def _names(text: str, symbols: Iterable[str]) -> bool:
    return any(re.search(rf"\b{re.escape(s)}\b", text) for s in symbols)


# --- Rust -------------------------------------------------------------------------------


def _rust_tests(text: str, path: str) -> list[tuple[str, str]]:
    """(filter, body) of each #[test] function: the filter is its module chain and name."""
    spec = language_for(path)
    if spec is None:
        return []
    out: list[tuple[str, str]] = []
    for d in definitions_in(text, spec):
        if d.kind != "function":
            continue
        if any(kind == "attribute" and _TEST_ATTR.match(text[off:]) for kind, off in d.lead):
            out.append(("::".join((*d.parents, d.name)), text[d.start:d.end]))
    return out


def rust_groups(ws: Path, crate: Path, edited: str, symbols: Sequence[str]) -> list[TestGroup]:
    """The test groups for an edit to ``edited`` (relative to ``ws``) in the crate at ``crate``."""
    cwd = crate.relative_to(ws).as_posix() if crate != ws else "."
    base = ["cargo", "test", "--offline", "--no-fail-fast"]
    src = crate / "src"
    targets = (["--lib"] if (src / "lib.rs").is_file() else []) + (
        ["--bins"] if (src / "main.rs").is_file() or (src / "bin").is_dir() else [])
    groups: list[TestGroup] = []
    unit: list[str] = []
    doc_files: list[str] = []
    for full in sorted(src.rglob("*.rs")) if src.is_dir() else []:
        rel = full.relative_to(ws).as_posix()
        try:
            text = full.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for name, body in _rust_tests(text, rel):
            if rel == edited or (symbols and _names(body, symbols)):
                unit.append(name)
        if symbols and "```" in text and any(
            _names(line, symbols) for line in text.splitlines() if line.lstrip().startswith(("///", "//!"))
        ):
            doc_files.append(full.relative_to(crate).as_posix())
    if unit and targets:
        groups.append(TestGroup("unit tests", (*base, *targets, "--", *unit), tuple(unit), cwd, "cargo"))
    tests_dir = crate / "tests"
    for full in sorted(tests_dir.glob("*.rs")) if tests_dir.is_dir() and symbols else []:
        text = full.read_text(encoding="utf-8", errors="replace")
        if not _names(text, symbols):
            continue
        named = [n for n, body in _rust_tests(text, full.name) if _names(body, symbols)]
        argv = (*base, "--test", full.stem, "--", *named) if named else (*base, "--test", full.stem)
        groups.append(TestGroup(f"tests/{full.name}", argv, tuple(named) or (f"tests/{full.name}",),
                                cwd, "cargo"))
    if doc_files and (src / "lib.rs").is_file():
        groups.append(TestGroup("doc tests", (*base, "--doc", "--", *doc_files), tuple(doc_files),
                                cwd, "cargo"))
    return groups


# --- Python -----------------------------------------------------------------------------


def _is_test_file(rel: str) -> bool:
    name = rel.rpartition("/")[2]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def python_groups(files: Iterable[str], read: Callable[[str], str | None], module: str | None,
                  symbols: Sequence[str]) -> list[TestGroup]:
    """One group per test file that imports ``module`` or names an edited definition."""
    spec = language_for("x.py")
    if spec is None:
        return []
    stem = module.rpartition(".")[2] if module else None
    imports = re.compile(
        rf"^\s*(?:from\s+[\w.]*\b{re.escape(stem)}\b|import\s+[\w.]*\b{re.escape(stem)}\b"
        rf"|from\s+[\w.]+\s+import\s+.*\b{re.escape(stem)}\b)", re.MULTILINE) if stem else None
    scored: list[tuple[int, TestGroup]] = []
    for rel in sorted(f for f in files if _is_test_file(f)):
        text = read(rel)
        if not text:
            continue
        imported = bool(imports and imports.search(text))
        if not imported and not (symbols and _names(text, symbols)):
            continue
        ids: list[str] = []
        for d in definitions_in(text, spec):
            if d.kind != "function" or not d.name.startswith("test"):
                continue
            if d.parents and not all(p.startswith("Test") for p in d.parents):
                continue
            if symbols and _names(text[d.start:d.end], symbols):
                ids.append("::".join((rel, *d.parents, d.name)))
        if not ids and not imported:
            continue
        chosen = tuple(ids) or (rel,)
        scored.append((0 if ids else 1, TestGroup(rel, chosen, chosen, ".", "pytest")))
    return [g for _, g in sorted(scored, key=lambda p: p[0])]


_PYTEST_PROBE: dict[str, bool] = {}


def project_python(root: Path) -> str:
    """The interpreter the project's tests run with: its virtualenv's, else the server's."""
    for venv in (".venv", "venv", "env"):
        candidate = root / venv / "bin" / "python"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return sys.executable


def has_pytest(python: str) -> bool:
    if python not in _PYTEST_PROBE:
        try:
            _PYTEST_PROBE[python] = subprocess.run(
                [python, "-c", "import pytest"], capture_output=True, timeout=30, check=False,
                stdin=subprocess.DEVNULL).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _PYTEST_PROBE[python] = False
    return _PYTEST_PROBE[python]


# --- running -----------------------------------------------------------------------------

_CACHE_LOCK = threading.Lock()
_BEFORE: OrderedDict[tuple[str, TestGroup], tuple[dict[str, str], RunResult]] = OrderedDict()
_CACHE_SIZE = 64


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
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
            elif child.tag == "skipped":
                status = "skipped"
        out[name] = status
    return out


class TestRunner:
    """Runs test groups in one shadow copy, before and after an edit, within a time budget."""

    def __init__(self, ws: Path, env: dict[str, str], python: str) -> None:
        self.ws = ws
        self.env = env
        self.python = python

    def _run(self, group: TestGroup, limit: float) -> tuple[dict[str, str], RunResult]:
        if group.kind == "cargo":
            res = run_limited(list(group.argv), self.ws / group.cwd, limit, self.env, offline=True)
            return _results(group, res, None), res
        with tempfile.TemporaryDirectory(prefix="agentic-junit-") as tmp:
            junit = Path(tmp) / "junit.xml"
            argv = [self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                    f"--junitxml={junit}", *group.argv]
            res = run_limited(argv, self.ws / group.cwd, limit, self.env, offline=True)
            return _results(group, res, junit), res

    def before_and_after(self, groups: Sequence[TestGroup], write_before: Callable[[], str],
                         write_after: Callable[[], None], budget: float) -> TestOutcome:
        """Run each group on the old texts (``write_before`` returns the copy's content key) and
        on the new ones, while ``budget`` seconds last."""
        outcome = TestOutcome()
        remaining = budget
        for index, group in enumerate(groups):
            if remaining < 1.0:
                outcome.skipped.extend(g.label for g in groups[index:])
                break
            key = (write_before(), group)
            with _CACHE_LOCK:
                cached = _BEFORE.get(key)
            if cached is None:
                before, res = self._run(group, remaining)
                remaining -= res.seconds
                outcome.seconds += res.seconds
                if res.timed_out:
                    outcome.skipped.append(f"{group.label} (did not finish before the edit)")
                    continue
                with _CACHE_LOCK:
                    _BEFORE[key] = (before, res)
                    while len(_BEFORE) > _CACHE_SIZE:
                        _BEFORE.popitem(last=False)
            else:
                before, res = cached
            if not any(s == "passed" for s in before.values()):
                outcome.unrunnable.append(f"{group.label} (no test passed before the edit)")
                continue
            if remaining < 1.0:
                outcome.skipped.append(group.label)
                continue
            write_after()
            limit = remaining
            after, res_after = self._run(group, limit)
            remaining -= res_after.seconds
            outcome.seconds += res_after.seconds
            if res_after.timed_out:
                if res.seconds * 3 + 5 < limit:
                    outcome.hung.append(f"{group.label} (finished in {res.seconds:.1f}s before the edit, "
                                        f"not in {limit:.0f}s after)")
                else:
                    outcome.skipped.append(f"{group.label} (did not finish after the edit within the budget)")
                continue
            outcome.ran.append(group.label)
            outcome.tests_run += sum(1 for s in before.values() if s == "passed")
            for name, status in before.items():
                if status == "passed" and after.get(name, "failed") == "failed":
                    outcome.broken.append(name)
        return outcome


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


def cargo_available() -> bool:
    return shutil.which("cargo") is not None
