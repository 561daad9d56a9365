"""What the ledger records for a request run against vendor stand-ins on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import KEY, copy_example
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.config import parse_settings
from lsp_server.ledger.prices import PriceBook
from lsp_server.ledger.store import Ledger

GOOD_EXPLANATION = (
    "`total_value` walks the stock's quantities and multiplies each SKU's unit price by the "
    "quantity on hand, summing the products into one float."
)


def explain(root: Path) -> AssistRequest:
    return AssistRequest(kind="explain", instruction="Explain what this function computes.",
                         path=root / "inventory" / "pricing.py", line_range=(8, 10))


async def test_premium_model_behind_a_loopback_proxy_is_recorded_at_its_price(
        standin, tmp_path: Path) -> None:  # noqa: F811
    """A gateway on 127.0.0.1 that forwards to Anthropic is billed as Anthropic, never $0."""
    proxy = standin("anthropic", api_key=KEY)
    proxy.add(GOOD_EXPLANATION)
    settings = parse_settings({"models": [proxy.model_settings(
        name="sonnet-via-gateway", model="claude-sonnet-4-5", tier="premium", max_retries=0)]})
    root = copy_example("python-pkg", tmp_path)
    assistant = Assistant(root, settings, environ={"STANDIN_ANTHROPIC_KEY": KEY})
    try:
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted"
    (attempt,) = result.attempts
    model = settings.models[0]
    expected = PriceBook(settings).cost(model.model_copy(update={"base_url": None}), attempt.usage)
    assert expected is not None and expected > 0
    assert attempt.cost_usd == pytest.approx(expected)
    assert result.cost_usd == pytest.approx(expected)
    row = Ledger.open().request(result.request_id)
    assert row is not None
    assert row["cost_usd"] == pytest.approx(expected)
    assert row["attempts"][0]["cost_usd"] == pytest.approx(expected)
    assert row["attempts"][0]["label"] == "Anthropic"
