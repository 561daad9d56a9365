"""The tests that exercise an edit's definitions, and running them before and after the edit.

Which tests, nearest first:

1. **direct**: the tests whose body calls or names an edited definition (Rust: also every
   ``#[test]`` of the edited file, and the doc tests of files whose doc comments name one;
   Python: also the whole test file when it imports the edited module and no test in it names
   an edited definition);
2. **N calls up**: the tests that reach an edited definition through N other functions. Callers
   are followed through the symbol index of the shadow copy (its references, each with the
   definition it sits in, and its resolved imports), breadth first, so the tests come ordered by
   call distance. A method call names a method, not its class, so every definition of the name
   counts as called unless the calling file imports the name from another file: the selection
   errs towards running a test too many rather than missing the one that would fail;
3. **whole suite**: when the project's whole test suite is known to fit the budget that is
   left (its duration is measured once on the shadow copy and remembered there until a file of
   the suite changes), the rest of it runs too.

Rust tests run with ``cargo test --offline`` filtered by test name; Python tests with pytest by
node id, with the project's virtualenv when it has one. Each group runs before and after the
edit in the shadow copy, in order, while the time budget lasts; what does not fit is skipped and
named. Results before the edit are cached by the copy's content, so a second answer to the same
request (or an edit to another file of an unchanged project) does not run them again. A test that
passed before and fails after is run once more; one that passes then is reported as flaky and
does not reject the edit.
"""

from __future__ import annotations

import itertools
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lsp_server.context.index.graph import bound_names
from lsp_server.context.index.languages import language_for
from lsp_server.context.index.project import ProjectIndex
from lsp_server.edits.definitions import DefinitionSpan, definitions_in
from lsp_server.edits.protocol import FileChange
from lsp_server.edits.sandbox import RunResult, run_limited

_TEST_ATTR = re.compile(r"#\[\s*(?:[\w:]+::)?test\b")
_LIBTEST = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)", re.MULTILINE)
_QUALNAME_SPLIT = re.compile(r"::|\.")

DIRECT = "direct"
WHOLE_SUITE = "whole suite"
MAX_REACHED = 4000  # definitions visited while following callers (names like `get` fan out)
MAX_DEPTH = 12
CHUNK = 400  # tests per pytest run: a stage too large for the budget is cut, not lost whole
MAX_DESELECT = 5000  # more than this many already-run tests: the whole suite runs them again
RERUN = 5  # failing tests run once more to tell a real failure from a flaky one


@dataclass(frozen=True)
class TestGroup:
    """One test command: what it is called in the reasons, its argv and the tests it selects.

    ``stage`` says what selected it (``direct``, ``N calls up``, ``whole suite``)."""

    __test__ = False  # not a pytest test class, whatever its name says

    label: str
    argv: tuple[str, ...]
    tests: tuple[str, ...]
    cwd: str  # relative to the shadow copy
    kind: str  # cargo | pytest
    stage: str = DIRECT


@dataclass(frozen=True)
class Suite:
    """A project's whole test suite: its group, the key its duration is remembered under and the
    digest of the files it consists of (the remembered duration holds while the digest does)."""

    group: TestGroup
    key: str
    digest: str


class SuiteMemory(Protocol):
    """Where a suite's measured duration is kept between requests (the shadow copy)."""

    def suite_seconds(self, suite: str, digest: str) -> tuple[float, bool] | None: ...

    def remember_suite(self, suite: str, digest: str, seconds: float, finished: bool) -> None: ...


@dataclass
class Selection:
    """The test groups for an edit, nearest first, the suites that may widen them, and why no
    test can run (when that is so)."""

    groups: list[TestGroup] = field(default_factory=list)
    suites: list[Suite] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)


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
    unavailable: str | None = None  # why no test could run at all
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


def stage_name(distance: int) -> str:
    return DIRECT if distance == 0 else f"{distance} call{'s' if distance > 1 else ''} up"


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
            # A hunk holds whole lines: the indentation before a method and the newline after a
            # definition are not outside it.
            segment = text[max(start, 0):end]
            if segment.strip():
                start += len(segment) - len(segment.lstrip())
                end -= len(segment) - len(segment.rstrip())
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


