"""The project's own type checker, for real: mypy on a small package that configures it with
``[tool.mypy]``, before and after an edit in the shadow copy."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from lsp_server.config import Settings, parse_settings
from lsp_server.edits import FixDiagnostic, Verdict, verify
from lsp_server.edits.availability import available_checks
from lsp_server.edits.typecheck import find_type_checker, parse_mypy, parse_pyright

PRICING = ("def discounted(value: float, percent: float) -> float:\n"
           "    return value * (1 - percent / 100)\n")
CART = ("from shop.pricing import discounted\n\n\n"
        "def total(prices: list[float]) -> float:\n"
        "    return sum(discounted(p, 10) for p in prices)\n")


def block(search: str, replace: str, path: str = "shop/pricing.py") -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def make_package(root: Path, pricing: str = PRICING, config: str = "[tool.mypy]\nstrict = true\n") -> Path:
    (root / "shop").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = \"shop\"\nversion = \"0.1\"\n\n" + config)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "pricing.py").write_text(pricing)
    (root / "shop" / "cart.py").write_text(CART)
    return root


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    base = tmp_path_factory.mktemp("typed")
    return make_package(base / "proj"), parse_settings({"state_dir": str(base / "state")})


def run(root: Path, settings: Settings, raw: str, **kw: object) -> Verdict:
    def read(rel: str) -> str | None:
        path = root / rel
        return path.read_text() if path.is_file() else None

    return verify(raw, edit_format="search_replace", read_text=read, root=root, settings=settings,
                  target_path="shop/pricing.py", target_lines=(1, 2), threshold=0.85, tier="local",
                  **kw)  # type: ignore[arg-type]


def test_a_type_error_that_compiles_is_rejected(warm: tuple[Path, Settings]) -> None:
    root, settings = warm
    v = run(root, settings, block("def discounted(value: float, percent: float) -> float:\n",
                                  "def discounted(value: float, percent: float) -> str:\n"))
    assert not v.accepted and v.confidence < 0.85
    assert v.problems[0].startswith("new error(s) after the edit: shop/")
    assert "[return-value]" in v.problems[0] or "[arg-type]" in v.problems[0]
    assert any(r.startswith("mypy ([tool.mypy] in pyproject.toml) on 2 file(s)") for r in v.reasons)
    # Checked in the shadow copy, with mypy's cache in the shadow's state: never in the project.
    assert not (root / ".mypy_cache").exists()
    assert list((Path(settings.state_dir or "") / "shadow").glob("*/mypy-cache"))


def test_a_well_typed_edit_is_accepted(warm: tuple[Path, Settings]) -> None:
    root, settings = warm
    v = run(root, settings, block("    return value * (1 - percent / 100)\n",
                                  "    return value - value * percent / 100\n"))
    assert v.accepted, v.reasons
    assert any(r.startswith("mypy ([tool.mypy] in pyproject.toml)") and "0 error(s) after" in r
               for r in v.reasons)


BROKEN = ("def discounted(value: float, percent: float) -> int:\n"
          "    return value * (1 - percent / 100)\n")
MESSAGE = 'Incompatible return value type (got "float", expected "int")'


def test_a_fix_of_a_type_error_is_accepted_when_it_is_gone(tmp_path: Path) -> None:
    root = make_package(tmp_path / "proj", BROKEN)
    settings = parse_settings({"state_dir": str(tmp_path / "state")})
    v = run(root, settings, block("def discounted(value: float, percent: float) -> int:\n",
                                  "def discounted(value: float, percent: float) -> float:\n"),
            fix_diagnostics=(MESSAGE,))
    assert v.accepted, v.reasons
    assert any(r.startswith("the diagnostic to fix is gone: shop/pricing.py:2: [return-value]")
               for r in v.reasons)
    left = run(root, settings, block("    return value * (1 - percent / 100)\n",
                                     "    return value * (1 - percent / 100.0)\n"),
               fix_diagnostics=(MESSAGE,))
    assert not left.accepted
    assert any("the diagnostic to fix is still reported" in p for p in left.problems)


def test_a_configured_checker_that_is_not_installed_is_said(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_package(tmp_path / "proj", config="[tool.pyright]\nstrict = [\"shop\"]\n")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(sys, "executable", str(empty / "python"))
    checker = find_type_checker(root)
    assert checker is not None and checker.name == "pyright" and checker.executable is None
    v = run(root, parse_settings({"state_dir": str(tmp_path / "state")}),
            block("    return value * (1 - percent / 100)\n",
                  "    return value - value * percent / 100\n"))
    assert any(r.startswith("type checker configured but not installed: pyright "
                            "([tool.pyright] in pyproject.toml)") for r in v.reasons)
    line = next(c for c in available_checks(root, Settings()) if "type checker" in c.name)
    assert not line.available and "configured but not installed" in line.detail


def test_doctor_lists_the_projects_type_checker(warm: tuple[Path, Settings]) -> None:
    root, _ = warm
    line = next(c for c in available_checks(root, Settings()) if "type checker" in c.name)
    assert line.available and line.name == "python: type checker (mypy)"
    assert "[tool.mypy] in pyproject.toml" in line.detail


@pytest.mark.parametrize(("files", "config", "expected"), [
    ({"mypy.ini": "[mypy]\n"}, None, ("mypy", "mypy.ini")),
    ({"setup.cfg": "[metadata]\nname = x\n\n[mypy]\nstrict = True\n"}, None, ("mypy", "[mypy] in setup.cfg")),
    ({"setup.cfg": "[metadata]\nname = x\n"}, None, None),
    ({"pyrightconfig.json": "{}"}, None, ("pyright", "pyrightconfig.json")),
    ({}, "[tool.ruff]\nline-length = 99\n", None),
])
def test_which_checker_a_project_configures(tmp_path: Path, files: dict[str, str],
                                            config: str | None,
                                            expected: tuple[str, str] | None) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    if config is not None:
        (tmp_path / "pyproject.toml").write_text(config)
    checker = find_type_checker(tmp_path)
    assert (None if checker is None else (checker.name, checker.configured_in)) == expected


def test_checker_output_is_read_inside_the_project_only(tmp_path: Path) -> None:
    out = ("shop/a.py:3:5:3:9: error: Name \"x\" is not defined  [name-defined]\n"
           "shop/a.py:4: note: See https://mypy.rtfd.io\n"
           f"{tmp_path.parent}/elsewhere.py:1: error: outside  [misc]\n"
           "shop/b.py:7: error: Missing return statement\n")
    found = parse_mypy(out, tmp_path)
    assert [(d.path, d.line, d.code) for d in found] == [("shop/a.py", 3, "name-defined"),
                                                          ("shop/b.py", 7, "")]
    pyright = json.dumps({"generalDiagnostics": [
        {"file": f"{tmp_path}/shop/a.py", "severity": "error", "message": 'Type "str" is not assignable',
         "rule": "reportReturnType",
         "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 9}}},
        {"file": f"{tmp_path}/shop/a.py", "severity": "warning", "message": "w", "range": {}}]})
    parsed = parse_pyright(pyright, tmp_path)
    assert parsed is not None and [(d.path, d.line, d.code) for d in parsed] == [
        ("shop/a.py", 2, "reportReturnType")]
    assert parse_pyright("not json", tmp_path) is None


def _pyright() -> str:
    """A pyright to install into the test project (.ci/run installs one and sets AO_PYRIGHT)."""
    found = os.environ.get("AO_PYRIGHT") or shutil.which("pyright")
    if found is None:
        if os.environ.get("AO_REQUIRE_PYRIGHT"):
            pytest.fail("pyright is required (AO_REQUIRE_PYRIGHT is set)")
        pytest.skip("pyright is not installed")
    return found


def test_pyright_from_the_projects_node_modules(tmp_path: Path) -> None:
    root = make_package(tmp_path / "proj", BROKEN, config="")
    (root / "pyrightconfig.json").write_text('{"include": ["shop"]}\n')
    bin_dir = root / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "pyright").symlink_to(_pyright())
    checker = find_type_checker(root)
    assert checker is not None and checker.executable == str(bin_dir / "pyright")
    settings = parse_settings({"state_dir": str(tmp_path / "state")})
    wanted = FixDiagnostic('Type "float" is not assignable to return type "int"', "Pyright",
                           "reportReturnType", (2, 2))
    fixed = run(root, settings, block("def discounted(value: float, percent: float) -> int:\n",
                                      "def discounted(value: float, percent: float) -> float:\n"),
                fix_diagnostics=(wanted,))
    assert fixed.accepted, fixed.reasons
    assert any(r.startswith("the diagnostic to fix is gone: shop/pricing.py:2: [reportReturnType]")
               for r in fixed.reasons)
    worse = run(root, settings, block("    return value * (1 - percent / 100)\n",
                                      "    return str(value)\n"))
    assert not worse.accepted
    assert worse.problems[0].startswith(
        'new error(s) after the edit: shop/pricing.py:2: [reportReturnType] Type "str"'), worse.problems
