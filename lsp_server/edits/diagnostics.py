"""Compiler diagnostics of a project before and after an edit, and how they compare.

Rust: ``cargo check --message-format=json --offline --all-targets`` on the crate that holds the
edited file, in the shadow copy. Python: byte-compilation (``compile``, which runs nothing) and
pyflakes' errors (undefined names, names used before assignment, ``return`` outside a function,
...) on the edited files and the project files that import them, plus import errors within the
project (a module or a name imported from the project that does not exist). Only errors count;
warnings (an unused import) never reject an edit.

Two runs are compared as multisets of (file, code, message), so an error that moved with the
edit's line shift is the same error, and an edit is blamed only for errors it added.

The diagnostic a fix is about (:class:`FixDiagnostic`, as the editor showed it) is found among a
run's errors by its source and code first (``rustc`` E0308, ``mypy`` return-value, ``Pyright``
reportReturnType, Ruff's F821 as pyflakes' UndefinedName), by its message second, and near its
own lines, which follow the edit's line shift (:func:`matching`).
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyflakes import checker as pyflakes_checker

from lsp_server.edits.protocol import FileChange
from lsp_server.edits.sandbox import run_limited

# pyflakes messages that are errors at run time (the rest are warnings and style).
_PYFLAKES_ERRORS = frozenset({
    "UndefinedName", "UndefinedLocal", "UndefinedExport", "DuplicateArgument",
    "ReturnOutsideFunction", "YieldOutsideFunction", "ContinueOutsideLoop", "BreakOutsideLoop",
    "DefaultExceptNotLast", "TwoStarredExpressions", "TooManyExpressionsInStarredAssignment",
    "FutureFeatureNotDefined", "LateFutureImport", "ImportStarNotPermitted",
    "ForwardAnnotationSyntaxError",
})


@dataclass(frozen=True)
class Diagnostic:
    """One error a checker reported. ``path`` is project-relative; lines are 1-based."""

    tool: str
    path: str
    line: int
    end_line: int
    code: str
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.path, self.code, self.message)

    def show(self) -> str:
        code = f"[{self.code}] " if self.code else ""
        return f"{self.path}:{self.line}: {code}{self.message}"


@dataclass(frozen=True)
class DiagnosticRun:
    """What one checker run found; ``error`` is set when the checker itself could not run."""

    tool: str
    diagnostics: tuple[Diagnostic, ...]
    error: str | None = None
    seconds: float = 0.0


def new_errors(before: Sequence[Diagnostic], after: Sequence[Diagnostic]) -> list[Diagnostic]:
    """The errors ``after`` has more of than ``before`` (matched by file, code and message)."""
    budget = Counter(d.key for d in before)
    added: list[Diagnostic] = []
    for d in after:
        if budget[d.key] > 0:
            budget[d.key] -= 1
        else:
            added.append(d)
    return added


# --- which diagnostic a fix is about -------------------------------------------------------

_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"`": "'", '"': "'", "\u2018": "'", "\u2019": "'"})


def _norm(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else ""
    return _SPACE.sub(" ", first.translate(_QUOTES)).strip().lower().rstrip(".")


def same_message(wanted: str, reported: Diagnostic) -> bool:
    """Whether an editor's diagnostic message is this reported one (first lines, or a code)."""
    a, b = _norm(wanted), _norm(reported.message)
    if not a or not b:
        return False
    if a == b or (min(len(a), len(b)) >= 12 and (a in b or b in a)):
        return True
    return bool(reported.code) and re.search(rf"\b{re.escape(reported.code.lower())}\b", a) is not None


def line_map(change: FileChange) -> Callable[[int], int]:
    """Maps a 1-based line of ``change.old_text`` to where it is in ``change.new_text``; a line
    inside an edited span maps to the start of its replacement."""
    spans: list[tuple[int, int, int]] = []  # (first old line, last old line, line delta)
    for e in sorted(change.edits, key=lambda t: t.start):
        first = change.old_text.count("\n", 0, e.start) + 1
        old_lines = change.old_text.count("\n", e.start, e.end)
        spans.append((first, first + old_lines, e.new_text.count("\n") - old_lines))

    def mapped(line: int) -> int:
        shift = 0
        for first, last, delta in spans:
            if line > last:
                shift += delta
            elif line >= first:
                return first + shift
        return line + shift

    return mapped


def near(d: Diagnostic, path: str, lines: tuple[int, int], slack: int = 1) -> bool:
    lo, hi = min(lines) - slack, max(lines) + slack
    return d.path == path and d.line <= hi and d.end_line >= lo


@dataclass(frozen=True)
class FixDiagnostic:
    """A diagnostic as the editor showed it, which a fix is about: its message and, when the
    editor said them, its ``source`` (``rustc``, ``mypy``, ``Pyright``, ``Ruff``...), ``code``
    and ``lines`` (1-based, inclusive). The command line's ``--diagnostic`` gives a message only."""

    message: str
    source: str | None = None
    code: str | None = None
    lines: tuple[int, int] | None = None

    @classmethod
    def of(cls, item: str | FixDiagnostic) -> FixDiagnostic:
        return item if isinstance(item, FixDiagnostic) else cls(item)

    def show(self) -> str:
        """``[source code] message`` (for prompts and reasons)."""
        tag = " ".join(p for p in (self.source, self.code) if p)
        return f"[{tag}] {self.message}" if tag else self.message


