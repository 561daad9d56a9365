"""The judge tier (``routing.judge_tier``) through the whole cascade, on vendor stand-ins: a
premium model grades a cheaper tier's prose answer in a few tokens, priced and recorded as an
attempt of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline_helpers import GOOD_EXPLANATION, Lineup, copy_example, explain, start_lineup
from standins import Reply
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest, AssistResult
from lsp_server.commands.ask import attempt_lines
from lsp_server.wire import result_json

PLAUSIBLE_WRONG = ("`total_value` adds the tax rate to every SKU's unit price and returns the "
                   "largest of the products as an integer.")


async def _run(lineup: Lineup, root: Path, tiers: tuple[str, ...], request: AssistRequest | None = None,
               **sections: Any) -> tuple[AssistResult, str]:
    routing = {"judge_tier": "premium", **sections.pop("routing", {})}
    assistant = Assistant(root, lineup.settings(tiers, routing=routing, **sections),
                          environ=lineup.environ)
    try:
        result = await assistant.run(request or explain(root))
        metrics = assistant.metrics_text()
    finally:
        await assistant.aclose()
    return result, metrics


async def test_a_pass_keeps_the_cheap_answer_and_the_judge_is_priced(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(GOOD_EXPLANATION)
    lineup.servers["premium"].add(Reply("PASS", input=300, output=2))
    result, metrics = await _run(lineup, root, ("local", "premium"))
    local, judge = result.attempts
    assert result.outcome == "accepted" and result.tier == "local"
    assert result.answer == GOOD_EXPLANATION
    assert local.accepted and local.judge_of is None
    assert any(r.startswith("judge premium-model (premium): PASS") for r in local.reasons)
    assert judge.judge_of == "local-model" and judge.tier == "premium" and not judge.accepted
    # Priced from the vendor's usage at the premium stand-in's price ($3 / $15 per million).
    assert judge.usage.input == 300 and judge.usage.output == 2
    assert judge.cost_usd is not None and abs(judge.cost_usd - (300 * 3 + 2 * 15) / 1e6) < 1e-12
    assert result.cost_usd >= judge.cost_usd > 0
    # A few tokens, the question and the answer to grade.
    body = lineup.servers["premium"].generations[0].body
    assert body["max_tokens"] <= 16
    sent = lineup.servers["premium"].generations[0].raw
    assert "Explain what this function computes." in sent and "total_value" in sent
    assert "PASS or FAIL" in sent
    # --json shows the judge's call, and metrics shows what grading cost, apart.
    shown = result_json(result)["attempts"]
    assert shown[1]["judge_of"] == "local-model" and shown[0]["judge_of"] is None
    assert "Anthropic (judge)" in metrics
    lines = attempt_lines(result.attempts)  # --verbose
    assert lines[1].startswith("call 2: premium · premium-model · judge of local-model: verdict: 'PASS'")


async def test_a_fail_rejects_and_escalates_with_the_judges_reason(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(PLAUSIBLE_WRONG)
    lineup.servers["free"].add(GOOD_EXPLANATION)
    lineup.servers["premium"].add("FAIL: it sums price times quantity, no tax", "PASS")
    result, _ = await _run(lineup, root, ("local", "free", "premium"))
    local, judge1, free, judge2 = result.attempts
    assert not local.accepted and local.confidence is not None and local.confidence < 0.85
    assert any("FAIL: it sums price times quantity, no tax" in r and "premium-model" in r
               for r in local.reasons)
    assert judge1.judge_of == "local-model" and judge2.judge_of == "free-model"
    assert free.accepted and result.tier == "free" and result.answer == GOOD_EXPLANATION
    # The judge's reason travels to the next tier's prompt.
    assert "no tax" in lineup.servers["free"].generations[0].raw
    # The premium model was asked twice, both times to grade; never to answer.
    assert lineup.calls("premium") == 2


async def test_a_judge_error_or_unparsable_reply_neither_accepts_nor_rejects_silently(
        standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(GOOD_EXPLANATION)
    lineup.servers["free"].add(GOOD_EXPLANATION)
    lineup.servers["premium"].add(Reply(status=500, error_message="overloaded"),
                                  Reply("The answer looks reasonable to me."),
                                  GOOD_EXPLANATION)
    result, _ = await _run(lineup, root, ("local", "free", "premium"))
    local, judge1, free, judge2, premium = result.attempts
    assert judge1.error is not None and judge1.judge_of == "local-model"
    assert not local.accepted and local.confidence is not None and local.confidence < 0.85
    assert any("not graded: judge premium-model failed" in r for r in local.reasons)
    assert judge2.error is None and judge2.judge_of == "free-model"
    assert not free.accepted and free.confidence is not None and free.confidence < 0.85
    assert any("gave no verdict" in r and "unparsable" in r for r in free.reasons)
    # Ungraded answers escalate: the judge tier's own answer is not graded.
    assert premium.accepted and premium.judge_of is None and result.tier == "premium"


async def test_a_judge_the_budget_refuses_is_not_called_and_says_so(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(GOOD_EXPLANATION)
    result, _ = await _run(lineup, root, ("local", "premium"), budget={"daily_usd": 0.0})
    (local,) = result.attempts
    assert local.accepted and result.answer == GOOD_EXPLANATION
    assert any("not graded: the budget does not allow the judge's call" in r
               and "daily budget reached" in r for r in local.reasons)
    assert lineup.calls("premium") == 0


async def test_a_request_that_must_stay_local_is_never_sent_to_a_cloud_judge(
        standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(GOOD_EXPLANATION)
    lineup.servers["premium"].add("PASS")
    result, _ = await _run(lineup, root, ("local", "premium"), privacy={"local_only": True})
    (local,) = result.attempts
    assert local.accepted
    assert any("not graded" in r and "must stay on the local tier" in r for r in local.reasons)
    assert lineup.servers["premium"].requests == []


async def test_the_judge_tier_and_above_and_edits_are_not_graded(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["premium"].add(GOOD_EXPLANATION)
    result, _ = await _run(lineup, root, ("premium",))
    (premium,) = result.attempts
    assert premium.accepted and not any("judge" in r for r in premium.reasons)
    assert lineup.calls("premium") == 1


async def test_a_repeated_grading_is_answered_from_the_cache(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(GOOD_EXPLANATION, GOOD_EXPLANATION)
    lineup.servers["premium"].add("PASS")
    settings = lineup.settings(("local", "premium"), routing={"judge_tier": "premium"},
                               cache={"enabled": True})
    assistant = Assistant(root, settings, environ=lineup.environ)
    try:
        await assistant.run(explain(root))
        again = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert lineup.calls("premium") == 1
    judge = next(a for a in again.attempts if a.judge_of is not None)
    assert judge.cached and judge.cost_usd == 0.0
    assert again.outcome in ("accepted", "cache_hit")
    # The graded answer, a cache hit itself, keeps saying so, with the judge's verdict once.
    answer = next(a for a in again.attempts if a.judge_of is None)
    assert answer.cached and answer.reasons[0].startswith("cache hit")
    assert sum("PASS" in r for r in answer.reasons) == 1


async def test_a_local_answer_drawn_from_excluded_files_is_not_sent_to_a_cloud_judge(
        standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    # Excluded from cloud prompts by the default privacy list (*credentials*), and used by the
    # code asked about, so the local model's context includes it.
    (root / "inventory" / "credentials.py").write_text('PRICE_API_TOKEN = "tok-internal"\n')
    pricing = root / "inventory" / "pricing.py"
    pricing.write_text("from .credentials import PRICE_API_TOKEN\n" + pricing.read_text())
    lineup.servers["local"].add(GOOD_EXPLANATION)
    lineup.servers["premium"].add("PASS")
    request = AssistRequest(kind="explain", instruction="Explain what this function computes.",
                            path=pricing, line_range=(9, 11))
    result, _ = await _run(lineup, root, ("local", "premium"), request)
    local = result.attempts[0]
    assert local.accepted
    assert any("not graded: the answer drew on inventory/credentials.py" in r for r in local.reasons), local.reasons
    assert lineup.servers["premium"].requests == []


async def test_a_judge_past_its_latency_budget_is_stopped_and_the_answer_ungraded(
        standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(GOOD_EXPLANATION)
    lineup.servers["premium"].add(Reply("PASS it is fine and complete", chunk_delay=0.6),
                                  GOOD_EXPLANATION)
    result, _ = await _run(lineup, root, ("local", "premium"),
                           routing={"tier_timeout_s": {"local": 30, "premium": 1.0}})
    local, judge, premium = result.attempts
    assert judge.judge_of == "local-model" and judge.stopped is not None
    assert judge.cost_status == "estimated"
    assert not local.accepted and any("judge premium-model stopped" in r for r in local.reasons)
    assert premium.accepted and result.tier == "premium"
