"""Which tests an edit selects, counted on small projects with a call chain three deep, and what
the selection catches: real index, real pytest, real cargo.

``chain_py`` and ``chain`` (Rust) both have ``report -> total -> adjust -> scale``, a direct test
of ``scale`` that a wrong factor does not fail, and a test of ``report`` that it does; the
Python project also has a test that passes ``scale`` as a value (no reference leads there, so
only the whole suite finds it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from edit_fixtures import fixture_copy

from lsp_server.config import Settings
from lsp_server.edits import Verdict, verify
from lsp_server.edits.applier import apply_edits
from lsp_server.edits.diagnostics import crate_dir
from lsp_server.edits.parser import parse_edits
from lsp_server.edits.related_tests import (
    Selection,
    TestGroup,
    project_python,
    select_tests,
)
from lsp_server.edits.shadow import shadow_for

SCALE_PY = "def scale(x):\n    return x * 3\n"
SCALE_RS = "pub fn scale(x: i64) -> i64 {\n    x * 3\n}\n"


def block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def check(root: Path, settings: Settings, path: str, search: str, replace: str, tier: str = "local") -> Verdict:
    def read(rel: str) -> str | None:
        full = root / rel
        return full.read_text() if full.is_file() else None

    return verify(block(path, search, replace), edit_format="search_replace", read_text=read, root=root,
                  settings=settings, target_path=path, target_lines=None, threshold=0.85, tier=tier)


def selection(root: Path, settings: Settings, path: str, search: str, replace: str) -> Selection:
    def read(rel: str) -> str | None:
        full = root / rel
        return full.read_text() if full.is_file() else None

    edits = parse_edits(block(path, search, replace), "search_replace")
    changes = apply_edits(edits, read, root=root, settings=settings)
    with shadow_for(root, settings) as shadow, shadow.index(settings) as index:
        return select_tests(shadow, index, changes, read, lambda rel: crate_dir(shadow.ws, rel),
                            project_python(shadow.root))


def stages(groups: list[TestGroup]) -> list[tuple[str, tuple[str, ...]]]:
    return [(g.stage, g.tests) for g in groups]


# --- Python ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def py_chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    return fixture_copy(tmp_path_factory, "chain_py")


def test_python_selection_follows_callers_three_deep_nearest_first(py_chain: tuple[Path, Settings]) -> None:
    root, settings = py_chain
    chosen = selection(root, settings, "chain/core.py", SCALE_PY, "def scale(x):\n    return x * 4\n")
    assert stages(chosen.groups) == [
        ("direct", ("tests/test_direct.py::test_scale_of_zero",)),
        ("3 calls up", ("tests/test_report.py::test_report_of_two",)),
    ]
    assert [s.group.label for s in chosen.suites] == ["whole suite: pytest"]
    # An edit to the top of the chain reaches only the test that calls it.
    top = selection(root, settings, "chain/core.py", 'def report(xs):\n    return f"total={total(xs)}"\n',
                    'def report(xs):\n    return f"sum={total(xs)}"\n')
    # test_direct.py imports the module and none of its tests reaches report: it runs whole,
    # after the tests that do.
    assert stages(top.groups) == [("direct", ("tests/test_report.py::test_report_of_two",)),
                                  ("direct", ("tests/test_direct.py",))]


def test_python_a_wrong_edit_three_calls_down_is_caught_and_said(py_chain: tuple[Path, Settings]) -> None:
    root, settings = py_chain
    v = check(root, settings, "chain/core.py", SCALE_PY, "def scale(x):\n    return x * 4\n")
    assert not v.accepted
    assert v.problems[0].startswith("test(s) that passed before fail after the edit: "
                                    "tests/test_report.py::test_report_of_two (caught by: 3 calls up)")
    assert "by selection: direct 1, 3 calls up 1" in v.problems[0]
    assert "not run once a test had failed: whole suite: pytest" in v.problems[0]


def test_python_whole_suite_widening_catches_what_no_reference_reaches(py_chain: tuple[Path, Settings]) -> None:
    root, settings = py_chain
    # Wrong only at 5, which only test_apply_scale (reached by no reference) tries.
    wrong = "def scale(x):\n    return x * 3 if x != 5 else 14\n"
    v = check(root, settings, "chain/core.py", SCALE_PY, wrong)
    assert not v.accepted, v.reasons
    assert v.problems[0].startswith("test(s) that passed before fail after the edit: "
                                    "tests/test_passed_as_value.py::test_apply_scale (caught by: whole suite)")
    with shadow_for(root, settings) as shadow:
        digest = shadow.files_digest(lambda rel: rel.startswith("tests/") or rel.endswith("conftest.py"))
        known = shadow.suite_seconds("pytest:.", digest)
    # The whole suite's duration was measured on the way, and is remembered with the copy.
    assert known is not None and known[1] and known[0] > 0
    good = check(root, settings, "chain/core.py", SCALE_PY, "def scale(x):\n    return x + x + x\n")
    assert good.accepted and good.confidence == 1.0, good.reasons
    assert any("whole suite 2" in r and "by selection: direct 1, 3 calls up 1" in r for r in good.reasons)


def test_the_remembered_suite_duration_is_forgotten_when_a_test_file_changes(py_chain: tuple[Path, Settings]) -> None:
    root, settings = py_chain
    check(root, settings, "chain/core.py", SCALE_PY, "def scale(x):\n    return 3 * x\n")

    def wanted(rel: str) -> bool:
        return rel.startswith("tests/")

    with shadow_for(root, settings) as shadow:
        shadow.remember_suite("pytest:.", shadow.files_digest(wanted), 1.5, True)
        assert shadow.suite_seconds("pytest:.", shadow.files_digest(wanted)) == (1.5, True)
    test = root / "tests" / "test_report.py"
    test.write_text(test.read_text() + "\n\ndef test_more():\n    assert True\n")
    try:
        with shadow_for(root, settings) as shadow:
            assert shadow.suite_seconds("pytest:.", shadow.files_digest(wanted)) is None
    finally:
        test.write_text(test.read_text().split("\n\ndef test_more")[0])


def test_the_budget_skips_the_farthest_tests_and_says_so(py_chain: tuple[Path, Settings]) -> None:
    root, settings = py_chain
    tight = settings.model_copy(update={"edits": settings.edits.model_copy(
        update={"test_budget_seconds": {"local": 0.5}})})
    v = check(root, tight, "chain/core.py", SCALE_PY, "def scale(x):\n    return x * 4\n")
    assert not v.accepted and v.evidence["tests"] == "not_run"
    assert any("skipped for the 0.5s budget: whole suite: pytest, direct: 1 test in 1 file, "
               "3 calls up: 1 test in 1 file" in r for r in v.reasons), v.reasons


# --- Rust -----------------------------------------------------------------------------------

needs_cargo = pytest.mark.skipif(shutil.which("cargo") is None and not os.environ.get("AO_REQUIRE_CARGO"),
                                 reason="cargo is not installed")


@pytest.fixture(scope="module")
def rs_chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    if shutil.which("cargo") is None and os.environ.get("AO_REQUIRE_CARGO"):
        pytest.fail("cargo is required (AO_REQUIRE_CARGO is set)", pytrace=False)
    return fixture_copy(tmp_path_factory, "chain")


@needs_cargo
def test_rust_selection_follows_callers_three_deep_nearest_first(rs_chain: tuple[Path, Settings]) -> None:
    root, settings = rs_chain
    chosen = selection(root, settings, "src/scale.rs", SCALE_RS, "pub fn scale(x: i64) -> i64 {\n    x * 4\n}\n")
    assert [(g.stage, g.label, g.tests) for g in chosen.groups] == [
        ("direct", "direct: tests/direct.rs", ("scale_of_zero_is_zero",)),
        ("3 calls up", "3 calls up: unit tests", ("tests::report_of_two",)),
    ]
    assert chosen.groups[1].argv == ("cargo", "test", "--offline", "--no-fail-fast", "--lib", "--",
                                     "tests::report_of_two")
    assert [s.group.label for s in chosen.suites] == ["whole suite: cargo test (.)"]


@needs_cargo
def test_rust_a_wrong_edit_three_calls_down_is_caught(rs_chain: tuple[Path, Settings]) -> None:
    root, settings = rs_chain
    v = check(root, settings, "src/scale.rs", SCALE_RS, "pub fn scale(x: i64) -> i64 {\n    x * 4\n}\n")
    assert not v.accepted
    assert v.problems[0].startswith("test(s) that passed before fail after the edit: tests::report_of_two "
                                    "(caught by: 3 calls up)"), v.problems
    good = check(root, settings, "src/scale.rs", SCALE_RS, "pub fn scale(x: i64) -> i64 {\n    x + x + x\n}\n")
    assert good.accepted and good.confidence == 1.0, good.reasons
    assert any("by selection: direct 1, 3 calls up 1" in r for r in good.reasons), good.reasons


def test_an_edit_no_test_reaches_is_checked_by_the_whole_suite_when_it_fits(py_chain: tuple[Path, Settings]) -> None:
    root, settings = py_chain
    search = 'def describe():\n    return "a chain of calls"\n'
    replace = 'def describe():\n    return "calls in a chain"\n'
    v = check(root, settings, "chain/words.py", search, replace)
    assert v.accepted and v.evidence["tests"] == "ran" and v.confidence == 1.0, v.reasons
    assert any("by selection: whole suite 4" in r for r in v.reasons), v.reasons
    # When the suite does not fit, nothing related was left unrun: the edit is judged as one no
    # test reaches (not capped as "tests skipped"), and the reasons say what the budget left out.
    tight = settings.model_copy(update={"edits": settings.edits.model_copy(
        update={"test_budget_seconds": {"local": 0.5}})})
    v = check(root, tight, "chain/words.py", search, replace)
    assert v.accepted and v.evidence["tests"] == "none" and v.confidence == 0.95, v.reasons
    assert any("skipped for the 0.5s budget: whole suite: pytest" in r for r in v.reasons), v.reasons
