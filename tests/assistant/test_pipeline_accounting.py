"""Every try recorded with what it is billed for, end to end: the real providers against vendor
stand-ins, through the cascade, into the result and the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import GOOD_EXPLANATION as GOOD
from pipeline_helpers import PRICES, copy_example, explain, start_lineup
from standins import Reply
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant
from lsp_server.config import parse_settings
from lsp_server.ledger.store import Ledger
from lsp_server.providers.retry import ENV_RETRY_SCALE


async def test_retried_tries_and_a_failure_of_unknown_billing_are_recorded(
    standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv(ENV_RETRY_SCALE, "0.001")
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["free"].add(Reply(status=429, error_message="slow down"), Reply(status=503),
                               Reply(status=500))
    lineup.servers["budget"].add(Reply(GOOD, input=900, output=40))
    models = [lineup.servers[tier].model_settings(name=f"{tier}-model", tier=tier, max_retries=2,
                                                  price=PRICES[tier]) for tier in ("free", "budget")]
    assistant = Assistant(root, parse_settings({"models": models}), environ=lineup.environ)
    try:
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted" and result.tier == "budget"
    assert lineup.calls("free") == 3
    tries = [(a.tier, a.cost_usd, a.cost_status) for a in result.attempts]
    assert tries == [("free", 0.0, "measured"),  # a 429 is refused before generation
                     ("free", None, "unknown"),  # a 503: billing unknown
                     ("free", None, "unknown"),  # the 500 that ended the call
                     ("budget", pytest.approx((900 * 0.30 + 40 * 2.50) / 1e6), "measured")]
    assert all(a.error for a in result.attempts[:3]) and result.attempts[3].error is None
    row = Ledger.open().request(result.request_id)
    assert row is not None and len(row["attempts"]) == 4
    assert [a["cost_usd"] for a in row["attempts"][:3]] == [0.0, None, None]


async def test_a_server_without_usage_is_recorded_as_an_estimate(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["free"].add(Reply(GOOD, report_usage=False))
    assistant = Assistant(root, lineup.settings(("free",)), environ=lineup.environ)
    try:
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted"
    (attempt,) = result.attempts
    assert attempt.cost_status == "estimated"
    assert attempt.usage.input > 0 and attempt.cost_usd is not None and attempt.cost_usd > 0
