"""The rest of the Assistant's surface: feedback, today's totals, settings changes, dry runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import copy_example, start_lineup
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.commands.ask import format_plan
from lsp_server.config import SettingsSource
from lsp_server.ledger.store import Ledger

ANSWER = "`discounted` returns the value reduced by the given percentage of itself, as a float."


async def test_feedback_today_and_settings_changes(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["free"].add(ANSWER)
    source = SettingsSource(lineup.settings(("free",)))
    assistant = Assistant(root, source, environ=lineup.environ)
    request = AssistRequest(kind="explain", instruction="Explain discounted.",
                            path=root / "inventory" / "pricing.py", line_range=(13, 14))
    try:
        first = await assistant.run(request)
        assistant.feedback(first.request_id, rating=4)
        today = assistant.today()
        assert today.requests == 1 and today.spent_usd > 0
        assert today.premium_usd >= today.spent_usd and today.saved_usd == pytest.approx(
            today.premium_usd - today.spent_usd)
        # The user's rejection takes the request's savings away.
        assistant.feedback(first.request_id[:8], rejected=True)
        today = assistant.today()
        assert today.requests == 1 and today.spent_usd > 0
        assert today.premium_usd == 0.0 and today.saved_usd == 0.0
        # New settings take effect at once: another model, and the cache off.
        settings = lineup.settings(("budget",), cache={"enabled": False})
        source.replace(settings)
        lineup.servers["budget"].add(ANSWER)
        second = await assistant.run(request)
        assert second.tier == "budget" and second.outcome == "accepted"
        assert lineup.calls("free") == 1 and lineup.calls("budget") == 1
        assert assistant.metrics_text().strip()
    finally:
        await assistant.aclose()
    row = Ledger.open().request(first.request_id)
    assert row is not None and row["rating"] == 4 and row["rejected"] == 1


async def test_dry_run_request_returns_the_plan_without_a_call(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    assistant = Assistant(root, lineup.settings(), environ=lineup.environ)
    try:
        plan = await assistant.plan(AssistRequest(kind="fix", instruction="Reject negative percents.",
                                                  path=root / "inventory" / "pricing.py",
                                                  line_range=(13, 14)))
    finally:
        await assistant.aclose()
    assert "start tier: local" in format_plan(plan)
    assert plan.tier == "local" and plan.mode == "edit"
    assert [t.tier for t in plan.tiers] == ["local", "free", "budget", "premium"]
    cost = [t.cost_usd for t in plan.tiers]
    assert cost[0] == 0.0 and cost[1] is not None and cost[3] is not None and cost[3] > cost[1]
    assert sum(lineup.calls(t) for t in ("local", "free", "budget", "premium")) == 0
