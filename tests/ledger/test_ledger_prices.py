"""Prices: the genai-prices snapshot with the total-input convention, overrides, local, unpriced."""

from __future__ import annotations

from decimal import Decimal

import pytest
from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price

from lsp_server.config import ModelSettings, PriceOverride, parse_settings
from lsp_server.ledger.prices import DEFAULT_PREMIUM, PriceBook, override_cost
from lsp_server.providers.base import Usage

SONNET = ModelSettings(name="sonnet", provider="anthropic", model="claude-sonnet-4-5", tier="premium")
GROQ = ModelSettings(name="groq", provider="openai", model="llama-3.3-70b-versatile", tier="free",
                     base_url="https://api.groq.com/openai/v1")
GEMINI = ModelSettings(name="flash", provider="gemini", model="gemini-2.5-flash", tier="budget")
OPENAI = ModelSettings(name="mini", provider="openai", model="gpt-4.1-mini", tier="budget")
CACHED = Usage(input=20_000, output=1_500, cache_read=12_000, cache_write=3_000)


def _genai(model: str, usage: Usage, **where: str) -> Decimal:
    calc = calc_price(
        GenaiUsage(input_tokens=usage.input, output_tokens=usage.output,
                   cache_read_tokens=usage.cache_read, cache_write_tokens=usage.cache_write),
        model, **where,
    )
    return calc.total_price


def test_anthropic_with_cache_tokens_matches_genai_prices() -> None:
    book = PriceBook()
    cost = book.cost(SONNET, CACHED)
    assert cost == pytest.approx(float(_genai("claude-sonnet-4-5", CACHED, provider_id="anthropic")))
    # and the total-input convention holds: only the 5,000 uncached tokens pay the input rate
    calc = calc_price(GenaiUsage(input_tokens=1_000_000), "claude-sonnet-4-5", provider_id="anthropic")
    mp = calc.model_price

    def rate(price: object) -> float:  # below 200k tokens the base rate of tiered prices applies
        return float(getattr(price, "base", price))  # type: ignore[arg-type]

    by_hand = (5_000 * rate(mp.input_mtok) + 12_000 * rate(mp.cache_read_mtok)
               + 3_000 * rate(mp.cache_write_mtok) + 1_500 * rate(mp.output_mtok)) / 1e6
    assert cost == pytest.approx(by_hand)
    # cache reads make the same prompt cheaper than paying full input for it
    uncached = book.cost(SONNET, Usage(input=20_000, output=1_500))
    assert uncached is not None and cost is not None and cost < uncached


def test_groq_by_base_url_matches_genai_prices() -> None:
    usage = Usage(input=30_000, output=2_000)
    cost = PriceBook().cost(GROQ, usage)
    assert cost == pytest.approx(float(_genai("llama-3.3-70b-versatile", usage, provider_id="groq")))
    assert cost is not None and cost > 0


def test_gemini_with_cache_reads_matches_genai_prices() -> None:
    usage = Usage(input=50_000, output=4_000, cache_read=20_000)
    cost = PriceBook().cost(GEMINI, usage)
    assert cost == pytest.approx(float(_genai("gemini-2.5-flash", usage, provider_id="google")))
    assert cost is not None and cost > 0


def test_openai_matches_genai_prices() -> None:
    usage = Usage(input=8_000, output=700, cache_read=4_000)
    assert PriceBook().cost(OPENAI, usage) == pytest.approx(
        float(_genai("gpt-4.1-mini", usage, provider_id="openai")))


def test_free_means_local_tier_ollama_or_a_zero_price() -> None:
    book = PriceBook()
    ollama = ModelSettings(name="l", provider="ollama", model="qwen2.5-coder:7b", tier="free")
    lmstudio = ModelSettings(name="lm", provider="openai", model="whatever-7b", tier="local",
                             base_url="http://localhost:1234/v1")
    zero = ModelSettings(name="z", provider="openai", model="whatever-7b", tier="free",
                         base_url="http://localhost:1234/v1", price=PriceOverride(input=0, output=0))
    assert book.cost(ollama, CACHED) == 0.0
    assert book.cost(lmstudio, CACHED) == 0.0
    assert book.cost(zero, CACHED) == 0.0


