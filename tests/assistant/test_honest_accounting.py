"""What the ledger reports after real requests: savings only where an answer was accepted and
kept, avoided calls apart, rejections by verification apart from the user's, escalation only
where there was a tier to escalate to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_helpers import GOOD_EXPLANATION, PRICES, copy_example, explain, start_lineup
from standins import Reply
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.cli import main


async def test_bad_local_answers_and_an_index_answer_save_nothing(
        standin, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """One local model that answers badly twice (rejected by verification, no other tier to
    try) and one index answer: $0 savings, a success rate of one in three, the index answer as
    an avoided call, no user rejection, and no escalation rate (there was nowhere to go)."""
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(Reply(text="`total_value` walks the", stop_reason="length"))
    lineup.servers["local"].add(Reply(text="", stop_reason="length"))
    assistant = Assistant(root, lineup.settings(("local",)), environ=lineup.environ)
    try:
        first = await assistant.run(explain(root))
        second = await assistant.run(explain(root))
        found = await assistant.run(AssistRequest(kind="ask",
                                                  instruction="where is total_value defined?"))
    finally:
        await assistant.aclose()
    assert (first.outcome, second.outcome, found.outcome) == ("rejected", "rejected", "index")
    assert first.premium_cost_usd is None and second.premium_cost_usd is None

    assert main(["metrics", "--daily"]) == 0
    text = capsys.readouterr().out
    assert "  Total Requests: 3\n  Success Rate: 33.3%\n" in text
    assert "  Savings: $0.00 vs all-premium $0.00 (0 accepted answers)\n" in text
    assert "  Avoided Calls: 1 (0 cache, 1 index), estimated $0." in text
    assert "  Escalation Rate: n/a (no higher tier)\n" in text
    assert "  Feedback: 0 rated, 0 rejected by the user; 2 rejected by verification\n" in text
    assert "    No model:" in text and "(2 requests, 67%)" in text  # nobody answered them
    assert "    Index:" in text

    assert main(["metrics", "--daily", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["savings_usd"] == 0.0 and data["premium_cost_usd"] == 0.0
    assert data["success_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert data["outcomes"] == {"index": 1, "rejected": 2}
    assert data["avoided_calls"]["index_answers"] == 1
    assert data["avoided_calls"]["estimated_value_usd"] > 0
    assert data["feedback"] == {"ratings": 0, "mean_rating": None, "rejected": 0,
                                "verifier_rejected": 2}
    assert data["escalation_rate"] is None


async def test_an_accepted_answer_saves_until_the_user_rejects_it(
        standin, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """The premium equivalent is the premium model's price for the accepted call's prompt and
    answer in its own tokens, not the cheap model's token counts; the user's rejection takes the
    savings away."""
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    # a cheap model whose tokenizer counts a great many tokens for the same text
    lineup.servers["free"].add(Reply(text=GOOD_EXPLANATION, input=200_000, output=20_000))
    assistant = Assistant(root, lineup.settings(("free", "premium")), environ=lineup.environ)
    try:
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted" and result.tier == "free"
    premium = PRICES["premium"]
    own_tokens = (200_000 * premium["input"] + 20_000 * premium["output"]) / 1e6
    assert result.premium_cost_usd is not None and 0 < result.premium_cost_usd < own_tokens / 10
    assert main(["metrics", "--daily", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["savings_requests"] == 1 and data["escalation_rate"] == 0.0
    assert data["savings_usd"] == pytest.approx(result.premium_cost_usd - result.cost_usd, abs=1e-6)

    assert main(["feedback", result.request_id, "--reject"]) == 0
    capsys.readouterr()
    assert main(["metrics", "--daily", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["savings_usd"] == 0.0 and data["savings_requests"] == 0
    assert data["feedback"]["rejected"] == 1 and data["feedback"]["verifier_rejected"] == 0
