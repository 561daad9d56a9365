"""Done-when for behaviour checks through the whole cascade: a local answer that compiles but
fails the unit test covering the edited function is not accepted, and the request escalates to
the next tier, whose good answer is applied. Prose non-answers escalate too."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from pipeline_helpers import GOOD_EXPLANATION, copy_example, explain, start_lineup
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest

CALC = Path(__file__).resolve().parents[1] / "edits" / "fixtures" / "calc"
WRONG_LOCAL = ("REPLACE circle_area IN src/lib.rs\n```rust\n"
               "pub fn circle_area(r: f64) -> f64 {\n    -42.0 * r\n}\n```\n")
GOOD_FREE = ("src/lib.rs\n<<<<<<< SEARCH\n    std::f64::consts::PI * r * r\n=======\n"
             "    std::f64::consts::PI * r.powi(2)\n>>>>>>> REPLACE\n")


async def test_compiling_answer_that_fails_its_test_escalates(standin, tmp_path: Path) -> None:  # noqa: F811
    if shutil.which("cargo") is None:
        if os.environ.get("AO_REQUIRE_CARGO"):
            pytest.fail("cargo is required (AO_REQUIRE_CARGO is set)")
        pytest.skip("cargo is not installed")
    lineup = start_lineup(standin)
    root = tmp_path / "calc"
    shutil.copytree(CALC, root)
    lineup.servers["local"].add(WRONG_LOCAL)
    lineup.servers["free"].add(GOOD_FREE)
    assistant = Assistant(root, lineup.settings(("local", "free")), environ=lineup.environ)
    request = AssistRequest(kind="fix", instruction="Make circle_area faster.",
                            path=root / "src" / "lib.rs", line_range=(4, 6))
    try:
        result = await assistant.run(request)
    finally:
        await assistant.aclose()
    local, free = result.attempts
    assert local.tier == "local" and not local.accepted
    assert local.confidence is not None and local.confidence < 0.85
    assert any("tests::area_of_unit_circle_is_pi" in r and "fail after the edit" in r for r in local.reasons)
    assert result.outcome == "accepted" and result.tier == "free" and free.accepted
    assert "r.powi(2)" in result.changes[0].new_text
    assert "-42.0" not in result.changes[0].new_text
    assert "area_of_unit_circle_is_pi" in lineup.servers["free"].generations[0].raw  # the reason travels


async def test_i_do_not_know_and_a_loop_are_not_accepted(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add("I do not know.")
    lineup.servers["free"].add("`total_value` sums the stock. " + "It sums the stock again and again. " * 12)
    lineup.servers["budget"].add(GOOD_EXPLANATION)
    assistant = Assistant(root, lineup.settings(("local", "free", "budget")), environ=lineup.environ)
    try:
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    local, free, budget = result.attempts
    assert not local.accepted and any("does not know" in r for r in local.reasons)
    # Caught by the judge's repetition check, or earlier while streaming by the early stop.
    assert not free.accepted and any("repetition loop" in r or "repeats itself" in r for r in free.reasons)
    assert budget.accepted and result.answer == GOOD_EXPLANATION
