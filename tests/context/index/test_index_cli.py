"""``agentic-optimizer index``: figures on stdout, JSON with --json, errors as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsp_server.cli import main


def test_index_prints_figures_then_reuses(rust_example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--project", str(rust_example)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("5 files, 32 definitions, ") and "(5 parsed, 0 reused, 0 removed)" in out
    assert main(["index", "--project", str(rust_example), "--json", "--stats"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["files"], data["parsed"], data["reused"]) == (5, 0, 5)
    assert data["languages"] == {"rust": 5}
    assert data["imports"]["resolved"] == 15 and data["imports"]["external"] == 1
    assert data["kinds"]["method"] == 14 and Path(data["store"]).is_file()


def test_index_stats_text(python_example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--project", str(python_example), "--stats"]) == 0
    out = capsys.readouterr().out
    assert "3 files, 12 definitions" in out
    assert "languages: python 3" in out and "file edges: 3" in out


def test_index_bad_project_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--project", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agentic-optimizer index: ") and err.count("\n") == 1