def _names(text: str, symbols: Iterable[str]) -> bool:
    return any(re.search(rf"\b{re.escape(s)}\b", text) for s in symbols)


def is_test_file(rel: str) -> bool:
    """A file pytest collects by default (``test_*.py``, ``*_test.py``)."""
    name = rel.rpartition("/")[2]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


# --- tests in a file ----------------------------------------------------------------------


@dataclass(frozen=True)
class _TestFn:
    ident: str  # pytest node id, or the cargo filter (module chain and name)
    first: int  # 1-based lines, decorators / attributes included
    last: int


def _lines(text: str, start: int, end: int) -> tuple[int, int]:
    return text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1


def _tests_in(rel: str, text: str) -> list[_TestFn]:
    """The test functions of a file: ``#[test]`` functions (Rust), pytest's ``test*`` functions
    at module level or in ``Test*`` classes (Python test files)."""
    spec = language_for(rel)
    if spec is None:
        return []
    out: list[_TestFn] = []
    rust = rel.endswith(".rs")
    if not rust and not is_test_file(rel):
        return []
    for d in definitions_in(text, spec):
        if d.kind != "function":
            continue
        if rust:
            if not any(kind == "attribute" and _TEST_ATTR.match(text[off:]) for kind, off in d.lead):
                continue
            ident = "::".join((*d.parents, d.name))
        else:
            if not d.name.startswith("test") or not all(p.startswith("Test") for p in d.parents):
                continue
            ident = "::".join((rel, *d.parents, d.name))
        first, last = _lines(text, d.lead_start, d.end)
        out.append(_TestFn(ident, first, last))
    return out


# --- following callers through the index --------------------------------------------------


@dataclass(frozen=True)
class Reached:
    """A test (or a whole test file, ``ident`` "") that reaches an edited definition."""

    file: str
    ident: str
    distance: int  # functions between the test and the edited definition (0: it names one)


