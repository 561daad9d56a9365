"""The project's own type checker, when the project configures one: mypy or pyright.

A project configures mypy with ``[tool.mypy]`` in ``pyproject.toml``, ``mypy.ini``,
``.mypy.ini`` or a ``[mypy]`` section in ``setup.cfg``; pyright with ``pyrightconfig.json`` or
``[tool.pyright]`` in ``pyproject.toml``. A project that configures neither gets no type check:
its code was never meant to pass one, and running one would only find old errors.

The checker that runs is the project's own installation when it has one (``.venv/bin/mypy``,
``node_modules/.bin/pyright``), else one on ``PATH``, else the one installed next to the
server's interpreter. With none, :func:`find_type_checker` says "configured but not installed",
and the verifier and ``doctor`` repeat it.

It runs in the shadow copy (never in the project) on the edited files and the files that import
them, before and after the edit, and its errors are compared like the other diagnostics. mypy's
incremental cache lives in the shadow's state directory (``<shadow>/mypy-cache``), so the runs
after the first are warm; mypy is told the project's interpreter (its virtualenv's) so the
project's dependencies resolve as they do for the project's own runs.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import re
import shutil
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lsp_server.edits.diagnostics import Diagnostic, DiagnosticRun
from lsp_server.edits.sandbox import run_limited

CheckerName = Literal["mypy", "pyright"]
_VENVS = (".venv", "venv", "env")
# mypy's text output: "pkg/mod.py:12: error: Incompatible types ...  [assignment]"
_MYPY_LINE = re.compile(
    r"^(?P<path>[^:\n]+?):(?P<line>\d+)(?::\d+)?(?::(?P<end_line>\d+):\d+)?: error: "
    r"(?P<message>.*?)(?:\s\s\[(?P<code>[\w-]+)\])?$")
_MAX_PATHS = 40  # edited files and their importers; mypy follows the imports of the rest


@dataclass(frozen=True)
class TypeChecker:
    """A type checker the project configures: where, and which executable runs it (None: not
    installed)."""

    name: CheckerName
    configured_in: str
    executable: str | None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.configured_in})"

    def missing(self) -> str:
        return (f"type checker configured but not installed: {self.name} ({self.configured_in}); "
                f"install it in the project's .venv or on PATH")


def _pyproject(root: Path) -> dict[str, Any]:
    try:
        return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _setup_cfg_has_mypy(root: Path) -> bool:
    parser = configparser.ConfigParser()
    try:
        parser.read(root / "setup.cfg", encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return False
    return parser.has_section("mypy")


def configured(root: Path) -> tuple[CheckerName, str] | None:
    """Which type checker ``root`` configures and where (mypy first when both are)."""
    tool = _pyproject(root).get("tool")
    tool = tool if isinstance(tool, dict) else {}
    if "mypy" in tool:
        return "mypy", "[tool.mypy] in pyproject.toml"
    for name in ("mypy.ini", ".mypy.ini"):
        if (root / name).is_file():
            return "mypy", name
    if (root / "setup.cfg").is_file() and _setup_cfg_has_mypy(root):
        return "mypy", "[mypy] in setup.cfg"
    if (root / "pyrightconfig.json").is_file():
        return "pyright", "pyrightconfig.json"
    if "pyright" in tool:
        return "pyright", "[tool.pyright] in pyproject.toml"
    return None


def _executable(root: Path, name: CheckerName) -> str | None:
    """The project's own installation, else PATH, else next to the server's interpreter."""
    own = [root / v / "bin" / name for v in _VENVS]
    if name == "pyright":
        own.insert(0, root / "node_modules" / ".bin" / "pyright")
    for candidate in own:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is not None:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def find_type_checker(root: Path) -> TypeChecker | None:
    """The type checker ``root`` configures (see the module docstring); None when none is."""
    found = configured(root)
    if found is None:
        return None
    name, where = found
    return TypeChecker(name, where, _executable(root, name))


def _inside(path: str, ws: Path) -> str | None:
    """``path`` (as the checker printed it, relative to ``ws`` or absolute) relative to ``ws``;
    None for files outside it (typeshed, site-packages)."""
    candidate = Path(path)
    full = candidate if candidate.is_absolute() else ws / candidate
    try:
        return full.resolve().relative_to(ws.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def parse_mypy(output: str, ws: Path) -> list[Diagnostic]:
    """mypy's errors in ``ws`` (notes and files outside the project are left out)."""
    found: list[Diagnostic] = []
    for line in output.splitlines():
        match = _MYPY_LINE.match(line.rstrip())
        if match is None:
            continue
        rel = _inside(match["path"], ws)
        if rel is None:
            continue
        start = int(match["line"])
        end = int(match["end_line"]) if match["end_line"] else start
        found.append(Diagnostic("mypy", rel, start, max(start, end), match["code"] or "",
                                match["message"].strip()))
    return found


