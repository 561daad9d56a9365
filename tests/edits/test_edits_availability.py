"""`doctor`'s edit checks: what the verifier can run on a project, said per check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lsp_server.cli import main
from lsp_server.config import Settings, parse_settings
from lsp_server.edits.availability import available_checks


def test_rust_and_python_checks_are_listed(rust_example: Path, python_example: Path) -> None:
    rust = {c.name: c for c in available_checks(rust_example, Settings())}
    assert rust["rust: cargo check"].available == (shutil.which("cargo") is not None)
    assert "python: compile + pyflakes" not in rust
    off = {c.name: c for c in available_checks(rust_example, parse_settings({"edits": {"run_tests": False}}))}
    assert not off["rust: related tests (cargo test)"].available
    assert off["rust: related tests (cargo test)"].detail == "off (edits.run_tests = false)"
    py = {c.name: c for c in available_checks(python_example, Settings())}
    assert py["python: compile + pyflakes"].available
    assert py["python: related tests (pytest)"].detail == "no test files found"


def test_doctor_json_reports_edit_checks(rust_example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["doctor", "--project", str(rust_example), "--json"])
    report = json.loads(capsys.readouterr().out)
    names = [c["name"] for c in report["edit_checks"]]
    assert names[0] == "syntax (tree-sitter)" and "rust: cargo check" in names and "test isolation" in names