class CallerWalk:
    """Breadth-first from the edited definitions to the tests that call them, over the index."""

    def __init__(self, index: ProjectIndex, read: Callable[[str], str | None]) -> None:
        self.index = index
        self.read = read
        self._tests: dict[str, list[_TestFn]] = {}
        self._bound: dict[str, dict[str, set[str]]] = {}
        self._rust: list[str] | None = None
        self._macros: dict[str, list[tuple[str, int]]] = {}

    def tests_of(self, rel: str) -> list[_TestFn]:
        if rel not in self._tests:
            text = self.read(rel)
            self._tests[rel] = _tests_in(rel, text) if text else []
        return self._tests[rel]

    def _bound_in(self, rel: str) -> dict[str, set[str]]:
        if rel not in self._bound:
            self._bound[rel] = bound_names(self.index.imports_of(rel))
        return self._bound[rel]

    def tests(self, path: str, symbols: Sequence[str], within: Callable[[str], bool]) -> list[Reached]:
        """Tests in files ``within`` picks that reach the definitions named ``symbols`` of
        ``path``, each once at its smallest distance, nearest first."""
        fs = self.index.file(path)
        starts = [(d.path, d.qualname, d.name) for d in (fs.definitions if fs else []) if d.name in symbols]
        seen: set[tuple[str, str]] = {(p, q) for p, q, _ in starts}
        queue: deque[tuple[str, str, str, int]] = deque((p, q, n, 0) for p, q, n in starts)
        found: dict[tuple[str, str], Reached] = {}
        while queue and len(seen) < MAX_REACHED:
            def_path, qualname, name, level = queue.popleft()
            for path, line, enclosing in self._references(name, within):
                sources = self._bound_in(path).get(name)
                if sources and def_path not in sources:
                    continue  # the calling file imports this name from somewhere else
                if path == def_path and enclosing == qualname:
                    continue  # recursion
                test = next((t for t in self.tests_of(path) if t.first <= line <= t.last), None)
                if test is not None:
                    key = (path, test.ident)
                    if key not in found:
                        found[key] = Reached(path, test.ident, level)
                    continue
                if enclosing is None:
                    if is_test_file(path) and (path, "") not in found:
                        found[(path, "")] = Reached(path, "", level)
                    continue
                if level + 1 > MAX_DEPTH or (path, enclosing) in seen:
                    continue
                seen.add((path, enclosing))
                queue.append((path, enclosing, _QUALNAME_SPLIT.split(enclosing)[-1], level + 1))
        return sorted(found.values(), key=lambda r: (r.distance, r.file, r.ident))

    def _references(self, name: str, within: Callable[[str], bool]) -> list[tuple[str, int, str | None]]:
        """(file, line, enclosing definition) of each call of ``name``: the index's references,
        plus, in Rust, the calls inside macro arguments (``assert_eq!(area(1.0), ..)``), which
        the index's tags query does not see (a macro's arguments parse as bare tokens)."""
        out = [(r.path, r.line, r.enclosing) for r in self.index.references_named(name) if within(r.path)]
        for rel in self._rust_files(within):
            text = self.read(rel)
            if not text or name not in text:
                continue
            for called, line in self._macro_calls(rel, text):
                if called == name:
                    at = self.index.definition_at(rel, line)
                    out.append((rel, line, at.qualname if at is not None and at.kind == "function" else None))
        return out

    def _rust_files(self, within: Callable[[str], bool]) -> list[str]:
        if self._rust is None:
            self._rust = [f for f in self.index.files() if f.endswith(".rs")]
        return [f for f in self._rust if within(f)]

    def _macro_calls(self, rel: str, text: str) -> list[tuple[str, int]]:
        if rel not in self._macros:
            spec = language_for(rel)
            calls: list[tuple[str, int]] = []
            if spec is not None and "!" in text:
                tree = spec.parser().parse(text.encode("utf-8", "surrogatepass"))
                stack = [tree.root_node]
                while stack:
                    node = stack.pop()
                    if node.type == "token_tree":
                        kids = node.children
                        for ident, after in itertools.pairwise(kids):
                            if ident.type == "identifier" and after.type == "token_tree" and (
                                    after.text or b"").startswith(b"(") and ident.text:
                                calls.append((ident.text.decode("utf-8", "replace"), ident.start_point[0] + 1))
                    stack.extend(node.children)
            self._macros[rel] = calls
        return self._macros[rel]


# --- Rust -------------------------------------------------------------------------------


def _rust_targets(crate: Path) -> list[str]:
    src = crate / "src"
    return (["--lib"] if (src / "lib.rs").is_file() else []) + (
        ["--bins"] if (src / "main.rs").is_file() or (src / "bin").is_dir() else [])


_CARGO = ("cargo", "test", "--offline", "--no-fail-fast")


def rust_groups(ws: Path, crate: Path, edited: str, symbols: Sequence[str],
                reached: Sequence[Reached], walk: CallerWalk) -> list[TestGroup]:
    """The test groups for an edit to ``edited`` (relative to ``ws``) in the crate at ``crate``,
    one or more per stage, nearest first."""
    cwd = crate.relative_to(ws).as_posix() if crate != ws else "."
    prefix = "" if cwd == "." else f"{cwd}/"
    targets = _rust_targets(crate)
    by_stage: dict[int, tuple[list[str], dict[str, list[str]]]] = {}

    def add(distance: int, rel: str, ident: str) -> None:
        unit, integration = by_stage.setdefault(distance, ([], {}))
        inner = rel[len(prefix):]
        if inner.startswith("tests/") and inner.count("/") == 1:
            names = integration.setdefault(inner, [])
            if ident and ident not in names:
                names.append(ident)
        elif inner.startswith("src/") and ident and ident not in unit:
            unit.append(ident)

    for t in walk.tests_of(edited):
        add(0, edited, t.ident)
    for r in reached:
        add(r.distance, r.file, r.ident)
    groups: list[TestGroup] = []
    for distance in sorted(by_stage):
        unit, integration = by_stage[distance]
        stage = stage_name(distance)
        if unit and targets:
            groups.append(TestGroup(f"{stage}: unit tests", (*_CARGO, *targets, "--", *unit), tuple(unit),
                                    cwd, "cargo", stage))
        for inner, names in sorted(integration.items()):
            stem = inner[len("tests/"):-3]
            argv = (*_CARGO, "--test", stem, "--", *names) if names else (*_CARGO, "--test", stem)
            groups.append(TestGroup(f"{stage}: {inner}", argv, tuple(names) or (inner,), cwd, "cargo", stage))
    doc_files: list[str] = []
    src = crate / "src"
    for full in sorted(src.rglob("*.rs")) if src.is_dir() and symbols else []:
        text = walk.read(full.relative_to(ws).as_posix()) or ""
        if "```" in text and any(_names(line, symbols) for line in text.splitlines()
                                 if line.lstrip().startswith(("///", "//!"))):
            doc_files.append(full.relative_to(crate).as_posix())
    if doc_files and (src / "lib.rs").is_file():
        doc = TestGroup(f"{DIRECT}: doc tests", (*_CARGO, "--doc", "--", *doc_files), tuple(doc_files),
                        cwd, "cargo", DIRECT)
        groups.insert(sum(1 for g in groups if g.stage == DIRECT), doc)
    return groups


