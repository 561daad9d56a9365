"""What the ledger records for a request run against vendor stand-ins on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import GOOD_EXPLANATION, KEY, copy_example, explain, start_lineup
from standins import Reply
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.assistant.prompts import TERSE
from lsp_server.config import parse_settings
from lsp_server.ledger.prices import PriceBook
from lsp_server.ledger.store import Ledger


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


@pytest.mark.parametrize("store", [False, True])
async def test_prompts_and_answers_are_stored_only_with_store_prompts(
        standin, tmp_path: Path, store: bool) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    lineup.servers["local"].add(Reply(text="`total_value` walks the", stop_reason="length"))
    lineup.servers["free"].add(GOOD_EXPLANATION)
    settings = lineup.settings(("local", "free"), ledger={"store_prompts": store})
    root = copy_example("python-pkg", tmp_path)
    request = AssistRequest(kind="explain", path=root / "inventory" / "pricing.py",
                            line_range=(8, 10),
                            instruction="Explain this; my key sk-abcdefghijklmnopqrstuvwx leaked")
    assistant = Assistant(root, settings, environ=lineup.environ)
    try:
        result = await assistant.run(request)
    finally:
        await assistant.aclose()
    assert [a.tier for a in result.attempts] == ["local", "free"]
    row = Ledger.open().request(result.request_id)
    assert row is not None
    if not store:
        assert row["prompts"] == []
        return
    local, cloud = row["prompts"]
    assert (local["seq"], cloud["seq"]) == (1, 2)
    assert "def total_value" in local["prompt"] and "Explain this" in local["prompt"]
    assert local["response"] == "`total_value` walks the"
    assert cloud["response"] == GOOD_EXPLANATION and "was not accepted" in cloud["prompt"]
    stored = local["prompt"] + cloud["prompt"]
    assert "sk-abcdefghijklmnop" not in stored and "[redacted]" in local["prompt"]


@pytest.mark.parametrize("style", ["standard", "terse"])
async def test_a_variants_prompt_style_reaches_the_model(
        standin, tmp_path: Path, style: str) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    lineup.servers["local"].add(GOOD_EXPLANATION)
    settings = lineup.settings(("local",), variants=[{"name": style, "prompt_style": style}])
    root = copy_example("python-pkg", tmp_path)
    assistant = Assistant(root, settings, environ=lineup.environ)
    try:
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted"
    sent = lineup.servers["local"].generations[0].raw
    assert (TERSE in sent) is (style == "terse")
    row = Ledger.open().request(result.request_id)
    assert row is not None and row["variant"] == style