def parse_pyright(output: str, ws: Path) -> list[Diagnostic] | None:
    """pyright's errors in ``ws`` from ``--outputjson`` (None: not its JSON)."""
    try:
        data = json.loads(output)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("generalDiagnostics"), list):
        return None
    found: list[Diagnostic] = []
    for item in data["generalDiagnostics"]:
        if not isinstance(item, dict) or item.get("severity") != "error":
            continue
        rel = _inside(str(item.get("file", "")), ws)
        if rel is None:
            continue
        span = item.get("range") or {}
        start = int((span.get("start") or {}).get("line", 0)) + 1  # pyright's lines are 0-based
        end = int((span.get("end") or {}).get("line", start - 1)) + 1
        found.append(Diagnostic("pyright", rel, start, max(start, end), str(item.get("rule") or ""),
                                str(item.get("message", "")).splitlines()[0] if item.get("message") else ""))
    return found


def stamp_by_content(ws: Path, rels: list[str]) -> None:
    """Give each file an mtime derived from its content. mypy takes a file whose size and
    whole-second mtime match its cache entry for unchanged, and the before and after texts are
    written over each other within a second, often at one size: a stale cache would answer for
    the other text. With this, a changed text looks changed and the same text the same (so the
    cache stays warm across runs)."""
    for rel in rels:
        path = ws / rel
        try:
            digest = hashlib.sha256(path.read_bytes()).digest()
            seconds = 1_000_000_000 + int.from_bytes(digest[:4], "big")
            os.utime(path, (seconds, seconds))
        except OSError:
            continue


def type_check(checker: TypeChecker, ws: Path, paths: list[str], *, env: dict[str, str],
               timeout: float, cache_dir: Path, python: str) -> DiagnosticRun:
    """Run ``checker`` on ``paths`` (relative to ``ws``) in ``ws``, within ``timeout`` seconds."""
    tool = checker.name
    if checker.executable is None:
        return DiagnosticRun(tool, (), checker.missing())
    files = sorted(dict.fromkeys(paths))[:_MAX_PATHS]
    if tool == "mypy":
        stamp_by_content(ws, files)
        argv = [checker.executable, "--cache-dir", str(cache_dir), "--python-executable", python,
                "--show-error-codes", "--show-error-end", "--no-error-summary",
                "--no-color-output", "--no-pretty", "--hide-error-context", *files]
    else:
        argv = [checker.executable, "--outputjson", "--pythonpath", python, *files]
    try:
        res = run_limited(argv, ws, timeout, env)
    except OSError as exc:
        return DiagnosticRun(tool, (), f"{tool} cannot run ({exc.strerror})")
    if res.timed_out:
        return DiagnosticRun(tool, (), f"{tool} did not finish in {timeout:g}s", res.seconds)
    if tool == "mypy":
        found = parse_mypy(res.stdout, ws)
        # 0: clean, 1: errors found; anything else is mypy failing (a bad config, a crash).
        failed = res.code not in (0, 1) or (res.code == 1 and not found)
    else:
        parsed = parse_pyright(res.stdout, ws)
        found = parsed or []
        failed = parsed is None or res.code not in (0, 1)
    if failed:
        tail = ((res.stderr or res.stdout).strip().splitlines() or [f"exit status {res.code}"])[-1]
        return DiagnosticRun(tool, (), f"{tool} could not check the files: {tail[:200]}",
                             res.seconds)
    return DiagnosticRun(tool, tuple(found), None, res.seconds)
