"""Which edit checks can run for a project here (for ``doctor``): nothing is built or run
except a version probe of the tools."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path

from lsp_server.config import Settings
from lsp_server.edits.related_tests import has_pytest, project_python
from lsp_server.edits.sandbox import isolation
from lsp_server.edits.shadow import SKIPPED_DIRS
from lsp_server.edits.typecheck import find_type_checker


@dataclass(frozen=True)
class CheckAvailability:
    name: str
    available: bool
    detail: str


def _find(root: Path, pattern: str, depth: int = 3, limit: int = 1) -> list[Path]:
    found: list[Path] = []
    for level in range(depth + 1):
        glob = "/".join(["*"] * level + [pattern])
        for path in itertools.islice(root.glob(glob), 200):
            if not any(part in SKIPPED_DIRS for part in path.relative_to(root).parts):
                found.append(path)
                if len(found) >= limit:
                    return found
    return found


def available_checks(root: Path, settings: Settings) -> list[CheckAvailability]:
    """One line per check the verifier would use on this project's edits."""
    out = [CheckAvailability("syntax (tree-sitter)", True, "Rust and Python; other files: none")]
    run_tests = settings.edits.run_tests
    if _find(root, "Cargo.toml"):
        cargo = shutil.which("cargo")
        out.append(CheckAvailability("rust: cargo check", cargo is not None,
                                     cargo or "cargo is not installed: Rust edits get syntax checks only"))
        out.append(CheckAvailability(
            "rust: related tests (cargo test)", cargo is not None and run_tests,
            "off (edits.run_tests = false)" if not run_tests else (cargo or "cargo is not installed")))
    if _find(root, "*.py"):
        out.append(CheckAvailability("python: compile + pyflakes", True, "built in"))
        tests = _find(root, "test_*.py") or _find(root, "*_test.py")
        python = project_python(root)
        pytest = bool(tests) and has_pytest(python)
        detail = ("off (edits.run_tests = false)" if not run_tests else
                  "no test files found" if not tests else
                  f"pytest with {python}" if pytest else f"pytest is not installed for {python}")
        out.append(CheckAvailability("python: related tests (pytest)", pytest and run_tests, detail))
        checker = find_type_checker(root)
        if checker is None:
            out.append(CheckAvailability("python: type checker", False,
                                         "none configured (mypy or pyright settings): not run"))
        else:
            out.append(CheckAvailability(f"python: type checker ({checker.name})",
                                         checker.executable is not None,
                                         f"{checker.executable} ({checker.configured_in})"
                                         if checker.executable else checker.missing()))
    if settings.edits.check_command:
        out.append(CheckAvailability("edits.check_command", True, settings.edits.check_command))
    out.append(CheckAvailability("test isolation", "no network" in isolation(), isolation()))
    return out