# The checkers' tool names behind an editor's diagnostic source (lower-cased). A source not
# here comes from a tool the verifier does not run (clippy, eslint, rust-analyzer's own checks).
SOURCE_TOOLS: dict[str, frozenset[str]] = {
    "rustc": frozenset({"rustc"}),
    "cargo": frozenset({"rustc"}),
    "mypy": frozenset({"mypy"}),
    "pyright": frozenset({"pyright"}),
    "basedpyright": frozenset({"pyright"}),
    "pylance": frozenset({"pyright"}),
    "pyflakes": frozenset({"pyflakes"}),
    "ruff": frozenset({"pyflakes", "python"}),
    "flake8": frozenset({"pyflakes", "python"}),
    "python": frozenset({"python", "imports"}),
}
# Ruff's and flake8's codes for the pyflakes errors the verifier reports (and E999: syntax).
_FLAKE_CODES = {
    "F821": "UndefinedName", "F822": "UndefinedExport", "F823": "UndefinedLocal",
    "F831": "DuplicateArgument", "F706": "ReturnOutsideFunction", "F704": "YieldOutsideFunction",
    "F701": "BreakOutsideLoop", "F702": "ContinueOutsideLoop", "F707": "DefaultExceptNotLast",
    "F404": "LateFutureImport", "F407": "FutureFeatureNotDefined", "E999": "E999",
}


def tools_for(source: str | None) -> frozenset[str] | None:
    """The verifier's tools that report what ``source`` does (None: unknown or not given)."""
    return SOURCE_TOOLS.get(source.strip().lower()) if source else None


def same_code(wanted: str, reported: Diagnostic) -> bool:
    """Whether an editor's code is this reported error's (Ruff's F821 is pyflakes'
    UndefinedName)."""
    a, b = wanted.strip(), reported.code
    if not a or not b:
        return False
    return a.lower() == b.lower() or _FLAKE_CODES.get(a.upper()) == b


def matching(wanted: FixDiagnostic, found: Sequence[Diagnostic]) -> list[Diagnostic]:
    """Which of ``found`` (already narrowed to the diagnostic's place) are ``wanted``: by its
    source's tools and its code when it has both, by its code alone when the source is
    unknown, else by message; a code that matches nothing falls back to the message too."""
    tools = tools_for(wanted.source)
    pool = [d for d in found if tools is None or d.tool in tools]
    if wanted.code:
        by_code = [d for d in pool if same_code(wanted.code, d)]
        if by_code:
            return by_code
    return [d for d in pool if same_message(wanted.message, d)]


# --- Rust: cargo check ---------------------------------------------------------------------


def crate_dir(ws: Path, rel: str) -> Path | None:
    """The directory of the nearest ``Cargo.toml`` with a ``[package]`` above ``rel`` in ``ws``."""
    here = (ws / rel).parent
    while True:
        manifest = here / "Cargo.toml"
        if manifest.is_file():
            try:
                if "[package]" in manifest.read_text(encoding="utf-8", errors="replace"):
                    return here
            except OSError:
                return None
        if here == ws or ws not in here.parents:
            return None
        here = here.parent


def cargo_check(ws: Path, crate: Path, env: dict[str, str], timeout: float) -> DiagnosticRun:
    argv = ["cargo", "check", "--message-format=json", "--offline", "--all-targets", "--quiet"]
    try:
        res = run_limited(argv, crate, timeout, env)
    except OSError as exc:
        return DiagnosticRun("cargo check", (), f"cargo cannot run ({exc.strerror})")
    if res.timed_out:
        return DiagnosticRun("cargo check", (), f"cargo check did not finish in {timeout:g}s", res.seconds)
    found: list[Diagnostic] = []
    for line in res.stdout.splitlines():
        if not line.startswith("{"):
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if item.get("reason") != "compiler-message":
            continue
        msg = item.get("message") or {}
        if msg.get("level") not in ("error", "error: internal compiler error"):
            continue
        spans = [s for s in msg.get("spans") or [] if s.get("is_primary")]
        if not spans:
            continue  # "aborting due to N previous errors" and the like
        span = spans[0]
        try:
            path = (crate / span["file_name"]).resolve().relative_to(ws.resolve()).as_posix()
        except (ValueError, KeyError, OSError):
            path = str(span.get("file_name", ""))
        code = (msg.get("code") or {}).get("code") or ""
        diag = Diagnostic("rustc", path, int(span.get("line_start", 0)),
                          int(span.get("line_end", 0)), str(code), str(msg.get("message", "")))
        if diag not in found:  # --all-targets reports an error in the library once per target
            found.append(diag)
    if res.code != 0 and not found:
        tail = (res.stderr.strip().splitlines() or ["cargo check failed"])[-1]
        return DiagnosticRun("cargo check", (), f"cargo check could not check the crate: {tail[:200]}",
                             res.seconds)
    return DiagnosticRun("cargo check", tuple(found), None, res.seconds)