def rust_suite(ws: Path, crate: Path, files: Sequence[str], digest: Callable[[Callable[[str], bool]], str],
               read: Callable[[str], str | None]) -> Suite | None:
    """``cargo test`` of the whole crate, when it has any test at all."""
    cwd = crate.relative_to(ws).as_posix() if crate != ws else "."
    prefix = "" if cwd == "." else f"{cwd}/"
    mine = [f for f in files if f.startswith(prefix) and f.endswith(".rs")]
    if not any(f.startswith(f"{prefix}tests/") for f in mine) and not any(
            "#[test]" in (read(f) or "") or "```" in (read(f) or "") for f in mine):
        return None

    def suite_file(rel: str) -> bool:
        return rel.startswith(prefix) and (rel.endswith(".rs") or rel.endswith("Cargo.toml"))

    group = TestGroup(f"{WHOLE_SUITE}: cargo test ({cwd})", _CARGO, (), cwd, "cargo", WHOLE_SUITE)
    return Suite(group, f"cargo:{cwd}", digest(suite_file))


# --- Python -----------------------------------------------------------------------------


def python_groups(index: ProjectIndex, edited: str, reached: Sequence[Reached],
                  walk: CallerWalk) -> list[TestGroup]:
    """pytest runs by node id, one or more per stage, nearest first. A test file that imports
    the edited module and has no test selected runs whole, right after the direct tests."""
    by_stage: dict[int, list[str]] = {}
    files_with: set[str] = set()
    for r in reached:
        ids = by_stage.setdefault(r.distance, [])
        ident = r.ident or r.file
        if ident not in ids:
            ids.append(ident)
        files_with.add(r.file)
    importers = [f for f in index.files() if is_test_file(f) and f not in files_with and any(
        imp.target == edited for imp in index.imports_of(f))]
    groups: list[TestGroup] = []
    for distance in sorted(by_stage):
        groups.extend(_chunks(stage_name(distance), by_stage[distance]))
        if distance == 0 and importers:
            groups.extend(_chunks(f"{DIRECT} (imports the module)", sorted(importers)))
    if 0 not in by_stage and importers:
        groups[:0] = _chunks(f"{DIRECT} (imports the module)", sorted(importers))
    return groups


def _chunks(stage: str, ids: Sequence[str]) -> list[TestGroup]:
    out: list[TestGroup] = []
    for start in range(0, len(ids), CHUNK):
        part = tuple(ids[start:start + CHUNK])
        files = {i.partition("::")[0] for i in part}
        whole = sum(1 for i in part if "::" not in i)
        what = [f"{len(part) - whole} test{'s' if len(part) - whole != 1 else ''} in"] if whole < len(part) else []
        what.append(f"{len(files)} file{'s' if len(files) != 1 else ''}")
        if 0 < whole < len(part):
            what.append(f"({whole} whole)")
        label = f"{stage}: {' '.join(what)}"
        out.append(TestGroup(label, part, part, ".", "pytest", stage.partition(" (")[0]))
    return out


