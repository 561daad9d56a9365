"""The tests that exercise an edit's definitions, nearest first (running them before and after
the edit is :mod:`lsp_server.edits.related_runs`).

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

Rust tests are selected by test name for ``cargo test --offline``; Python tests by pytest node
id, with the project's virtualenv when it has one.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lsp_server.context.index.graph import bound_names
from lsp_server.context.index.languages import language_for
from lsp_server.context.index.project import ProjectIndex
from lsp_server.edits.definitions import DefinitionSpan, definitions_in
from lsp_server.edits.protocol import FileChange

_TEST_ATTR = re.compile(r"#\[\s*(?:[\w:]+::)?test\b")
_QUALNAME_SPLIT = re.compile(r"::|\.")

DIRECT = "direct"
WHOLE_SUITE = "whole suite"
MAX_REACHED = 4000  # definitions visited while following callers (names like `get` fan out)
MAX_DEPTH = 12
CHUNK = 400  # tests per pytest run: a stage too large for the budget is cut, not lost whole


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




@dataclass
class Selection:
    """The test groups for an edit, nearest first, the suites that may widen them, and why no
    test can run (when that is so)."""

    groups: list[TestGroup] = field(default_factory=list)
    suites: list[Suite] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)




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
        """(file, line, enclosing definition) of each reference to ``name`` the index knows
        (a call, a type or path use, an import), calls inside Rust macro arguments
        (``assert_eq!(area(1.0), ..)``) included."""
        return [(r.path, r.line, r.enclosing) for r in self.index.references_named(name) if within(r.path)]


# --- Rust -------------------------------------------------------------------------------


def _rust_targets(crate: Path) -> list[str]:
    src = crate / "src"
    return (["--lib"] if (src / "lib.rs").is_file() else []) + (
        ["--bins"] if (src / "main.rs").is_file() or (src / "bin").is_dir() else [])


CARGO_TEST = ("cargo", "test", "--offline", "--no-fail-fast")


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
            groups.append(TestGroup(f"{stage}: unit tests", (*CARGO_TEST, *targets, "--", *unit), tuple(unit),
                                    cwd, "cargo", stage))
        for inner, names in sorted(integration.items()):
            stem = inner[len("tests/"):-3]
            argv = (*CARGO_TEST, "--test", stem, "--", *names) if names else (*CARGO_TEST, "--test", stem)
            groups.append(TestGroup(f"{stage}: {inner}", argv, tuple(names) or (inner,), cwd, "cargo", stage))
    doc_files: list[str] = []
    src = crate / "src"
    for full in sorted(src.rglob("*.rs")) if src.is_dir() and symbols else []:
        text = walk.read(full.relative_to(ws).as_posix()) or ""
        if "```" in text and any(_names(line, symbols) for line in text.splitlines()
                                 if line.lstrip().startswith(("///", "//!"))):
            doc_files.append(full.relative_to(crate).as_posix())
    if doc_files and (src / "lib.rs").is_file():
        doc = TestGroup(f"{DIRECT}: doc tests", (*CARGO_TEST, "--doc", "--", *doc_files), tuple(doc_files),
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
            "#[test]" in text or "```" in text for text in (read(f) or "" for f in mine)):
        return None

    def suite_file(rel: str) -> bool:
        return rel.startswith(prefix) and (rel.endswith(".rs") or rel.endswith("Cargo.toml"))

    group = TestGroup(f"{WHOLE_SUITE}: cargo test ({cwd})", CARGO_TEST, (), cwd, "cargo", WHOLE_SUITE)
    return Suite(group, f"cargo:{cwd}", digest(suite_file))


# --- Python -----------------------------------------------------------------------------


def python_groups(index: ProjectIndex, edited: str, reached: Sequence[Reached]) -> list[TestGroup]:
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
            found = [g for g in python_groups(index, change.path, reached) if g not in selection.groups]
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


def cargo_available() -> bool:
    return shutil.which("cargo") is not None
