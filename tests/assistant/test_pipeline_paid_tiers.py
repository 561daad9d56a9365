"""A request that may not pay (``AssistRequest.paid_tiers`` off, as a hover explanation by
default) stays on local models: it never calls a cloud stand-in."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pipeline_helpers import GOOD_EXPLANATION as GOOD
from pipeline_helpers import copy_example, start_lineup
from standins import Reply
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.errors import NoModelAvailableError


def explain(root: Path) -> AssistRequest:
    return AssistRequest(kind="explain", instruction="Explain `total_value` in two sentences.",
                         path=root / "inventory" / "pricing.py", line_range=(8, 10),
                         paid_tiers=False)


async def test_without_a_local_model_nothing_is_called_or_recorded(
        standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    assistant = Assistant(root, lineup.settings(("free", "budget", "premium")),
                          environ=lineup.environ)
    try:
        assert not assistant.has_models(paid_tiers=False) and assistant.has_models()
        with pytest.raises(NoModelAvailableError, match="paid tiers"):
            await assistant.run(explain(root))
        assert assistant.today().requests == 0
        lineup.servers["free"].add(GOOD)
        paid = await assistant.run(dataclasses.replace(explain(root), paid_tiers=True))
    finally:
        await assistant.aclose()
    assert lineup.calls("free") == 1 and paid.outcome == "accepted" and paid.tier == "free"


async def test_a_poor_local_answer_is_not_escalated_to_paid_tiers(
        standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(Reply(text="`total_value` walks the", stop_reason="length"))
    assistant = Assistant(root, lineup.settings(), environ=lineup.environ)
    try:
        assert assistant.has_models(paid_tiers=False)
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert [a.tier for a in result.attempts] == ["local"] and result.outcome == "rejected"
    assert (lineup.calls("free"), lineup.calls("budget"), lineup.calls("premium")) == (0, 0, 0)
    assert lineup.cloud_bodies() == "" and result.cost_usd == 0.0
