"""Which diagnostic a fix is about: the editor's source and code first, its message second, near
its own lines; for real on a small package (pyflakes, and mypy where the package configures it)."""

from __future__ import annotations

from pathlib import Path

from lsp_server.config import parse_settings
from lsp_server.edits import FixDiagnostic, Verdict, verify
from lsp_server.edits.diagnostics import Diagnostic, matching

PRICING = "def discounted(value, percent):\n    return value * (1 - pct / 100)\n"


def _d(tool: str, code: str, message: str, line: int = 2) -> Diagnostic:
    return Diagnostic(tool, "shop/pricing.py", line, line, code, message)


def test_source_and_code_come_before_the_message() -> None:
    found = [_d("pyflakes", "UndefinedName", "undefined name 'pct'"),
             _d("mypy", "name-defined", 'Name "pct" is not defined'),
             _d("mypy", "operator", 'Unsupported operand types for - ("int" and "str")')]
    # Ruff's code names pyflakes' check, whatever the wording (here another language's).
    ruff = FixDiagnostic("Nom non défini `pct`", "Ruff", "F821")
    assert matching(ruff, found) == [found[0]]
    # The same code from mypy: only mypy's error, not pyflakes' about the same name.
    assert matching(FixDiagnostic("name undefined", "mypy", "name-defined"), found) == [found[1]]
    # A code without a source matches any tool's code.
    assert matching(FixDiagnostic("x", None, "operator"), found) == [found[2]]
    # A message alone (the command line's --diagnostic).
    assert matching(FixDiagnostic("undefined name `pct`"), found) == [found[0]]
    # A code that matches nothing falls back to the message.
    assert matching(FixDiagnostic('Name "pct" is not defined', "mypy", "E0001"), found) == [found[1]]
    # A source the verifier does not run matches by code or message across the tools it runs.
    assert matching(FixDiagnostic("needless borrow", "clippy", "needless_borrow"), found) == []


def _package(root: Path, mypy: bool = False) -> Path:
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "pricing.py").write_text(PRICING)
    if mypy:
        (root / "pyproject.toml").write_text("[tool.mypy]\ncheck_untyped_defs = true\n")
    return root


def _fix(root: Path, state: Path, replace: str, *wanted: str | FixDiagnostic) -> Verdict:
    def read(rel: str) -> str | None:
        path = root / rel
        return path.read_text() if path.is_file() else None

    raw = (f"shop/pricing.py\n<<<<<<< SEARCH\n    return value * (1 - pct / 100)\n=======\n"
           f"{replace}>>>>>>> REPLACE\n")
    return verify(raw, edit_format="search_replace", read_text=read, root=root,
                  settings=parse_settings({"state_dir": str(state)}), target_path="shop/pricing.py",
                  target_lines=(2, 2), threshold=0.85, tier="local", fix_diagnostics=wanted)


def test_a_fix_found_by_code_is_accepted_when_gone_and_rejected_when_left(tmp_path: Path) -> None:
    root = _package(tmp_path / "proj")
    wanted = FixDiagnostic("Nom non défini `pct`", "Ruff", "F821", (2, 2))
    gone = _fix(root, tmp_path / "state", "    return value * (1 - percent / 100)\n", wanted)
    assert gone.accepted, gone.reasons
    assert any(r.startswith("the diagnostic to fix is gone: shop/pricing.py:2: [UndefinedName]")
               for r in gone.reasons)
    # The edit adds a line above: the diagnostic's lines follow the shift, and it is still there.
    left = _fix(root, tmp_path / "state", "    # percent off\n    return value * (1 - pct / 100)\n",
                wanted)
    assert not left.accepted
    assert any(p.startswith("the diagnostic to fix is still reported after the edit: "
                            "shop/pricing.py:3: [UndefinedName]") for p in left.problems)


def test_a_diagnostic_from_a_source_the_server_cannot_run_is_named(tmp_path: Path) -> None:
    root = _package(tmp_path / "proj")
    v = _fix(root, tmp_path / "state", "    return value * (1 - percent / 100)\n",
             FixDiagnostic('"pct" is not defined', "Pylint", "E0602", (2, 2)))
    assert any("it comes from Pylint, a tool the server cannot run here" in p for p in v.problems)


def test_a_type_checker_diagnostic_is_found_by_its_code(tmp_path: Path) -> None:
    root = _package(tmp_path / "proj", mypy=True)
    wanted = FixDiagnostic("pct is undefined", "mypy", "name-defined", (2, 2))
    v = _fix(root, tmp_path / "state", "    return value * (1 - percent / 100)\n", wanted)
    assert v.accepted, v.reasons
    assert any(r.startswith("the diagnostic to fix is gone: shop/pricing.py:2: [name-defined]")
               for r in v.reasons)


def test_a_type_checker_diagnostic_on_a_project_without_one_is_said(tmp_path: Path) -> None:
    root = _package(tmp_path / "proj")
    v = _fix(root, tmp_path / "state", "    return value * (1 - percent / 100)\n",
             FixDiagnostic('Name "pct" is not defined', "mypy", "name-defined", (2, 2)))
    assert any("it comes from mypy, a type checker that did not run here" in p for p in v.problems)
