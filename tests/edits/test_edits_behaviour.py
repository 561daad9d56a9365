"""What an edit does, checked for real: cargo on a small crate with a unit test, pyflakes and
pytest on a small package, compared before and after the edit in the shadow copy.

The Rust tests share one workspace copy and one state directory per module, so the shadow copy
and its cargo target directory stay warm across tests (as they do for a running server)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from edit_fixtures import FIXTURES, fixture_copy

from lsp_server.config import Settings, parse_settings
from lsp_server.edits import Verdict, verify
from lsp_server.edits.sandbox import network_prefix

AREA = "    std::f64::consts::PI * r * r\n"

if shutil.which("cargo") is None:  # .ci/run installs cargo and sets AO_REQUIRE_CARGO: fail there
    if os.environ.get("AO_REQUIRE_CARGO"):
        pytest.fail("cargo is required (AO_REQUIRE_CARGO is set)", pytrace=False)
    pytest.skip("cargo is not installed", allow_module_level=True)


def block(search: str, replace: str, path: str = "src/lib.rs") -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    return fixture_copy(tmp_path_factory, "calc")


def run(root: Path, settings: Settings, raw: str, lines: tuple[int, int] = (4, 6), **kw: object) -> Verdict:
    def read(rel: str) -> str | None:
        path = root / rel
        return path.read_text() if path.is_file() else None

    return verify(raw, edit_format="search_replace", read_text=read, root=root, settings=settings,
                  target_path="src/lib.rs", target_lines=lines, threshold=0.85, tier="local", **kw)  # type: ignore[arg-type]


def test_a_good_edit_is_compiled_and_tested(warm: tuple[Path, Settings]) -> None:
    root, settings = warm
    before = (root / "src" / "lib.rs").read_text()
    v = run(root, settings, block(AREA, "    std::f64::consts::PI * r.powi(2)\n"))
    assert v.accepted and v.confidence == 1.0, v.reasons
    assert v.evidence == {"compile": "ran", "tests": "ran"}
    assert any(r.startswith("related tests: direct: unit tests; 2 passing before the edit") for r in v.reasons)
    assert (root / "src" / "lib.rs").read_text() == before and not (root / "target").exists()


def test_an_edit_that_compiles_but_fails_the_unit_test_is_rejected(warm: tuple[Path, Settings]) -> None:
    root, settings = warm
    v = run(root, settings, block(AREA, "    -42.0 * r\n"))
    assert not v.accepted and v.confidence < 0.85
    assert v.problems and "tests::area_of_unit_circle_is_pi" in v.problems[0]
    assert "passed before fail after the edit" in v.problems[0]
    assert not any("error(s) after the edit:" in p for p in v.problems)  # it compiles


def test_a_new_compiler_error_is_rejected(warm: tuple[Path, Settings]) -> None:
    root, settings = warm
    v = run(root, settings, block(AREA, "    std::f64::consts::PI * r * \"r\"\n"))
    assert not v.accepted
    assert v.problems[0].startswith("new error(s) after the edit: src/lib.rs:5: [E0277] cannot multiply")


def test_related_tests_can_be_turned_off_and_syntax_only_is_capped(warm: tuple[Path, Settings]) -> None:
    root, settings = warm
    wrong = block(AREA, "    -42.0 * r\n")
    off = settings.model_copy(update={"edits": settings.edits.model_copy(update={"run_tests": False})})
    v = run(root, off, wrong)
    assert v.evidence == {"compile": "ran", "tests": "off"} and v.confidence == 0.95
    assert "related tests not run: edits.run_tests is off" in v.reasons
    syntax = run(root, settings, block(AREA, "    std::f64::consts::PI * r.powi(2)\n"), level="syntax")
    assert syntax.confidence == 0.8 and not syntax.accepted and not syntax.problems


def test_the_test_budget_skips_and_says_so(warm: tuple[Path, Settings]) -> None:
    root, settings = warm
    tight = settings.model_copy(update={"edits": settings.edits.model_copy(
        update={"test_budget_seconds": {"local": 0.5}})})
    v = run(root, tight, block(AREA, "    -42.0 * r\n"))
    assert v.evidence["tests"] == "not_run" and not v.accepted
    assert any("skipped for the 0.5s budget: direct: unit tests" in r for r in v.reasons)


# --- "AI: Fix <diagnostic>" on a broken build --------------------------------------------

MISMATCH = "cannot multiply `i64` by `{float}`"


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    base = tmp_path_factory.mktemp("broken")
    root = base / "calc"
    shutil.copytree(FIXTURES / "calc", root)
    lib = root / "src" / "lib.rs"
    # Two errors: the one the user asks to fix (line 10), and another one elsewhere.
    lib.write_text(lib.read_text().replace("    n * 2\n", "    n * 2.0\n")
                   + "\npub fn other() -> u8 {\n    \"not a number\"\n}\n")
    return root, parse_settings({"state_dir": str(base / "state")})


def fix(root: Path, settings: Settings, replace: str) -> Verdict:
    return run(root, settings, block("    n * 2.0\n", replace), lines=(10, 10),
               fix_diagnostics=(MISMATCH,))


def test_a_fix_that_removes_the_diagnostic_is_accepted_on_a_broken_build(broken: tuple[Path, Settings]) -> None:
    root, settings = broken
    v = fix(root, settings, "    n * 2\n")
    assert v.accepted, v.reasons
    assert any(r.startswith("the diagnostic to fix is gone: src/lib.rs:10: [E0277]") for r in v.reasons)


def test_a_fix_that_leaves_the_diagnostic_is_rejected(broken: tuple[Path, Settings]) -> None:
    root, settings = broken
    v = fix(root, settings, "    // doubled\n    n * 2.0\n")
    assert not v.accepted
    assert v.problems[0].startswith("the diagnostic to fix is still reported after the edit: src/lib.rs:11")


def test_a_fix_that_adds_a_new_error_is_rejected(broken: tuple[Path, Settings]) -> None:
    root, settings = broken
    v = fix(root, settings, "    n * 2 + missing\n")
    assert not v.accepted
    assert any(p.startswith("new error(s) after the edit: src/lib.rs:10: [E0425]") for p in v.problems)


def test_a_diagnostic_from_a_tool_the_server_cannot_run_is_said(broken: tuple[Path, Settings]) -> None:
    root, settings = broken
    v = run(root, settings, block("    n * 2.0\n", "    n * 2\n"), lines=(10, 10),
            fix_diagnostics=("this could be written more idiomatically (clippy::pedantic)",))
    assert any("comes from a tool the server cannot run here" in p for p in v.problems)


# --- Python: pyflakes and pytest ------------------------------------------------------------

PRICING = "def discounted(value, percent):\n    return value * (1 - percent / 100)\n"
TEST = ("from shop.pricing import discounted\n\n\ndef test_ten_percent():\n"
        "    assert discounted(200, 10) == 180\n\n\ndef test_unrelated():\n    assert True\n")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "pricing.py").write_text(PRICING)
    (root / "tests" / "test_pricing.py").write_text(TEST)
    return root


def py(root: Path, raw: str) -> Verdict:
    def read(rel: str) -> str | None:
        path = root / rel
        return path.read_text() if path.is_file() else None

    return verify(raw, edit_format="search_replace", read_text=read, root=root, settings=Settings(),
                  target_path="shop/pricing.py", target_lines=(1, 2), threshold=0.85, tier="local")


def test_python_wrong_but_valid_edit_fails_its_test(package: Path) -> None:
    v = py(package, block("    return value * (1 - percent / 100)\n", "    return value * (1 + percent / 100)\n",
                          "shop/pricing.py"))
    assert not v.accepted
    assert "tests/test_pricing.py::test_ten_percent (caught by: direct)" in v.problems[0]
    good = py(package, block("    return value * (1 - percent / 100)\n",
                             "    return value - value * percent / 100\n", "shop/pricing.py"))
    assert good.accepted and good.confidence == 1.0, good.reasons


def test_python_undefined_name_and_broken_import_are_new_errors(package: Path) -> None:
    v = py(package, block("    return value * (1 - percent / 100)\n", "    return value * (1 - pct / 100)\n",
                          "shop/pricing.py"))
    assert v.problems[0].startswith("new error(s) after the edit: shop/pricing.py:2: [UndefinedName]")
    renamed = py(package, block("def discounted(value, percent):\n", "def discount(value, percent):\n",
                                 "shop/pricing.py"))
    assert any("cannot import name 'discounted' from 'shop.pricing'" in p for p in renamed.problems)


def test_network_isolation_is_probed() -> None:
    prefix = network_prefix()
    assert prefix == [] or Path(prefix[0]).name == "unshare"