_PYTEST_CONFIG = frozenset({"conftest.py", "pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini"})


def python_suite(files: Sequence[str], digest: Callable[[Callable[[str], bool]], str]) -> Suite | None:
    """pytest as the project runs it (its own test paths), when it has test files."""
    if not any(is_test_file(f) for f in files):
        return None

    def suite_file(rel: str) -> bool:
        return is_test_file(rel) or posixpath.basename(rel) in _PYTEST_CONFIG

    group = TestGroup(f"{WHOLE_SUITE}: pytest", (), (), ".", "pytest", WHOLE_SUITE)
    return Suite(group, "pytest:.", digest(suite_file))


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


# --- choosing ----------------------------------------------------------------------------


class SelectionSource(Protocol):
    """What selecting needs from the shadow copy."""

    ws: Path

    def files(self) -> list[str]: ...

    def files_digest(self, wanted: Callable[[str], bool]) -> str: ...


def select_tests(shadow: SelectionSource, index: ProjectIndex, changes: Sequence[FileChange],
                 read: Callable[[str], str | None], crate_of: Callable[[str], Path | None],
                 python: str) -> Selection:
    """The test groups for ``changes`` (nearest first) and the suites that may widen them."""
    selection = Selection()
    files = shadow.files()
    walk = CallerWalk(index, read)
    python_seen = False
    crates_seen: set[Path] = set()
    for change in changes:
        symbols = edited_symbols(change)
        if change.path.endswith(".rs"):
            crate = crate_of(change.path)
            if crate is None:
                continue
            if not cargo_available():
                selection.unavailable.append("cargo is not installed")
                continue
            cwd = crate.relative_to(shadow.ws).as_posix() if crate != shadow.ws else "."
            prefix = "" if cwd == "." else f"{cwd}/"

            def in_crate(rel: str, prefix: str = prefix) -> bool:
                return rel.startswith(prefix) and rel.endswith(".rs")

            reached = walk.tests(change.path, symbols, in_crate)
            for g in rust_groups(shadow.ws, crate, change.path, symbols, reached, walk):
                if g not in selection.groups:
                    selection.groups.append(g)
            if crate not in crates_seen:
                crates_seen.add(crate)
                suite = rust_suite(shadow.ws, crate, files, shadow.files_digest, read)
                if suite is not None:
                    selection.suites.append(suite)
        elif change.path.endswith(".py"):
            reached = walk.tests(change.path, symbols, lambda rel: rel.endswith(".py"))
            found = [g for g in python_groups(index, change.path, reached, walk) if g not in selection.groups]
            suite = None if python_seen else python_suite(files, shadow.files_digest)
            python_seen = True
            if (found or suite) and not has_pytest(python):
                selection.unavailable.append(f"pytest is not installed for {python}")
                continue
            selection.groups.extend(found)
            if suite is not None:
                selection.suites.append(suite)
    order = {DIRECT: 0}
    selection.groups.sort(key=lambda g: order.get(g.stage, int(g.stage.split()[0]) if g.stage[0].isdigit() else 99))
    return selection


# --- running -----------------------------------------------------------------------------

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

    def _run(self, group: TestGroup, limit: float, skip: Sequence[str] = ()) -> tuple[dict[str, str], RunResult]:
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

    def _before(self, key: str, group: TestGroup, limit: float) -> tuple[dict[str, str], RunResult, bool]:
        """Results before the edit (cached by content), and whether they were run just now."""
        with _CACHE_LOCK:
            cached = _BEFORE.get((key, group))
        if cached is not None:
            return cached[0], cached[1], False
        before, res = self._run(group, limit)
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
        before, res, fresh = self.runner._before(self.write_before(), group, self.remaining)
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
        after, res = self.runner._run(group, limit, skip)
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
            argv = (*_CARGO, *_targets_of(group), "--", "--exact", *names)
        else:
            argv = names
        again, res = self.runner._run(TestGroup(group.label, argv, names, group.cwd, group.kind, group.stage),
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
        before, res, _ = self.runner._before(key, group, limit)
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
    return argv[len(_CARGO):end]


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
