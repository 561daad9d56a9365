"""The cascade end to end: the real providers against vendor stand-ins on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pipeline_helpers import GOOD_EXPLANATION, copy_example, explain, start_lineup
from standins import Reply
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.ledger.store import Ledger

DESIGN = "How should we redesign the pricing architecture across the whole project?"




async def test_good_local_answer_is_not_escalated(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(GOOD_EXPLANATION)
    assistant = Assistant(root, lineup.settings(), environ=lineup.environ)
    try:
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted" and result.tier == "local"
    assert result.answer == GOOD_EXPLANATION
    assert [a.tier for a in result.attempts] == ["local"]
    assert result.cost_usd == 0.0 and result.premium_cost_usd and result.premium_cost_usd > 0
    assert (lineup.calls("free"), lineup.calls("budget"), lineup.calls("premium")) == (0, 0, 0)
    row = Ledger.open().request(result.request_id)
    assert row is not None and row["outcome"] == "accepted" and len(row["attempts"]) == 1


async def test_truncated_local_answer_escalates_with_the_reason(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(Reply(text="`total_value` walks the", stop_reason="length"))
    lineup.servers["free"].add(GOOD_EXPLANATION)
    assistant = Assistant(root, lineup.settings(), environ=lineup.environ)
    try:
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted" and result.tier == "free"
    assert result.answer == GOOD_EXPLANATION
    assert [a.tier for a in result.attempts] == ["local", "free"]
    assert result.attempts[0].confidence is not None and result.attempts[0].confidence < 0.85
    assert any("cut off" in r for r in result.attempts[0].reasons)
    escalated = lineup.servers["free"].generations[0].raw
    assert "was not accepted" in escalated and "cut off" in escalated
    assert result.cost_usd > 0
    assert any("escalated from the local tier" in n for n in result.notes)


async def test_rate_limited_model_falls_back_and_cools_down(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["free"].add(Reply(status=429, retry_after=30, error_message="rate limited"))
    lineup.servers["budget"].add(GOOD_EXPLANATION)
    settings = lineup.settings(("free", "budget", "premium"))
    assistant = Assistant(root, settings, environ=lineup.environ)
    try:
        result = await assistant.run(explain(root))
        assert result.outcome == "accepted" and result.tier == "budget"
        first, second = result.attempts
        assert first.tier == "free" and first.error and "RateLimited" in first.error
        assert second.tier == "budget" and second.error is None
        # Retry-After put the model in a cool-down: the next request does not hammer it.
        lineup.servers["budget"].add(GOOD_EXPLANATION + " Again.")
        again = await assistant.run(explain(root))
        assert lineup.calls("free") == 1
        assert [a.tier for a in again.attempts] == ["budget"]
        assert any("cooling down" in n for n in again.notes)
    finally:
        await assistant.aclose()
    row = Ledger.open().request(result.request_id)
    assert row is not None and row["attempts"][0]["error_class"]


async def test_budget_exhaustion_keeps_requests_local(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    settings = lineup.settings(("local", "premium"), budget={"daily_usd": 0.010})
    # $0.006 for the first call: 1000 tokens in at $3/M, 200 out at $15/M.
    lineup.servers["premium"].add(Reply(text=GOOD_EXPLANATION, input=1000, output=200))
    lineup.servers["local"].add(GOOD_EXPLANATION + " (local)")
    assistant = Assistant(root, settings, environ=lineup.environ)
    try:
        first = await assistant.run(AssistRequest(kind="ask", instruction=DESIGN))
        assert first.tier == "premium" and first.cost_usd == pytest.approx(0.006)
        second = await assistant.run(AssistRequest(kind="ask", instruction=DESIGN + " Briefly."))
    finally:
        await assistant.aclose()
    assert lineup.calls("premium") == 1
    assert second.outcome == "accepted" and second.tier == "local" and second.cost_usd == 0.0
    assert any("daily budget" in n and "local/free" in n for n in second.notes)


@pytest.mark.parametrize("privacy", [{"local_only": True}, {"local_only_paths": ["inventory/**"]}])
async def test_local_only_never_reaches_a_cloud_model(standin, tmp_path: Path, privacy: dict[str, object]) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(Reply(text="", stop_reason="length"))  # would escalate if it could
    settings = lineup.settings(privacy=privacy)
    assistant = Assistant(root, settings, environ=lineup.environ)
    try:
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert lineup.calls("local") == 1
    assert lineup.cloud_bodies() == ""
    assert result.outcome == "rejected" and [a.tier for a in result.attempts] == ["local"]
    assert any("stays on the local tier" in n for n in result.notes)


async def test_repeat_is_answered_from_the_cache_with_no_call(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["free"].add(GOOD_EXPLANATION)
    settings = lineup.settings(("free", "premium"))
    assistant = Assistant(root, settings, environ=lineup.environ)
    try:
        first = await assistant.run(explain(root))
        second = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert first.outcome == "accepted" and first.cost_usd > 0
    assert lineup.calls("free") == 1 and lineup.calls("premium") == 0
    assert second.outcome == "cache_hit" and second.answer == GOOD_EXPLANATION
    assert second.cost_usd == 0.0 and second.attempts[0].cached
    row = Ledger.open().request(second.request_id)
    assert row is not None and row["outcome"] == "cache_hit"
    assert row["attempts"][0]["cost_usd"] == 0.0
    # The cache hit is an avoided call with an estimated value, not a premium call saved: the
    # savings are the first request's alone.
    assert first.premium_cost_usd is not None and second.premium_cost_usd is not None
    report = Ledger.open().summary()
    assert report.savings_usd == pytest.approx(first.premium_cost_usd - first.cost_usd)
    assert report.premium_cost_usd == pytest.approx(first.premium_cost_usd)
    assert (report.avoided_calls, report.avoided_usd) == (1, pytest.approx(second.premium_cost_usd))


async def test_cancel_closes_the_call_and_records_cancelled(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(Reply(text=GOOD_EXPLANATION, delay=30.0))
    assistant = Assistant(root, lineup.settings(("local",)), environ=lineup.environ)
    try:
        task = asyncio.create_task(assistant.run(explain(root)))
        arrived = await asyncio.to_thread(
            lineup.servers["local"].wait_for, lambda reqs: any(r.kind in ("generate", "stream") for r in reqs), 10.0)
        assert arrived
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        hung_up = await asyncio.to_thread(
            lineup.servers["local"].wait_for, lambda reqs: any(r.disconnected for r in reqs), 10.0)
        assert hung_up
    finally:
        await assistant.aclose()
    ledger = Ledger.open()
    (outcome, attempts) = ledger.connection.execute(
        "SELECT outcome, attempt_count FROM requests ORDER BY ts DESC LIMIT 1").fetchone()
    assert outcome == "cancelled" and attempts == 1


GITHUB_TOKEN = "ghp_" + "Zq7Xw2Lk9Pm4Rt6Yv8Bn1Cd3Fg5Hj0KsLa2Q"
EXCLUDED_MARKER = "excluded-file-marker-7731"


def add_secrets(root: Path) -> None:
    """A file the default privacy globs exclude (``*secret*``) that the target imports, and a
    token in the selected lines themselves."""
    (root / "inventory" / "secret_config.py").write_text(
        f'"""Rates from the vault ({EXCLUDED_MARKER})."""\n\n\n'
        f"def vault_rate() -> float:\n    return 0.2  # {EXCLUDED_MARKER}\n"
    )
    pricing = root / "inventory" / "pricing.py"
    text = pricing.read_text().replace(
        "from .models import Stock\n",
        "from .models import Stock\nfrom .secret_config import vault_rate\n")
    text = text.replace(
        "def discounted(value: float, percent: float) -> float:\n",
        f'def discounted(value: float, percent: float) -> float:\n    token = "{GITHUB_TOKEN}"\n'
        "    assert token and vault_rate()\n")
    pricing.write_text(text)


async def test_no_excluded_file_or_secret_reaches_a_cloud_model(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    add_secrets(root)
    lineup.servers["local"].add(Reply(text="It", stop_reason="length"))
    # On topic: an answer that names neither `discounted` nor `vault_rate` is not accepted.
    lineup.servers["premium"].add("`discounted` takes a percent off a value; `vault_rate` reads a "
                                  "rate from the vault module.")
    assistant = Assistant(root, lineup.settings(("local", "premium")), environ=lineup.environ)
    request = AssistRequest(kind="explain", instruction="Explain `discounted` and `vault_rate`.",
                            path=root / "inventory" / "pricing.py", line_range=(15, 19))
    try:
        result = await assistant.run(request)
    finally:
        await assistant.aclose()
    assert result.tier == "premium"
    local = lineup.servers["local"].generations[0].raw
    assert GITHUB_TOKEN in local and EXCLUDED_MARKER in local  # the local model may see them
    cloud = lineup.cloud_bodies()
    assert cloud and "discounted" in cloud
    assert GITHUB_TOKEN not in cloud and GITHUB_TOKEN[4:20] not in cloud
    assert EXCLUDED_MARKER not in cloud and "secret_config.py" not in cloud.replace(
        "from .secret_config", "")