# --- Python: compile, pyflakes, project imports ---------------------------------------------


def python_file_errors(text: str, path: str) -> list[Diagnostic]:
    """Syntax and pyflakes errors of one Python file (nothing is executed)."""
    try:
        # The project's own SyntaxWarnings ("is" with a literal) are not ours to print.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=path)
            compile(tree, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 1
        return [Diagnostic("python", path, line, line, "E999", f"SyntaxError: {exc.msg}")]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [Diagnostic("python", path, 1, 1, "E999", f"cannot compile: {exc}")]
    found: list[Diagnostic] = []
    for m in pyflakes_checker.Checker(tree, filename=path).messages:
        kind = type(m).__name__
        if kind in _PYFLAKES_ERRORS:
            found.append(Diagnostic("pyflakes", path, m.lineno, m.lineno, kind, m.message % m.message_args))
    return found


def module_of(rel: str, source_roots: Iterable[str]) -> str | None:
    """``pkg/mod.py`` → ``pkg.mod`` (``__init__.py`` → the package) under one of the roots."""
    for base in source_roots:
        prefix = f"{base}/" if base else ""
        if not rel.startswith(prefix) or not rel.endswith(".py"):
            continue
        parts = rel[len(prefix):-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and all(p.isidentifier() for p in parts):
            return ".".join(parts)
    return None


class PythonProject:
    """Resolves imports within a project's files (texts from ``read``, paths from ``files``)."""

    def __init__(self, files: Iterable[str], read: Callable[[str], str | None]) -> None:
        self.files = set(files)
        self.read = read
        self.roots = ["src", ""] if any(f.startswith("src/") for f in self.files) else [""]
        self.modules: dict[str, str] = {}
        for f in self.files:
            mod = module_of(f, self.roots)
            if mod is not None:
                self.modules.setdefault(mod, f)
        self.top = {m.split(".")[0] for m in self.modules}
        self._names: dict[str, set[str] | None] = {}

    def top_names(self, module: str) -> set[str] | None:
        """Names a module defines at top level (None: cannot tell, e.g. ``__getattr__`` or ``*``)."""
        if module in self._names:
            return self._names[module]
        path = self.modules.get(module)
        text = self.read(path) if path else None
        try:
            tree: ast.Module | None = ast.parse(text or "")
        except (SyntaxError, ValueError, RecursionError):
            tree = None
        names = _defined_names(tree) if tree is not None else None
        self._names[module] = names
        return names

    def import_errors(self, text: str, path: str) -> list[Diagnostic]:
        """Imports of project modules or names that do not exist."""
        try:
            tree = ast.parse(text, filename=path)
        except (SyntaxError, ValueError, RecursionError):
            return []
        here = module_of(path, self.roots) or ""
        package = here if path.endswith("__init__.py") else here.rpartition(".")[0]
        found: list[Diagnostic] = []

        def missing(line: int, message: str) -> None:
            found.append(Diagnostic("imports", path, line, line, "ImportError", message))

        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in self.top and alias.name not in self.modules:
                        missing(node.lineno, f"No module named '{alias.name}'")
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = package.split(".") if package else []
                    if node.level - 1 > len(base_parts):
                        continue
                    base = ".".join(base_parts[: len(base_parts) - (node.level - 1)])
                    target = ".".join(p for p in (base, node.module or "") if p)
                elif node.module and node.module.split(".")[0] in self.top:
                    target = node.module
                else:
                    continue
                if target not in self.modules:
                    if target:
                        missing(node.lineno, f"No module named '{target}'")
                    continue
                names = self.top_names(target)
                if names is None:
                    continue
                for alias in node.names:
                    if alias.name != "*" and alias.name not in names and f"{target}.{alias.name}" not in self.modules:
                        missing(node.lineno, f"cannot import name '{alias.name}' from '{target}'")
        return found


def _defined_names(tree: ast.Module) -> set[str] | None:
    """Names a module binds anywhere (None: cannot tell, ``import *`` or ``__getattr__``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
    return None if "__getattr__" in names else names


def importers(project: PythonProject, changed: Sequence[str]) -> list[str]:
    """Project files that import one of the ``changed`` modules (by a cheap text match first)."""
    stems = {m.rpartition(".")[2] for c in changed if (m := module_of(c, project.roots))}
    if not stems:
        return []
    pattern = re.compile(r"^\s*(?:from|import)\s.*\b(?:" + "|".join(map(re.escape, sorted(stems))) + r")\b",
                         re.MULTILINE)
    out: list[str] = []
    for f in sorted(project.files):
        if f in changed or not f.endswith(".py"):
            continue
        text = project.read(f)
        if text and pattern.search(text):
            out.append(f)
    return out


def python_errors(paths: Sequence[str], project: PythonProject) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for p in paths:
        text = project.read(p)
        if text is None:
            continue
        found.extend(python_file_errors(text, p))
        found.extend(project.import_errors(text, p))
    return found
