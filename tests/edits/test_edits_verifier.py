"""The verifier: each check's factor, how they combine, and refusals that never raise."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsp_server.config import Settings, parse_settings
from lsp_server.edits import FileChange, TextEdit, Verdict, verify
from lsp_server.edits.checks import (
    allowed_lines,
    changed_lines,
    elided_lines,
    outside_target,
    syntax_errors,
)
from lsp_server.edits.verifier import (
    CEILING_NO_TESTS,
    CEILING_UNCHECKED,
    CHECK_ERROR_FACTOR,
    CHECK_FAILED_FACTOR,
    CHECK_TIMEOUT_FACTOR,
    ELISION_FACTOR,
    NOOP_FACTOR,
    RANGE_FACTOR,
    SYNTAX_FACTOR,
    WHITESPACE_FACTOR,
)

CODE = (
    "def total(items):\n"  # 1
    "    result = 0\n"  # 2
    "    for item in items:\n"  # 3
    "        result += item.price\n"  # 4
    "    return result\n"  # 5
    "\n"  # 6
    "\n"  # 7
    "def count(items):\n"  # 8
    "    return len(items)\n"  # 9
)
ALL_GOOD = "anchors matched exactly once; syntax, elision and range checks passed"
PYFLAKES = "python compile + pyflakes on 1 file(s): 0 error(s) after the edit, 0 before"
NO_TESTS = "no related tests found"


def expected(form: float) -> float:
    """The confidence of form factors ``form`` on shop.py: the compile check runs and no tests
    exist (ceiling 0.95), unless the form checks already sank the answer (then it is not
    compiled, and the unchecked ceiling 0.8 applies)."""
    return form * (CEILING_NO_TESTS if form >= 0.85 else CEILING_UNCHECKED)


def block(search: str, replace: str, path: str = "shop.py") -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "shop.py").write_text(CODE)
    (tmp_path / "other.py").write_text("X = 1\n")
    return tmp_path


def check(root: Path, raw: str, *, lines: tuple[int, int] | None = (3, 4), threshold: float = 0.85,
          config: Settings | None = None, edit_format: str = "search_replace", **kw: Any) -> Verdict:
    read = {p: (root / p).read_text() for p in ("shop.py", "other.py")}.get
    return verify(raw, edit_format=edit_format, read_text=read, root=root, settings=config or Settings(),
                  target_path="shop.py", target_lines=lines, threshold=threshold, **kw)


def test_clean_edit_scores_one_and_carries_its_changes(root: Path) -> None:
    v = check(root, block("        result += item.price\n", "        result += item.price * item.qty\n"))
    assert (v.confidence, v.accepted, v.reasons) == (CEILING_NO_TESTS, True, [ALL_GOOD, PYFLAKES, NO_TESTS])
    assert v.evidence == {"compile": "ran", "tests": "none"} and v.problems == []
    assert v.changes[0].new_text == CODE.replace("item.price\n", "item.price * item.qty\n")
    assert [a.method for a in v.anchors] == ["exact"] and len(v.edits) == 1


def test_whitespace_anchor(root: Path) -> None:
    v = check(root, block("result += item.price\n", "result -= item.price\n"))
    assert v.confidence == pytest.approx(expected(WHITESPACE_FACTOR)) and v.accepted
    assert v.problems == ["shop.py: an anchor matched only when ignoring whitespace"]
    assert "        result -= item.price\n" in v.changes[0].new_text
    assert not check(root, block("result += item.price\n", "result -= item.price\n"), threshold=0.96).accepted


def test_fuzzy_anchor_factor_follows_the_similarity(root: Path) -> None:
    raw = block("    for item in items:\n        result += item.prices\n    return result\n",
                "    for item in items:\n        result += item.cost\n    return result\n")
    v = check(root, raw)
    r = v.anchors[0].similarity
    assert v.anchors[0].method == "fuzzy" and 0.85 <= r < 1
    assert v.confidence == pytest.approx(expected(0.5 + 2 * (r - 0.85)))
    assert not v.accepted and v.problems == [f"shop.py: an anchor matched only fuzzily (similarity {r:.2f})"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("Looks fine to me.", "unparsable answer: no search/replace blocks"),
        (block("    missing()\n", "    x()\n"), "cannot apply: shop.py: the SEARCH text is not in the file"),
        (block("X = 1\n", "X = 2\n", path="../escape.py"), "cannot apply: ../escape.py: outside the workspace root"),
        (block("", "K = 1\n", path=".env"), "cannot apply: .env: excluded by privacy.exclude"),
    ],
)
def test_refused_answers_score_zero(root: Path, raw: str, reason: str) -> None:
    v = check(root, raw, threshold=0.0)
    assert (v.confidence, v.accepted, v.changes) == (0.0, False, [])
    assert len(v.reasons) == 1 and v.reasons[0].startswith(reason)


def test_new_syntax_errors_count_but_old_ones_do_not(root: Path) -> None:
    v = check(root, block("    for item in items:\n", "    for item in items\n"))
    new_errors = syntax_errors(v.changes[0].new_text, "shop.py")
    assert new_errors and syntax_errors(CODE, "shop.py") == 0
    assert v.confidence == pytest.approx(expected(SYNTAX_FACTOR))
    assert v.problems == [f"shop.py: {new_errors} new syntax error(s) after the edit"]
    broken = CODE.replace("def count(items):", "def count(items:")
    (root / "shop.py").write_text(broken)
    v = check(root, block("    result = 0\n", "    result = 0.0\n"))
    assert syntax_errors(broken, "shop.py") == syntax_errors(v.changes[0].new_text, "shop.py") > 0
    assert v.confidence == CEILING_NO_TESTS


def test_elision_comment(root: Path) -> None:
    v = check(root, block("    result = 0\n", "    result = 0\n    # ... existing code ...\n"))
    assert v.confidence == pytest.approx(expected(ELISION_FACTOR))
    assert v.problems == ["the edit leaves code out: '# ... existing code ...'"]


def test_range_other_lines_and_other_file(root: Path) -> None:
    v = check(root, block("    return len(items)\n", "    return sum(1 for _ in items)\n"))
    assert v.confidence == pytest.approx(expected(RANGE_FACTOR))
    assert v.problems == ["shop.py: lines 9 changed, outside the requested lines 1-5"]
    v = check(root, block("X = 1\n", "X = 2\n", path="other.py"))
    assert v.confidence == pytest.approx(expected(RANGE_FACTOR))
    assert v.problems == ["other.py: edited, but the request was about shop.py"]


def test_range_is_widened_to_the_enclosing_function(root: Path) -> None:
    v = check(root, block("    result = 0\n", "    result = 0.0\n"))  # line 2, outside 3-4, inside total()
    assert v.confidence == CEILING_NO_TESTS
    assert check(root, block("    result = 0\n", "    result = 0.0\n"), lines=None).confidence == CEILING_NO_TESTS


def test_no_op(root: Path) -> None:
    v = check(root, block("    result = 0\n", "    result = 0\n"))
    assert v.confidence == pytest.approx(expected(NOOP_FACTOR)) and v.problems == ["the edits change nothing"]


def test_factors_multiply(root: Path) -> None:
    raw = block("return len(items)\n", "return len(items)\n# ... rest of code\n")
    v = check(root, raw)
    assert v.confidence == pytest.approx(expected(WHITESPACE_FACTOR * ELISION_FACTOR * RANGE_FACTOR))
    assert len(v.problems) == 3


def test_whole_definition_answer(root: Path) -> None:
    raw = "REPLACE total IN shop.py\n```python\ndef total(items):\n    return sum(i.price for i in items)\n```\n"
    v = check(root, raw, edit_format="whole_definition")
    assert (v.confidence, [a.method for a in v.anchors]) == (CEILING_NO_TESTS, ["symbol"])
    assert v.changes[0].new_text.startswith("def total(items):\n    return sum(i.price for i in items)\n\n\ndef count")


# --- the check command: compared before and after the edit --------------------------------

FIX = block("        result += item.price\n", "        result += item.cost\n")
NEW_ERROR = "sh -c 'grep -q item.cost {files} && echo \"error: cost is not a field\"; exit 1'"


@pytest.mark.parametrize(
    ("command", "factor", "reason"),
    [
        ("grep -q item.cost {files}", 1.0, "check command passed (grep -q item.cost {files})"),
        ("sh -c '! grep -q item.cost {files}'", CHECK_FAILED_FACTOR, "check command failed"),
        ("false", 1.0, "check command fails with and without the edit (false); no new error after it"),
        # A build already broken before the edit still rejects an edit that adds an error.
        (NEW_ERROR, CHECK_FAILED_FACTOR, "check command reports new output after the edit"),
        ("sleep 5", CHECK_TIMEOUT_FACTOR, "check command timed out (sleep 5)"),
        ("/nonexistent/checker", CHECK_ERROR_FACTOR, "check command could not run: /nonexistent/checker"),
        ("sh -c 'unclosed", CHECK_ERROR_FACTOR, "check command could not run: edits.check_command cannot be split"),
    ],
)
def test_check_command(root: Path, command: str, factor: float, reason: str) -> None:
    config = parse_settings({"edits": {"check_command": command, "check_timeout_seconds": 0.5}})
    v = check(root, FIX, config=config)
    assert v.confidence == pytest.approx(CEILING_NO_TESTS * factor)  # pyflakes ran, no tests exist
    if factor == 1.0:
        assert v.problems == [] and any(r.startswith(reason) for r in v.reasons)
    else:
        assert len(v.problems) == 1 and v.problems[0].startswith(reason)
    assert (root / "shop.py").read_text() == CODE  # the check runs on a shadow copy


def test_check_command_is_skipped_at_the_syntax_level(root: Path) -> None:
    config = parse_settings({"edits": {"check_command": "false"}})
    v = check(root, FIX, config=config, level="syntax")
    assert (v.confidence, v.problems) == (CEILING_UNCHECKED, [])
    assert v.reasons[-1] == "compiler check and related tests available but not run: confidence capped"


# --- the checks on their own --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "elided"),
    [
        ("    # ... existing code ...", True),
        ("    // rest of the function unchanged", True),
        ("    /* remaining methods */", True),
        ("    # unchanged", True),
        ("    # code goes here", True),
        ("    ...", False),  # Python's Ellipsis is code
        ("    # compute the rest of the sum", False),
        ("    return existing_code", False),
    ],
)
def test_elided_lines_python(line: str, elided: bool) -> None:
    change = FileChange("a.py", "x = 1\n", f"x = 1\n{line}\n", [TextEdit("a.py", 6, 6, line + "\n")])
    assert elided_lines(change) == ([line.strip()] if elided else [])


def test_bare_ellipsis_is_elision_in_rust_and_old_lines_are_not_counted() -> None:
    rust = FileChange("a.rs", "fn a() {}\n", "", [TextEdit("a.rs", 0, 0, "fn b() {\n    ...\n}\n")])
    assert elided_lines(rust) == ["..."]
    kept = FileChange("a.py", "# ... existing code\n", "", [TextEdit("a.py", 0, 0, "# ... existing code\nx = 1\n")])
    assert elided_lines(kept) == []


def test_changed_lines_and_allowed_lines() -> None:
    change = FileChange("shop.py", CODE, "", [
        TextEdit("shop.py", CODE.index("    result = 0"), CODE.index("    for item"), "    result = 1\n"),
        TextEdit("shop.py", CODE.index("def count"), CODE.index("def count"), "# count\n"),
    ])
    assert changed_lines(change) == [(2, 2), (8, 7)]
    assert allowed_lines(CODE, "shop.py", (4, 4)) == (1, 5)
    assert allowed_lines(CODE, "notes.txt", (4, 2)) == (2, 4)
    assert outside_target([change], "./shop.py", (9, 9)) == ["shop.py: lines 2 changed, outside the requested lines 8-9"]
    assert outside_target([change], None, (9, 9)) == []


# --- property -----------------------------------------------------------------------------

_PATHS = st.sampled_from(
    ["shop.py", "other.py", "new.py", "../shop.py", "loop/x.py", "gitlink/config", "/etc/hosts", ".env"]
)
_CODE_LINES = st.lists(st.sampled_from(
    ["def total(items):", "    result = 0", "    return result", "    return len(items)",
     "# ... existing code", "x = (", "X = 1", ""]
), max_size=3).map(lambda ls: "".join(line + "\n" for line in ls))
_NOISE = st.sampled_from(["", "Here is the fix:", "```python", "```", "=======", ">>>>>>> REPLACE",
                          "<<<<<<< SEARCH", "REPLACE total IN shop.py", "REPLACE count"])
_PARTS = st.one_of(
    st.builds(block, _CODE_LINES, _CODE_LINES, _PATHS),
    st.builds(lambda sym, path, body: f"REPLACE {sym} IN {path}\n```\n{body}```\n",
              st.sampled_from(["total", "count", "missing"]), _PATHS, _CODE_LINES),
    _NOISE.map(lambda line: line + "\n"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_PARTS, max_size=5), st.sampled_from(["search_replace", "whole_definition"]),
       st.floats(0.0, 1.0))
def test_verify_never_raises_and_scores_consistently(
    root: Path, parts: list[str], edit_format: str, threshold: float
) -> None:
    if not (root / "loop").is_symlink():
        os.symlink("loop", root / "loop")
        (root / ".git").mkdir()
        os.symlink(".git", root / "gitlink")
    v = check(root, "".join(parts), edit_format=edit_format, threshold=threshold)
    assert 0.0 <= v.confidence <= 1.0 and v.reasons
    assert v.accepted == (v.confidence >= threshold and v.confidence > 0)
    assert (v.confidence == 0.0) == (v.changes == [])
    assert all(c.path in ("shop.py", "other.py", "new.py") for c in v.changes)