def test_a_loopback_address_is_not_free() -> None:
    """A gateway or proxy on localhost is billed by the vendor behind it."""
    book = PriceBook()
    unknown = ModelSettings(name="lm", provider="openai", model="whatever-7b", tier="free",
                            base_url="http://localhost:1234/v1")
    assert book.cost(unknown, CACHED) is None  # unpriced, never $0
    for cloud, where in ((SONNET, {"provider_id": "anthropic"}),
                         (GEMINI, {"provider_id": "google"}),
                         (OPENAI, {"provider_id": "openai"})):
        proxied = cloud.model_copy(update={"base_url": "http://127.0.0.1:4000"})
        expected = float(_genai(cloud.model, CACHED, **where))
        assert expected > 0
        assert book.cost(proxied, CACHED) == pytest.approx(expected)
    # an OpenAI-compatible proxy (LiteLLM) may serve any vendor's model: priced by its name
    litellm = ModelSettings(name="gw", provider="openai", model="claude-sonnet-4-5",
                            tier="premium", base_url="http://localhost:4000/v1")
    assert book.cost(litellm, CACHED) == pytest.approx(book.cost(SONNET, CACHED))


def test_unknown_models_are_unpriced_not_free() -> None:
    book = PriceBook()
    unknown_host = ModelSettings(name="x", provider="openai", model="llama-3.3-70b-versatile",
                                 tier="budget", base_url="https://llm.example.com/v1")
    unknown_model = ModelSettings(name="y", provider="anthropic", model="claude-imaginary-9",
                                  tier="premium")
    assert book.cost(unknown_host, CACHED) is None
    assert book.cost(unknown_model, CACHED) is None
    assert not book.is_priced(unknown_model)
    assert book.is_priced(SONNET)


def test_settings_override_comes_first() -> None:
    settings = parse_settings({"models": [{
        "name": "custom", "provider": "anthropic", "model": "claude-sonnet-4-5", "tier": "premium",
        "price": {"input": 1.0, "output": 2.0, "cache_read": 0.1},
    }]})
    model = settings.models[0]
    cost = PriceBook(settings).cost(model, CACHED)
    # 5,000 uncached + 3,000 cache writes at the input rate (no write rate given), 12,000 reads
    assert cost == pytest.approx((8_000 * 1.0 + 12_000 * 0.1 + 1_500 * 2.0) / 1e6)
    assert model.price is not None
    assert override_cost(model.price, Usage(input=1_000_000)) == pytest.approx(1.0)


def test_premium_cost_uses_configured_or_default_premium() -> None:
    default = PriceBook()
    assert default.premium_model == DEFAULT_PREMIUM
    assert default.premium_cost(CACHED) == pytest.approx(default.cost(SONNET, CACHED))
    settings = parse_settings({"models": [
        {"name": "l", "provider": "ollama", "model": "qwen2.5-coder:7b", "tier": "local"},
        {"name": "gpt", "provider": "openai", "model": "gpt-4.1-mini", "tier": "premium"},
    ]})
    book = PriceBook(settings)
    assert book.premium_model.name == "gpt"
    assert book.premium_cost(CACHED) == pytest.approx(book.cost(OPENAI, CACHED))


def test_a_proxied_vendor_is_labelled_by_its_vendor() -> None:
    from lsp_server.ledger.labels import provider_label

    proxied = SONNET.model_copy(update={"base_url": "http://127.0.0.1:4000"})
    lmstudio = ModelSettings(name="lm", provider="openai", model="whatever-7b", tier="free",
                             base_url="http://localhost:1234/v1")
    assert provider_label(proxied) == "Anthropic"
    assert provider_label(lmstudio) == "Local"
